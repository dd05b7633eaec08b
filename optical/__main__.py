"""``python -m optical``: the main job on the embedded default (see ``python -m optical --help``).

Under ``torchrun --nproc_per_node N -m optical ...`` the N processes train together
(DistributedDataParallel) and rank 0 evaluates and writes the results.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import time

import torch

from optical.distributed import init_from_environment
from optical.experiment import MainConfig, run_main


def _field_comments(config) -> dict[str, str]:
    """The ``# comment`` after each field in the dataclass source: the flag's help text."""
    source = inspect.getsource(type(config))
    return dict(re.findall(r"^\s+(\w+): [^#\n]*#\s*(.+)$", source, flags=re.M))


def _add_fields(parser: argparse.ArgumentParser, config) -> None:
    comments = _field_comments(config)
    for spec in dataclasses.fields(config):
        default = getattr(config, spec.name)
        if dataclasses.is_dataclass(default):
            continue
        flag = "--" + spec.name.replace("_", "-")
        help_text = f"{comments.get(spec.name, '')} (default: {default!r})".replace("%", "%%")
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help_text)
        else:
            parser.add_argument(flag, type=type(default), default=default, help=help_text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m optical", description=__doc__)
    nested = {
        spec.name: spec.default_factory
        for spec in dataclasses.fields(MainConfig)
        if spec.default_factory is not dataclasses.MISSING
    }
    for config in (MainConfig(), *(factory() for factory in nested.values())):
        _add_fields(parser, config)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 leaves torch's default)")

    args = vars(parser.parse_args(argv))
    threads = args.pop("threads")
    if threads:
        torch.set_num_threads(threads)
    parts = {}
    for name, factory in nested.items():  # train=TrainConfig(...), search=SearchSettings(...)
        fields = {spec.name for spec in dataclasses.fields(factory)}
        parts[name] = factory(**{field: args.pop(field) for field in fields})
    config = MainConfig(**args, **parts)
    start = time.perf_counter()
    rank, _ = init_from_environment()
    rows = run_main(config)
    if rank != 0:
        return
    table = rows.pivot(index="objective", columns="measure", values="value")
    print(table.round(4).to_string())
    print(f"main job done in {time.perf_counter() - start:.0f} s; results recorded in {config.out_dir}/results.csv")


if __name__ == "__main__":
    main()

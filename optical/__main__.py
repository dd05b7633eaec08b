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
from optical.losses import OBJECTIVES
from optical.train import TrainConfig


def _field_comments(config) -> dict[str, str]:
    """The ``# comment`` after each field in the dataclass source: the flag's help text."""
    source = inspect.getsource(type(config))
    return dict(re.findall(r"^\s+(\w+): [^#\n]*#\s*(.+)$", source, flags=re.M))


def _add_flag(parser: argparse.ArgumentParser, name: str, default, help_text: str, *, given_only: bool = False) -> None:
    """``--name`` of ``default``'s type; ``given_only``: its value is None unless the flag is given."""
    flag = "--" + name.replace("_", "-")
    help_text = f"{help_text} (default: {default!r})".replace("%", "%%")
    value = None if given_only else default
    if isinstance(default, bool):
        parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=value, help=help_text)
    else:
        parser.add_argument(flag, type=type(default), default=value, help=help_text)


def _add_fields(parser: argparse.ArgumentParser, config) -> None:
    comments = _field_comments(config)
    for spec in dataclasses.fields(config):
        default = getattr(config, spec.name)
        if not (dataclasses.is_dataclass(default) or isinstance(default, dict)):
            help_text = comments.get(spec.name, "")
            if isinstance(config, TrainConfig) and spec.name == "objective":
                help_text += ": " + " | ".join(OBJECTIVES)
            _add_flag(parser, spec.name, default, help_text)


def _add_objective_settings(parser: argparse.ArgumentParser) -> set[str]:
    """A flag for each setting of every registered objective, given only when typed (a setting of another
    objective than ``--objective``'s is refused); returns their names."""
    names: set[str] = set()
    for objective in OBJECTIVES.values():
        comments = _field_comments(objective.settings())
        for name, default in objective.defaults().items():
            if name not in names:
                _add_flag(parser, name, default, comments.get(name, ""), given_only=True)
                names.add(name)
    return names


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m optical", description=__doc__)
    nested = {
        spec.name: spec.default_factory
        for spec in dataclasses.fields(MainConfig)
        if spec.default_factory is not dataclasses.MISSING
    }
    for config in (MainConfig(), *(factory() for factory in nested.values())):
        _add_fields(parser, config)
    objective_settings = _add_objective_settings(parser)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 leaves torch's default)")

    args = vars(parser.parse_args(argv))
    threads = args.pop("threads")
    if threads:
        torch.set_num_threads(threads)
    parts = {}
    for name, factory in nested.items():  # train=TrainConfig(...), search=SearchSettings(...)
        fields = {spec.name for spec in dataclasses.fields(factory)} & set(args)
        if factory is TrainConfig:  # with the objective's settings that were given
            given = {setting: args.pop(setting) for setting in objective_settings}
            fields = {field: args.pop(field) for field in fields}
            try:
                parts[name] = TrainConfig.from_flat(fields, **{k: v for k, v in given.items() if v is not None})
            except ValueError as error:  # e.g. --objective kl --epsilon 0.05
                parser.error(str(error))
        else:
            parts[name] = factory(**{field: args.pop(field) for field in fields})
    config = MainConfig(**args, **parts)
    start = time.perf_counter()
    rank, _ = init_from_environment()
    rows = run_main(config)
    if rank != 0:
        return
    table = rows.pivot(index=["split", "objective"], columns="measure", values="value")
    print(table.round(4).to_string())
    print(f"main job done in {time.perf_counter() - start:.0f} s; results recorded in {config.out_dir}/results.csv")


if __name__ == "__main__":
    main()

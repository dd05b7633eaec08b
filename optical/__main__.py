"""``python -m optical``: the main job on the embedded default (see ``python -m optical --help``).

Under ``torchrun --nproc_per_node N -m optical ...`` the N processes train together
(DistributedDataParallel) and rank 0 evaluates and writes the results.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from optical.distributed import init_from_environment
from optical.experiment import MainConfig, run_main
from optical.train import TrainConfig


def _add_fields(parser: argparse.ArgumentParser, config) -> None:
    for spec in dataclasses.fields(config):
        default = getattr(config, spec.name)
        if dataclasses.is_dataclass(default):
            continue
        flag = "--" + spec.name.replace("_", "-")
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        else:
            parser.add_argument(flag, type=type(default), default=default)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m optical", description=__doc__)
    _add_fields(parser, MainConfig())
    _add_fields(parser, TrainConfig())
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 leaves torch's default)")

    args = vars(parser.parse_args(argv))
    threads = args.pop("threads")
    if threads:
        torch.set_num_threads(threads)
    train_names = {spec.name for spec in dataclasses.fields(TrainConfig)}
    train_config = TrainConfig(**{name: args.pop(name) for name in train_names})
    config = MainConfig(**args, train=train_config)
    start = time.perf_counter()
    rank, _ = init_from_environment()
    rows = run_main(config)
    if rank != 0:
        return
    table = rows.pivot(index="objective", columns="measure", values="value")
    print(table.round(4).to_string())
    print(f"main job done in {time.perf_counter() - start:.0f} s; results appended to {config.out_dir}/results.csv")


if __name__ == "__main__":
    main()

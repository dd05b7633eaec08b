"""What the trainer knows of a distillation objective: a name, its own settings, a loss, and what it prepares.

A new objective is one module that defines an :class:`Objective` and one line in ``optical.losses.OBJECTIVES``;
the trainer (:func:`optical.train.train`) calls it through this interface and knows none by name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from optical.encoders import TokenBatch, TokenEncoder
from optical.losses.output import LossOutput


class BoundLoss(Protocol):
    """An objective's loss with its settings bound: teacher (B, n, d) and student (B, m, d) token batches -> loss.

    ``step`` of ``total_steps`` lets a setting follow a schedule (OT's annealed epsilon); ``batch_inputs`` are what
    the objective's ``prepare`` gives for the batch (KL's hard negatives).
    """

    def __call__(
        self, teacher: TokenBatch, student: TokenBatch, *, step: int = 0, total_steps: int = 1, **batch_inputs
    ) -> LossOutput: ...


BatchInputs = Callable[[list[int]], dict[str, torch.Tensor]]  # the batch's pair indices -> extra loss inputs


@dataclass(frozen=True)
class NoSettings:
    """The settings of an objective that has none."""


@dataclass(frozen=True)
class Objective:
    """A distillation objective, registered by ``name`` in ``optical.losses.OBJECTIVES``.

    settings: a frozen dataclass of the objective's own settings, each with its one default, checked in its
    ``__post_init__``. bind(settings) -> the loss (:class:`BoundLoss`). prepare(settings, teacher, english,
    cache_dir) -> :data:`BatchInputs` or None: what the objective computes once from the training pairs' English
    sides before the first step (KL mines its hard negatives), cached under ``cache_dir`` where given.
    """

    name: str
    settings: type
    bind: Callable[[Any], BoundLoss]
    prepare: Callable[[Any, TokenEncoder, list[str], Any], BatchInputs | None] | None = None

    def setting_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in dataclasses.fields(self.settings))

    def defaults(self) -> dict[str, object]:
        """Every setting's default."""
        return dataclasses.asdict(self.settings())

    def make_settings(self, values: Mapping[str, object]) -> Any:
        """The settings object of ``values`` (the rest at their defaults); a name it lacks is a clear error."""
        unknown = sorted(set(values) - set(self.setting_names()))
        if unknown:
            own = ", ".join(self.setting_names()) or "none"
            raise ValueError(f"{', '.join(unknown)}: not a setting of objective {self.name!r} (its settings: {own})")
        return self.settings(**values)


def without_schedule(loss: Callable[..., LossOutput], **settings) -> BoundLoss:
    """``loss`` with ``settings`` bound, for an objective whose settings follow no schedule (step is ignored)."""

    def bound(teacher: TokenBatch, student: TokenBatch, *, step: int = 0, total_steps: int = 1, **batch_inputs):
        return loss(teacher, student, **settings, **batch_inputs)

    return bound

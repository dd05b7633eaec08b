"""What every distillation objective returns."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class LossOutput:
    """loss: scalar to minimise; plan: (B, n, m) soft token alignment when the objective has one."""

    loss: torch.Tensor
    plan: torch.Tensor | None = None

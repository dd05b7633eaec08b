"""OPTICAL-lab: optimal-transport knowledge distillation for cross-lingual retrieval.

Reference implementation of OPTICAL (Huang et al., WSDM 2023, arXiv 2301.12566).
"""

from optical.alignment import SoftAlignment, soft_alignment
from optical.encoders import DEFAULT_MODEL, TokenBatch, TokenEncoder
from optical.losses import LossOutput, ot_distillation_loss
from optical.metrics import evaluate, read_qrels, read_run, write_qrels, write_run
from optical.ot import sinkhorn
from optical.train import TrainConfig, train

__all__ = [
    "DEFAULT_MODEL",
    "LossOutput",
    "SoftAlignment",
    "TokenBatch",
    "TokenEncoder",
    "TrainConfig",
    "evaluate",
    "ot_distillation_loss",
    "read_qrels",
    "read_run",
    "sinkhorn",
    "soft_alignment",
    "train",
    "write_qrels",
    "write_run",
]

__version__ = "0.1.0"

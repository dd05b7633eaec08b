"""Which rows of the student's word-embedding matrix a run trains: all, none, or those its inputs use.

multilingual-e5-small spends 96M of its 118M weights on 250,037 word embeddings, of which a Bible
bitext's foreign side uses a few thousand. Training them all costs AdamW two moments of that size and a
pass over it every step, and decoupled weight decay shrinks every row the data never touches.

- ``train``: every row (the default; what all earlier runs did);
- ``freeze``: none (the matrix stays as pre-trained);
- ``trim``: the rows of the pieces in the training pairs' foreign sides; the others stay as pre-trained.
  The matrix is saved whole (the trained rows mapped back), so checkpoints load into a plain student.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from optical.encoders import TokenEncoder

__all__ = [
    "WORD_EMBEDDINGS",
    "PartlyTrainedEmbedding",
    "restore_word_embeddings",
    "set_word_embeddings",
    "trimmed_piece_ids",
]

WORD_EMBEDDINGS = ("train", "freeze", "trim")


class PartlyTrainedEmbedding(nn.Module):
    """An embedding (V, d) whose rows ``trained_ids`` (K,) are a parameter and the rest a frozen buffer.

    Its state dict is an ``nn.Embedding``'s (``weight``, the whole matrix with the trained rows in place),
    and loading one sets both parts, so checkpoints stay interchangeable with an untrimmed student's.
    """

    def __init__(self, weight: torch.Tensor, trained_ids: torch.Tensor, padding_idx: int | None = None) -> None:
        super().__init__()
        self.padding_idx = padding_idx
        self.register_buffer("weight", weight.detach())  # (V, d), the frozen rows: shared, never written
        self.rows = nn.Parameter(self.weight[trained_ids].clone())  # (K, d)
        position = torch.full((len(weight),), -1, dtype=torch.long, device=weight.device)
        position[trained_ids] = torch.arange(len(trained_ids), device=weight.device)
        self.register_buffer("position", position, persistent=False)  # (V,) row of rows, -1 if frozen
        self.register_buffer("trained_ids", trained_ids.clone(), persistent=False)  # (K,)
        self.register_state_dict_post_hook(_merge_rows)
        self.register_load_state_dict_pre_hook(_split_rows)

    def merged(self) -> torch.Tensor:
        """The whole matrix (V, d) with the trained rows in place."""
        return self.weight.index_copy(0, self.trained_ids, self.rows.detach())

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """(B, L) ids -> (B, L, d) vectors: trained rows where the piece has one, the frozen matrix elsewhere."""
        position = self.position[input_ids]  # (B, L)
        trained = F.embedding(position.clamp_min(0), self.rows)  # (B, L, d)
        return torch.where((position >= 0).unsqueeze(-1), trained, F.embedding(input_ids, self.weight))


def _merge_rows(module: PartlyTrainedEmbedding, state: dict, prefix: str, _metadata) -> None:
    state[prefix + "weight"] = module.merged()
    del state[prefix + "rows"]


def _split_rows(module: PartlyTrainedEmbedding, state: dict, prefix: str, *_args) -> None:
    if prefix + "weight" in state and prefix + "rows" not in state:
        state[prefix + "rows"] = state[prefix + "weight"][module.trained_ids.to(state[prefix + "weight"].device)]


def trimmed_piece_ids(student: TokenEncoder, foreign: list[str]) -> torch.Tensor:
    """(K,) the ids of the pieces ``trim`` trains: those of ``foreign`` as training reads them (the prefix and
    truncation included)."""
    tokens = student.tokenize(foreign)
    return tokens["input_ids"][tokens["attention_mask"].bool()].unique()


def set_word_embeddings(student: TokenEncoder, mode: str, foreign: list[str]) -> None:
    """Make the student's word-embedding rows trainable as ``mode`` says (see the module docstring);
    ``foreign``: the training pairs' foreign sides, whose pieces ``trim`` trains."""
    if mode not in WORD_EMBEDDINGS:
        raise ValueError(f"word_embeddings must be one of {WORD_EMBEDDINGS}, got {mode!r}")
    restore_word_embeddings(student)
    embedding = student.transformer.get_input_embeddings()
    embedding.weight.requires_grad_(mode == "train")
    if mode != "trim":
        return
    trained_ids = trimmed_piece_ids(student, foreign).to(embedding.weight.device)  # (K,)
    student.transformer.set_input_embeddings(
        PartlyTrainedEmbedding(embedding.weight.data, trained_ids, embedding.padding_idx)
    )


def restore_word_embeddings(student: TokenEncoder) -> None:
    """Put back a plain, trainable ``nn.Embedding`` holding the whole matrix (trained rows mapped back)."""
    embedding = student.transformer.get_input_embeddings()
    if isinstance(embedding, PartlyTrainedEmbedding):
        plain = nn.Embedding.from_pretrained(embedding.merged(), freeze=False, padding_idx=embedding.padding_idx)
        student.transformer.set_input_embeddings(plain)
    student.transformer.get_input_embeddings().weight.requires_grad_(True)

"""Synthetic token batches for the loss tests (no transformer needed)."""

import torch

from optical.encoders import TokenBatch


def token_batch(embeddings: torch.Tensor, lengths: list[int], special: bool = True) -> TokenBatch:
    """Masks for sentences of ``lengths`` real tokens; with ``special`` the first and last are [CLS]/[SEP]."""
    batch, length, _ = embeddings.shape
    attention = (torch.arange(length) < torch.tensor(lengths)[:, None]).long()
    content = attention.clone()
    if special:
        content[:, 0] = 0
        content[torch.arange(batch), torch.tensor(lengths) - 1] = 0
    return TokenBatch(embeddings, attention, content)

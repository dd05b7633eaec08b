"""Teacher and student token encoders on Hugging Face transformers.

The teacher is a retrieval model (by default the packaged English all-MiniLM-L6-v2; or the packaged
multilingual-e5-small, OPTICAL's setting; mean pooling + L2 norm); the student is initialised from it, or
from any local model directory, and learns to encode the foreign language into the teacher's space.
Texts are encoded in a role, ``query`` (queries and both sides of the bitext) or ``passage`` (documents),
and a model's prefix for that role (e5: ``query: ``) is prepended; its tokens, like special tokens, take
no transport mass and no part in MaxSim, but are pooled, as the model was trained.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from optical.models import DEFAULT_MODEL, model_prefixes, resolve_model_dir
from optical.progress import tqdm
from optical.vocabulary import require_wordpiece

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "DEFAULT_MODEL",
    "ROLES",
    "EncodedTexts",
    "TokenBatch",
    "TokenEncoder",
    "resolve_model_dir",
]

ROLES = ("query", "passage")  # queries and bitext sentences | documents
# Tokens per training sentence and query. At 64, 30% of the Chichewa training verses and 25% of the
# test queries were cut (3.05 WordPiece pieces per word); at 128, 0.33% and 0.2% (Spanish 0.06%, 0%).
DEFAULT_MAX_LENGTH = 128


@dataclass
class TokenBatch:
    """Token embeddings of a batch of sentences.

    embeddings: (B, L, d) contextual token vectors; attention_mask: (B, L) 1 for real tokens
    (special tokens and the model's prefix included: what pooling averages); content_mask: (B, L) the
    tokens that carry transport mass (attention_mask less the prefix, and less [CLS]/[SEP] when the
    encoder excludes special tokens); match_mask: (B, L) the tokens MaxSim matches (attention_mask less
    the prefix; by default attention_mask).
    """

    embeddings: torch.Tensor
    attention_mask: torch.Tensor
    content_mask: torch.Tensor
    match_mask: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.match_mask is None:
            self.match_mask = self.attention_mask

    def to(self, device: torch.device | str) -> TokenBatch:
        """The same batch on ``device``."""
        masks = (self.attention_mask, self.content_mask, self.match_mask)
        return TokenBatch(self.embeddings.to(device), *(mask.to(device) for mask in masks))

    def pooled(self) -> torch.Tensor:
        """Mean over real tokens, L2-normalised: (B, d), the sentence-transformers embedding."""
        weights = self.attention_mask.unsqueeze(-1).to(self.embeddings.dtype)  # (B, L, 1)
        summed = (self.embeddings * weights).sum(1)  # (B, d)
        return F.normalize(summed / weights.sum(1).clamp_min(1.0), dim=-1)


@dataclass
class EncodedTexts:
    """Texts encoded by :meth:`TokenEncoder.encode_texts`, on the CPU, in the texts' order.

    pooled: (N, dim) float32 sentence embeddings (mean over real tokens, L2-normalised); tokens: (N, L, dim)
    float16 unit token vectors, padded to the longest text; mask: (N, L) its real tokens. A part not asked
    for is None.
    """

    pooled: torch.Tensor | None = None
    tokens: torch.Tensor | None = None
    mask: torch.Tensor | None = None


class TokenEncoder(nn.Module):
    """A transformer that maps sentences to L2-comparable token vectors.

    model: a packaged name (``"all-MiniLM-L6-v2"``, ``"multilingual-e5-small"``) or a local Hugging Face
    directory. output_dim: add a linear projection to this width (needed when student and teacher widths
    differ). exclude_special: leave [CLS]/[SEP] out of ``content_mask`` (they carry no word to align).
    :attr:`prefixes` ({role: prefix}) come from the model folder (:func:`optical.models.model_prefixes`).
    """

    def __init__(
        self,
        model: str | os.PathLike = DEFAULT_MODEL,
        *,
        max_length: int = DEFAULT_MAX_LENGTH,
        output_dim: int | None = None,
        exclude_special: bool = True,
    ) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        self.model_name = os.fspath(model)  # as the user named it
        self.model_dir = resolve_model_dir(model)
        self.prefixes = model_prefixes(self.model_dir)  # {role: prefix}; empty for models trained without
        self.max_length = max_length
        self.exclude_special = exclude_special
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
        self.transformer = AutoModel.from_pretrained(self.model_dir, local_files_only=True)
        if getattr(self.transformer, "pooler", None) is not None:
            self.transformer.pooler = None  # unused (mean pooling), and parameters without gradient stall DDP
        self.positions = self.transformer.config.max_position_embeddings  # the longest input the model takes
        self._checked_length(max_length)
        hidden = self.transformer.config.hidden_size
        self.projection = nn.Linear(hidden, output_dim) if output_dim and output_dim != hidden else None
        self.added_pieces: list[str] = []  # WordPiece pieces added to the model's vocabulary (add_pieces)
        self.trained_by: dict | None = None  # the TrainConfig (as a dict) of the run whose weights it holds
        self.run_spec: dict | None = None  # that run's specification (optical.run_spec.RunSpec), when it has one
        self.eval()  # as from_pretrained leaves a model (no dropout); training switches it to train() and back

    def add_pieces(self, pieces: list[str]) -> None:
        """Extend the WordPiece vocabulary with ``pieces`` (``"##"`` marks a word-inner piece), in order.

        Each new input embedding starts as the mean of the embeddings of the pieces the tokenizer cut
        its text into before. Pieces already known are skipped. Queries and training sentences are
        tokenised with the extended vocabulary from then on; checkpoints store :attr:`added_pieces`.
        """
        from tokenizers.models import WordPiece

        if not pieces:  # nothing to add, whatever the tokenizer: every checkpoint's pieces are loaded this way
            return
        require_wordpiece(self.tokenizer)
        vocabulary = self.tokenizer.get_vocab()
        new = list(dict.fromkeys(piece for piece in pieces if piece not in vocabulary))
        if not new:
            return
        embedding = self.transformer.get_input_embeddings().weight  # (V, hidden)
        with torch.no_grad():
            old_ids = [self.tokenizer(piece.removeprefix("##"), add_special_tokens=False)["input_ids"] for piece in new]
            means = torch.stack([embedding[ids].mean(0) for ids in old_ids])  # (new, hidden)
        first = max(vocabulary.values()) + 1
        backend = self.tokenizer.backend_tokenizer
        backend.model = WordPiece(
            {**vocabulary, **{piece: first + k for k, piece in enumerate(new)}},
            unk_token=backend.model.unk_token,
            continuing_subword_prefix=backend.model.continuing_subword_prefix,
            max_input_chars_per_word=backend.model.max_input_chars_per_word,
        )
        self.transformer.resize_token_embeddings(first + len(new), mean_resizing=False)
        with torch.no_grad():
            self.transformer.get_input_embeddings().weight[first:] = means.to(embedding.dtype)
        self.added_pieces = [*self.added_pieces, *new]

    @property
    def dim(self) -> int:
        """Width of the token vectors this encoder returns."""
        return self.projection.out_features if self.projection else self.transformer.config.hidden_size

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def _checked_length(self, max_length: int | None) -> int:
        """``max_length`` (default: the encoder's), or a ValueError when the model has fewer positions."""
        length = max_length or self.max_length
        if length > self.positions:
            raise ValueError(
                f"max_length {length} is longer than {self.model_name} takes ({self.positions} positions, special "
                "tokens included): choose a max_length (or a max_cut_share) that fits"
            )
        return length

    def _prefix(self, role: str) -> str:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        return self.prefixes.get(role, "")

    def tokenize(self, texts: list[str], max_length: int | None = None, role: str = "query") -> dict[str, torch.Tensor]:
        """Pad to the longest sentence of the batch, truncate at ``max_length`` (default: the encoder's).

        The model's prefix for ``role`` is prepended; ``prefix_mask`` (B, L) marks its tokens, which
        ``special_tokens_mask`` marks too (neither carries a word of the text).
        """
        prefix = self._prefix(role)
        tokens = self.tokenizer(
            [prefix + text for text in texts],
            padding=True,
            truncation=True,
            max_length=self._checked_length(max_length),
            return_tensors="pt",
            return_special_tokens_mask=True,
            return_offsets_mapping=bool(prefix),
        )
        if prefix:  # the tokens that start inside the prefix (its trailing space starts the text's first token)
            starts = tokens.pop("offset_mapping")[..., 0]  # (B, L)
            real = tokens["attention_mask"].bool() & ~tokens["special_tokens_mask"].bool()  # (B, L)
            tokens["prefix_mask"] = ((starts < len(prefix.rstrip())) & real).long()
            tokens["special_tokens_mask"] = tokens["special_tokens_mask"] | tokens["prefix_mask"]
        return tokens

    @staticmethod
    def word_ids(tokens, row: int) -> list[int | None]:
        """The word of the text (0, 1, ... as the tokenizer pre-tokenises it) of each token of ``row`` of
        :meth:`tokenize`'s output; None for special and prefix tokens, and the prefix's words not counted."""
        words = tokens.word_ids(row)
        prefix = tokens["prefix_mask"][row].tolist() if "prefix_mask" in tokens else [0] * len(words)
        skipped = len({word for word, inside in zip(words, prefix, strict=True) if inside})
        return [None if word is None or inside else word - skipped for word, inside in zip(words, prefix, strict=True)]

    def token_lengths(self, texts: list[str], max_length: int | None = None, role: str = "query") -> list[int]:
        """Tokens of each text after truncation at ``max_length`` (default: the encoder's), special ones and the
        prefix for ``role`` included."""
        if not texts:  # the tokenizer fails on an empty batch
            return []
        prefix = self._prefix(role)
        ids = self.tokenizer(
            [prefix + text for text in texts], truncation=True, max_length=self._checked_length(max_length)
        )["input_ids"]
        return [len(row) for row in ids]

    def longest_first(
        self, texts: list[str], max_length: int | None = None, role: str = "query"
    ) -> tuple[list[int], list[int]]:
        """(indices of ``texts`` by decreasing token count, token counts): batches in this order carry
        little padding."""
        lengths = self.token_lengths(texts, max_length, role)
        return sorted(range(len(texts)), key=lambda i: -lengths[i]), lengths

    @property
    def num_layers(self) -> int:
        """Transformer layers; :meth:`forward` takes 1 to this, or -1 for the last."""
        return self.transformer.config.num_hidden_layers

    def forward(self, tokens: dict[str, torch.Tensor], layer: int = -1) -> TokenBatch:
        """tokens from :meth:`tokenize` -> TokenBatch with (B, L, dim) embeddings of ``layer`` (1 to
        :attr:`num_layers`; -1, the default, is the last: the vectors retrieval uses)."""
        if layer != -1 and not 1 <= layer <= self.num_layers:
            raise ValueError(f"layer must be -1 (the last) or 1 to {self.num_layers}, got {layer}")
        device = self.device
        input_ids = tokens["input_ids"].to(device)  # (B, L)
        attention_mask = tokens["attention_mask"].to(device)  # (B, L)
        if layer in (-1, self.num_layers):
            hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        else:  # hidden_states[0] is the embedding layer's output, hidden_states[k] the k-th layer's
            output = self.transformer(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
            hidden = output.hidden_states[layer]
        if self.projection is not None:
            hidden = self.projection(hidden)  # (B, L, hidden) -> (B, L, dim)
        match_mask = attention_mask
        if "prefix_mask" in tokens:
            match_mask = attention_mask * (1 - tokens["prefix_mask"].to(device))
        content_mask = match_mask
        if self.exclude_special:
            content_mask = attention_mask * (1 - tokens["special_tokens_mask"].to(device))
        return TokenBatch(hidden, attention_mask, content_mask, match_mask)

    def encode(
        self, texts: list[str], max_length: int | None = None, layer: int = -1, role: str = "query"
    ) -> TokenBatch:
        """Tokenise and encode one batch of sentences in ``role`` (the states of ``layer``, as :meth:`forward`)."""
        return self(self.tokenize(texts, max_length, role), layer=layer)

    def embed(
        self,
        texts: list[str],
        *,
        batch_size: int = 64,
        max_length: int | None = None,
        progress: str | None = None,
        role: str = "query",
    ) -> torch.Tensor:
        """Sentence embeddings (N, dim) of ``texts`` in ``role``, mean-pooled and L2-normalised, on the CPU in
        float32."""
        encoded = self.encode_texts(texts, batch_size=batch_size, max_length=max_length, progress=progress, role=role)
        return encoded.pooled

    @torch.no_grad()
    def encode_texts(
        self,
        texts: list[str],
        *,
        pooled: bool = True,
        tokens: bool = False,
        batch_size: int = 64,
        max_length: int | None = None,
        progress: str | None = None,
        role: str = "query",
    ) -> EncodedTexts:
        """The pooled sentence embeddings and/or the unit token vectors of ``texts`` in ``role``, from one
        forward pass (the token mask leaves the model's prefix out).

        Sentences are encoded longest first (by token count), so that batches carry little padding, and
        returned in the given order.
        """
        was_training = self.training
        self.eval()
        order, lengths = self.longest_first(texts, max_length, role)
        width = max(lengths, default=0)
        out = EncodedTexts(
            pooled=torch.empty(len(texts), self.dim) if pooled else None,
            tokens=torch.zeros(len(texts), width, self.dim, dtype=torch.float16) if tokens else None,
            mask=torch.zeros(len(texts), width, dtype=torch.bool) if tokens else None,
        )
        starts = range(0, len(texts), batch_size)
        for start in tqdm(starts, desc=progress, disable=progress is None, unit="batch"):
            index = order[start : start + batch_size]
            batch = self.encode([texts[i] for i in index], max_length, role=role)
            if out.pooled is not None:
                out.pooled[index] = batch.pooled().float().cpu()
            if out.tokens is not None:
                batch_width = batch.embeddings.shape[1]
                out.tokens[index, :batch_width] = F.normalize(batch.embeddings.float(), dim=-1).half().cpu()
                out.mask[index, :batch_width] = batch.match_mask.bool().cpu()
        self.train(was_training)
        return out

"""The frozen teacher's token states, computed once per text and memory-mapped from disk.

The teacher never changes during distillation, so its forward pass over the English side of the
bitext is the same in every epoch, objective, seed and study. :class:`TeacherStateStore` keeps
those states under ``root/<teacher key>/``, where the key hashes everything that decides them: the
teacher's weights, its tokenizer, ``max_length`` and which tokens are special. A changed key is a
new folder, so a stale state is never read.

Each chunk of the store is two files, written under temporary names and renamed, the index last:

- ``<chunk>.npy``: (T, d) float16 vectors of the real tokens of its texts, one text after another;
- ``<chunk>.index.npz``: per text its digest, offset and length; per token its special-token flag;
  the vector file's size in bytes.

A chunk whose vector file is missing, truncated or unreadable is reported, deleted and computed
again; texts a store lacks are computed in one new chunk. Reading a batch copies only its rows out
of the memory map, so memory stays bounded by the batch, not the bitext.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from optical.distributed import barrier, rank_and_world
from optical.encoders import TokenBatch, TokenEncoder
from optical.files import write_atomically
from optical.progress import tqdm

__all__ = ["TeacherStateStore", "TeacherStates", "teacher_key"]

STATE_DTYPE = np.float16  # on disk; batches are float32 (checked: losses equal within 1e-3)


def _text_digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def teacher_key(teacher: TokenEncoder) -> str:
    """A hash of what decides the teacher's token states: weights, tokenizer, max_length, special tokens, the
    query prefix (a model without one keeps the key it had before prefixes existed)."""
    digest = hashlib.blake2b(digest_size=12)
    settings = {
        "max_length": teacher.max_length,
        "exclude_special": teacher.exclude_special,
        "model": type(teacher.transformer).__name__,
        "tokenizer": type(teacher.tokenizer).__name__,
    }
    if teacher.prefixes.get("query"):
        settings["prefix"] = teacher.prefixes["query"]
    digest.update(json.dumps(settings, sort_keys=True).encode())
    backend = getattr(teacher.tokenizer, "backend_tokenizer", None)
    vocabulary = backend.to_str() if backend is not None else json.dumps(teacher.tokenizer.get_vocab(), sort_keys=True)
    digest.update(vocabulary.encode())
    for name, tensor in teacher.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


@dataclass
class _Chunk:
    """One chunk on disk: vectors (T, d) memory-mapped, special flags (T,) in memory."""

    vectors: np.ndarray
    special: np.ndarray


@dataclass
class TeacherStates:
    """The teacher's token states of a list of texts, in that list's order.

    ``batch(indices)`` rebuilds what ``teacher.encode([texts[i] for i in indices])`` returns: a
    :class:`TokenBatch` with (b, L, d) float32 embeddings, right-padded to the longest of the batch.
    """

    chunks: list[_Chunk]
    where: list[tuple[int, int, int]]  # per text: (chunk, offset, length)
    exclude_special: bool

    def __len__(self) -> int:
        return len(self.where)

    def batch(self, indices: list[int]) -> TokenBatch:
        spans = [self.where[i] for i in indices]
        length = max(span[2] for span in spans)
        dim = self.chunks[0].vectors.shape[1]
        embeddings = torch.zeros(len(spans), length, dim)  # (b, L, d)
        attention_mask = torch.zeros(len(spans), length, dtype=torch.long)  # (b, L)
        special = torch.zeros(len(spans), length, dtype=torch.long)  # (b, L)
        for row, (chunk, offset, count) in enumerate(spans):
            stored = self.chunks[chunk]
            embeddings[row, :count] = torch.from_numpy(np.array(stored.vectors[offset : offset + count]))
            attention_mask[row, :count] = 1
            special[row, :count] = torch.from_numpy(stored.special[offset : offset + count].astype(np.int64))
        content_mask = attention_mask * (1 - special) if self.exclude_special else attention_mask
        return TokenBatch(embeddings, attention_mask, content_mask)


class TeacherStateStore:
    """Token states of one teacher under ``root/<teacher_key(teacher)>`` (``-layer<k>`` appended for another
    layer than the last); see the module docstring."""

    def __init__(self, teacher: TokenEncoder, root: str | os.PathLike, layer: int = -1) -> None:
        self.teacher, self.layer = teacher, layer
        self.directory = Path(root) / (teacher_key(teacher) + ("" if layer == -1 else f"-layer{layer}"))
        self._chunks: list[_Chunk] = []
        self._where: dict[str, tuple[int, int, int]] = {}  # text digest -> (chunk, offset, length)
        self._read_chunks()

    def _read_chunks(self) -> None:
        self._chunks.clear()
        self._where.clear()
        for index_file in sorted(self.directory.glob("*.index.npz")):
            self._open_chunk(index_file)

    def _open_chunk(self, index_file: Path) -> None:
        vector_file = index_file.with_name(index_file.name.removesuffix(".index.npz") + ".npy")
        try:
            with np.load(index_file) as index:
                digests, offsets, lengths, special = (index[k] for k in ("digests", "offsets", "lengths", "special"))
                size = int(index["vector_bytes"])
            if not vector_file.is_file() or vector_file.stat().st_size != size:
                raise ValueError(f"{vector_file.name} is missing or truncated")
            vectors = np.load(vector_file, mmap_mode="r")
            if vectors.shape != (len(special), self.teacher.dim):
                raise ValueError(f"{vector_file.name} has shape {vectors.shape}, expected {(len(special), -1)}")
        except (OSError, ValueError, KeyError) as error:
            warnings.warn(
                f"teacher-state chunk {index_file.stem} is unusable ({error}); it will be recomputed", stacklevel=3
            )
            index_file.unlink(missing_ok=True)
            vector_file.unlink(missing_ok=True)
            return
        number = len(self._chunks)
        self._chunks.append(_Chunk(vectors, special))
        for digest, offset, length in zip(digests.tolist(), offsets.tolist(), lengths.tolist(), strict=True):
            self._where[digest] = (number, offset, length)

    def states(self, texts: list[str], *, batch_size: int = 64, progress: bool = False) -> TeacherStates:
        """The states of ``texts``, computing (and storing) those the store lacks.

        Under ``torchrun`` rank 0 computes while the other ranks wait, then every rank reads.
        """
        digests = [_text_digest(text) for text in texts]
        rank, _ = rank_and_world()
        if rank == 0:
            self._compute_missing(texts, digests, batch_size, progress)
        barrier()
        if rank != 0:
            self._read_chunks()  # the chunks rank 0 wrote
        return TeacherStates(self._chunks, [self._where[d] for d in digests], self.teacher.exclude_special)

    @torch.no_grad()
    def _compute_missing(self, texts: list[str], digests: list[str], batch_size: int, progress: bool) -> None:
        missing = {digest: text for digest, text in zip(digests, texts, strict=True) if digest not in self._where}
        if not missing:
            return
        todo = list(missing.items())
        order, lengths = self.teacher.longest_first([text for _, text in todo])
        offsets = np.cumsum([0] + [lengths[i] for i in order])
        name = hashlib.blake2b("".join(sorted(missing)).encode(), digest_size=12).hexdigest()
        vector_file = self.directory / f"{name}.npy"
        special = np.zeros(offsets[-1], dtype=np.uint8)

        def fill_vectors(file: Path) -> None:
            shape = (int(offsets[-1]), self.teacher.dim)
            vectors = np.lib.format.open_memmap(file, mode="w+", dtype=STATE_DTYPE, shape=shape)
            starts = range(0, len(order), batch_size)
            for start in tqdm(starts, desc="teacher states", disable=not progress, unit="batch"):
                rows = order[start : start + batch_size]
                tokens = self.teacher.tokenize([todo[i][1] for i in rows])
                output = self.teacher(tokens, layer=self.layer)
                for k, position in enumerate(range(start, start + len(rows))):
                    real = output.attention_mask[k].bool()
                    span = slice(offsets[position], offsets[position + 1])
                    vectors[span] = output.embeddings[k][real].float().cpu().numpy().astype(STATE_DTYPE)
                    special[span] = tokens["special_tokens_mask"][k][real.cpu()].numpy()
            vectors.flush()

        def write_index(file: Path) -> None:
            with open(file, "wb") as handle:  # a handle, so np.savez adds no ".npz" to the temporary name
                np.savez(
                    handle,
                    digests=np.array([todo[i][0] for i in order]),
                    offsets=offsets[:-1].astype(np.int64),
                    lengths=np.diff(offsets).astype(np.int64),
                    special=special,
                    vector_bytes=np.int64(vector_file.stat().st_size),
                )

        was_training = self.teacher.training
        self.teacher.eval()
        try:
            write_atomically(vector_file, fill_vectors)
        finally:
            self.teacher.train(was_training)
        index_file = write_atomically(self.directory / f"{name}.index.npz", write_index)  # the chunk exists from here
        self._open_chunk(index_file)

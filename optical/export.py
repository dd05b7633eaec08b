"""A trained student as a folder any pipeline loads: Hugging Face weights and tokenizer, sentence-transformers
modules (mean pooling, the projection if any, L2 normalisation) and the model's prefixes as prompts.

>>> from sentence_transformers import SentenceTransformer
>>> model = SentenceTransformer("students/en-ny-ot")          # doctest: +SKIP
>>> model.encode(["Mulungu ndi chikondi"], prompt_name="query")  # doctest: +SKIP

The student's vector is the mean of its (projected) token states, L2-normalised; a projection is linear,
so pooling before it (sentence-transformers' order) gives the same vector.
"""

from __future__ import annotations

import os
from pathlib import Path

from safetensors.torch import save_file

from optical.encoders import TokenEncoder
from optical.models import write_sentence_transformers_config

__all__ = ["export_student"]


def export_student(student: TokenEncoder, folder: str | os.PathLike) -> Path:
    """Save ``student`` at ``folder`` (created) for ``transformers.AutoModel`` and ``SentenceTransformer``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    student.transformer.save_pretrained(folder)
    student.tokenizer.save_pretrained(folder)
    projection = None
    if student.projection is not None:
        projection = {
            "in_features": student.projection.in_features,
            "out_features": student.projection.out_features,
            "bias": True,
            "activation_function": "torch.nn.modules.linear.Identity",
        }
    write_sentence_transformers_config(
        folder,
        dim=student.transformer.config.hidden_size,
        max_length=student.max_length,
        prefixes=student.prefixes,
        projection=projection,
    )
    if student.projection is not None:
        state = {"linear.weight": student.projection.weight.detach().cpu().contiguous()}
        state["linear.bias"] = student.projection.bias.detach().cpu().contiguous()
        save_file(state, folder / "2_Dense" / "model.safetensors")
    return folder

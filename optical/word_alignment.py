"""Reference word alignments (eflomal) and how well a transport plan agrees with them."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from optical.alignment import SoftAlignment

Links = set[tuple[int, int]]  # (English word index, foreign word index)


def pretokenize(tokenizer, text: str) -> list[str]:
    """The words a Hugging Face fast tokenizer sees (its normaliser, then its pre-tokeniser).

    Their indices are the ``word_ids`` of the tokenizer's encodings, so word links and WordPiece
    tokens line up.
    """
    backend = tokenizer.backend_tokenizer
    normalized = backend.normalizer.normalize_str(text) if backend.normalizer else text
    return [word for word, _ in backend.pre_tokenizer.pre_tokenize_str(normalized)]


def eflomal_links(english: list[list[str]], foreign: list[list[str]]) -> list[Links]:
    """Word alignments of tokenised sentence pairs by eflomal [1]_, both directions intersected.

    Unsupervised: give it a few thousand pairs beside the ones you want links for. eflomal's
    sampler seeds itself from /dev/urandom inside its C binary and takes no seed, so the links,
    and any agreement measured against them, vary slightly from run to run.

    .. [1] R. Östling, J. Tiedemann. Efficient word alignment with Markov Chain Monte Carlo. PBML 2016.
    """
    import eflomal

    with tempfile.TemporaryDirectory() as folder:
        forward, reverse = Path(folder, "fwd"), Path(folder, "rev")
        eflomal.Aligner().align(
            [" ".join(words) for words in english],
            [" ".join(words) for words in foreign],
            links_filename_fwd=str(forward),
            links_filename_rev=str(reverse),
            quiet=True,
        )
        both = zip(forward.read_text().splitlines(), reverse.read_text().splitlines(), strict=True)
        return [_parse(fwd) & _parse(rev) for fwd, rev in both]


def _parse(line: str) -> Links:
    return {tuple(map(int, link.split("-"))) for link in line.split()}


def word_plan(alignment: SoftAlignment) -> torch.Tensor:
    """The plan summed over each word's WordPiece tokens: (English words, foreign words)."""
    rows = torch.tensor(alignment.english_word_ids)
    cols = torch.tensor(alignment.foreign_word_ids)
    n_words, m_words = int(rows.max()) + 1, int(cols.max()) + 1
    by_row = torch.zeros(n_words, alignment.plan.shape[1]).index_add_(0, rows, alignment.plan)  # (N, m)
    return torch.zeros(n_words, m_words).index_add_(1, cols, by_row)  # (N, M)


def plan_links(alignment: SoftAlignment) -> Links:
    """Word pairs that are each other's heaviest partner in the word-level plan (mutual argmax)."""
    plan = word_plan(alignment)
    best_foreign, best_english = plan.argmax(1), plan.argmax(0)
    return {(i, int(j)) for i, j in enumerate(best_foreign) if int(best_english[j]) == i and plan[i, j] > 0}


def agreement(predicted: Links, reference: Links) -> dict[str, float]:
    """Precision, recall and F1 of predicted links against reference links (0 when either is empty)."""
    hits = len(predicted & reference)
    precision = hits / len(predicted) if predicted else 0.0
    recall = hits / len(reference) if reference else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}

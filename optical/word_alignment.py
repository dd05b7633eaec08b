"""Reference word alignments (eflomal, or human ones) and how well a transport plan agrees with them."""

from __future__ import annotations

import io
import json
import tempfile
from bisect import bisect_right
from collections.abc import Callable
from pathlib import Path

import torch

from optical.alignment import SoftAlignment
from optical.data.greek import AlignedVerse, VerseWords
from optical.files import canonical_key, write_atomically

Links = set[tuple[int, int]]  # (English word index, foreign word index)


def pretokenize(tokenizer, text: str) -> list[str]:
    """The words a Hugging Face fast tokenizer sees (its normaliser, then its pre-tokeniser).

    Their indices are the ``word_ids`` of the tokenizer's encodings, so word links and WordPiece
    tokens line up.
    """
    backend = tokenizer.backend_tokenizer
    normalized = backend.normalizer.normalize_str(text) if backend.normalizer else text
    return [word for word, _ in backend.pre_tokenizer.pre_tokenize_str(normalized)]


def unit_of_each_word(tokenizer, units: VerseWords) -> list[int]:
    """For each word the tokenizer sees in ``units.text`` (its ``word_ids``), the unit it lies in.

    A unit such as "God’s" is several tokenizer words ("god", "’", "s"); each maps to that unit.
    """
    encoding = tokenizer(units.text, add_special_tokens=False, return_offsets_mapping=True)
    first_char = {}
    for word, (start, _) in zip(encoding.word_ids(), encoding["offset_mapping"], strict=True):
        first_char.setdefault(word, start)
    starts = units.starts()
    return [bisect_right(starts, first_char[word]) - 1 for word in sorted(first_char)]


def human_links(verse: AlignedVerse, english_tokenizer, foreign_tokenizer) -> Links:
    """The verse's human links between the tokenizers' words (English word, foreign word): every word of a
    linked English unit with every word of the linked foreign unit."""
    words_of = []
    for tokenizer, units in ((english_tokenizer, verse.english), (foreign_tokenizer, verse.greek)):
        by_unit: dict[str, list[int]] = {}
        for word, unit in enumerate(unit_of_each_word(tokenizer, units)):
            by_unit.setdefault(units.ids[unit], []).append(word)
        words_of.append(by_unit)
    english_words, foreign_words = words_of
    return {
        (i, j)
        for english_id, foreign_id in verse.links
        for i in english_words.get(english_id, ())
        for j in foreign_words.get(foreign_id, ())
    }


def eflomal_links(
    english: list[list[str]],
    foreign: list[list[str]],
    *,
    learn_from: tuple[list[list[str]], list[list[str]]] | None = None,
    alongside: tuple[list[list[str]], list[list[str]]] | None = None,
    keep: Callable[[str], Path] | None = None,
) -> list[Links]:
    """Word alignments of tokenised sentence pairs by eflomal [1]_, both directions intersected.

    Unsupervised: without ``learn_from`` it learns from the pairs it links, so give it a few thousand pairs
    ``alongside`` (English, foreign sentences aligned together with these, transductively; their links are not
    returned). With ``learn_from`` it aligns those first, turns their links into priors (eflomal's lexical,
    fertility and jump counts) and links the given pairs with them alone: the knowledge comes from the other pairs,
    as from a trained aligner. eflomal's sampler seeds itself from /dev/urandom inside its C binary and takes no
    seed, so the links, and any agreement measured against them, vary slightly from run to run: with ``keep``
    (a file name -> where it is kept, e.g. :func:`optical.files.kept_file` with its folders) the links of the same
    inputs are computed once, kept as ``alignments/eflomal-<digest of the inputs>.json``, and read back after.

    .. [1] R. Östling, J. Tiedemann. Efficient word alignment with Markov Chain Monte Carlo. PBML 2016.
    """
    if keep is None:
        return _eflomal_links(english, foreign, learn_from, alongside)
    path = keep(f"alignments/eflomal-{canonical_key([english, foreign, learn_from, alongside])}.json")
    if path.exists():
        return [{(i, j) for i, j in links} for links in json.loads(path.read_text())]
    links = _eflomal_links(english, foreign, learn_from, alongside)
    write_atomically(path, lambda file: file.write_text(json.dumps([sorted(pairs) for pairs in links]) + "\n"))
    return links


def _eflomal_links(english, foreign, learn_from, alongside) -> list[Links]:
    """:func:`eflomal_links` computed."""
    import eflomal

    priors = None
    if learn_from is not None:
        learn_english, learn_foreign = ([" ".join(words) for words in side] for side in learn_from)
        forward, reverse = _eflomal_lines(learn_english, learn_foreign)
        counts = eflomal.calculate_priors(learn_english, learn_foreign, forward, reverse)
        written = io.StringIO()
        eflomal.write_priors(written, *counts)
        priors = written.getvalue().splitlines(keepends=True)
    given = len(english)
    if alongside is not None:
        english, foreign = [*english, *alongside[0]], [*foreign, *alongside[1]]
    forward, reverse = _eflomal_lines(
        [" ".join(words) for words in english], [" ".join(words) for words in foreign], priors
    )
    return [_parse(fwd) & _parse(rev) for fwd, rev in zip(forward[:given], reverse[:given], strict=True)]


def _eflomal_lines(english: list[str], foreign: list[str], priors: list[str] | None = None) -> tuple[list, list]:
    """eflomal's forward and reverse link lines ("i-j i-j ...") of space-separated sentence pairs."""
    import eflomal

    with tempfile.TemporaryDirectory() as folder:
        forward, reverse = Path(folder, "fwd"), Path(folder, "rev")
        eflomal.Aligner().align(
            english,
            foreign,
            links_filename_fwd=str(forward),
            links_filename_rev=str(reverse),
            priors_input=priors,
            quiet=True,
        )
        return forward.read_text().splitlines(), reverse.read_text().splitlines()


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


def hard_links(alignment: SoftAlignment) -> Links:
    """The word pairs of every token pair a 0/1 alignment links (e.g. the greedy one-to-one matching)."""
    english, foreign = alignment.english_word_ids, alignment.foreign_word_ids
    return {(english[i], foreign[j]) for i, j in alignment.plan.nonzero().tolist()}


def agreement(predicted: Links, sure: Links, possible: Links | None = None) -> dict[str, float]:
    """Precision, recall, F1 and alignment error rate of predicted links A against reference links.

    With sure links S and possible links P ⊇ S (Och & Ney 2003): precision |A∩P|/|A|, recall
    |A∩S|/|S|, AER = 1 - (|A∩S| + |A∩P|)/(|A| + |S|). Without ``possible``, P = S and AER = 1 - F1.
    Scores are 0 (AER 1) when A or S is empty.
    """
    possible = sure | (possible or set())
    sure_hits, possible_hits = len(predicted & sure), len(predicted & possible)
    precision = possible_hits / len(predicted) if predicted else 0.0
    recall = sure_hits / len(sure) if sure else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else 0.0
    aer = 1.0 - (sure_hits + possible_hits) / (len(predicted) + len(sure)) if predicted and sure else 1.0
    return {"precision": precision, "recall": recall, "f1": f1, "aer": aer}

"""How well a tokenizer covers a language (pieces per word, [UNK] share, texts cut), and pieces to extend it with."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

UNKNOWN_WARNING = 0.01  # warn when more than 1% of the pieces are [UNK]
CUT_WARNING = 0.01  # warn when more than 1% of the texts are longer than max_length


@dataclass(frozen=True)
class TokenizationReport:
    """One side of a bitext (or a query set) through one tokenizer."""

    side: str
    texts: int
    pieces_per_word: float  # WordPiece pieces per whitespace-separated word
    unknown_share: float  # [UNK] pieces / all pieces: distinct words that collapse onto one embedding
    cut_share: float  # texts with more than max_length tokens (special tokens included) / all texts
    max_length: int

    def summary(self) -> str:
        return (
            f"{self.side}: {self.pieces_per_word:.2f} pieces per word, {self.unknown_share:.2%} [UNK], "
            f"{self.cut_share:.2%} of {self.texts:,} cut at {self.max_length} tokens"
        )

    def problems(self) -> list[str]:
        """What a user should act on: many [UNK] pieces (another student vocabulary), many texts cut."""
        found = []
        if self.unknown_share > UNKNOWN_WARNING:
            found.append(
                f"{self.side}: {self.unknown_share:.1%} of the pieces are [UNK]; distinct words share one "
                "embedding (a student whose vocabulary covers the script avoids this)"
            )
        if self.cut_share > CUT_WARNING:
            found.append(
                f"{self.side}: {self.cut_share:.1%} of the texts are cut at {self.max_length} tokens; "
                "raise --max-length"
            )
        return found


def tokenization_report(tokenizer, texts: list[str], max_length: int, side: str) -> TokenizationReport:
    """Pieces per word, [UNK] share and the share cut at ``max_length`` of ``texts`` under ``tokenizer``."""
    pieces = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    special = tokenizer.num_special_tokens_to_add()
    total = sum(map(len, pieces))
    return TokenizationReport(
        side=side,
        texts=len(texts),
        pieces_per_word=total / max(1, sum(len(text.split()) for text in texts)),
        unknown_share=sum(piece == tokenizer.unk_token_id for ids in pieces for piece in ids) / max(1, total),
        cut_share=sum(len(ids) + special > max_length for ids in pieces) / max(1, len(texts)),
        max_length=max_length,
    )


def fitting_max_length(lengths: list[int], floor: int, max_cut_share: float, step: int = 32) -> int:
    """The smallest of ``floor``, ``floor + step``, ``floor + 2 step``, ... under which at most ``max_cut_share``
    of texts of ``lengths`` tokens (special ones included) are longer, i.e. cut."""
    if not 0 <= max_cut_share < 1:
        raise ValueError(f"max_cut_share must be in [0, 1), got {max_cut_share}")
    ordered = sorted(lengths)
    may_be_cut = int(max_cut_share * len(ordered) + 1e-9)
    needed = ordered[len(ordered) - may_be_cut - 1] if len(ordered) > may_be_cut else 0  # the longest text kept whole
    return floor + step * max(0, -(-(needed - floor) // step))


def warn_about(reports: list[TokenizationReport]) -> None:
    """One warning per problem of :meth:`TokenizationReport.problems`."""
    for report in reports:
        for problem in report.problems():
            warnings.warn(problem, stacklevel=2)


def require_wordpiece(tokenizer) -> None:
    """A ValueError unless ``tokenizer`` is a WordPiece one: only those are extended with learned pieces."""
    model = type(tokenizer.backend_tokenizer.model).__name__
    if model != "WordPiece":
        raise ValueError(
            f"extending a vocabulary learns WordPiece pieces, and this tokenizer is {model} "
            "(multilingual-e5-small's is a SentencePiece Unigram): train without extend_vocabulary"
        )


def learn_pieces(tokenizer, texts: list[str], vocab_size: int) -> list[str]:
    """The pieces of a WordPiece vocabulary of ``vocab_size`` learned on ``texts`` that ``tokenizer`` lacks.

    The new vocabulary is trained with the tokenizer's own normaliser and pre-tokeniser
    (``train_new_from_iterator``), so its pieces fit the student's tokenisation; they come in the
    learned vocabulary's order. A tokenizer that is not WordPiece is refused (:func:`require_wordpiece`).
    """
    require_wordpiece(tokenizer)
    learned = tokenizer.train_new_from_iterator(texts, vocab_size=vocab_size)
    known = tokenizer.get_vocab()
    return [piece for piece, _ in sorted(learned.get_vocab().items(), key=lambda item: item[1]) if piece not in known]

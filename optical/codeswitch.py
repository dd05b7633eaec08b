"""A word lexicon induced from bitext, and what it makes: code-switched and word-by-word translated text.

The lexicon maps a foreign word to the English word eflomal links it to most often in the
training bitext (a statistical bilingual dictionary: the offline stand-in for a dictionary or an
MT system). Words are those of the encoders' pre-tokeniser (lower-cased for the packaged model).
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from pathlib import Path

from optical.data.bitext import BitextPair
from optical.files import write_atomically
from optical.word_alignment import eflomal_links, pretokenize

Lexicon = dict[str, str]  # foreign word -> English word


def link_counts(pairs: list[BitextPair], tokenizer) -> dict[str, Counter]:
    """Foreign word -> how often eflomal (intersected links) links it to each English word, over ``pairs``."""
    english = [pretokenize(tokenizer, pair.english) for pair in pairs]
    foreign = [pretokenize(tokenizer, pair.foreign) for pair in pairs]
    counts: dict[str, Counter] = defaultdict(Counter)
    for links, english_words, foreign_words in zip(eflomal_links(english, foreign), english, foreign, strict=True):
        for i, j in links:
            counts[foreign_words[j]][english_words[i]] += 1
    return counts


def ranked_links(linked: Counter) -> list[tuple[str, int]]:
    """A foreign word's linked English words, most links first and ties alphabetically: the order cannot
    depend on whether the counts were just computed or read back from JSON (``Counter.most_common`` keeps
    insertion order among ties, and JSON is written with sorted keys)."""
    return sorted(linked.items(), key=lambda item: (-item[1], item[0]))


def induce_lexicon(pairs: list[BitextPair], tokenizer, *, min_count: int = 3, cache: Path | None = None) -> Lexicon:
    """Foreign word -> its most frequently linked English word, over ``pairs`` (eflomal, intersected links).

    A word needs ``min_count`` links to its best translation. eflomal takes no seed, so a lexicon is
    computed once and kept in ``cache`` (JSON) when one is given.
    """
    if cache is not None and cache.exists():
        return json.loads(cache.read_text(encoding="utf-8"))
    lexicon = {}
    for word, translations in link_counts(pairs, tokenizer).items():
        best, count = ranked_links(translations)[0]
        if count >= min_count and best.isalpha():
            lexicon[word] = best
    if cache is not None:
        text = json.dumps(lexicon, ensure_ascii=False, sort_keys=True)
        write_atomically(cache, lambda file: file.write_text(text, encoding="utf-8"))
    return lexicon


def translate_words(text: str, lexicon: Lexicon, tokenizer) -> str:
    """Word-by-word translation: every word the lexicon knows becomes English, the rest (names) stays."""
    return " ".join(lexicon.get(word, word) for word in pretokenize(tokenizer, text))


def code_switch(text: str, lexicon: Lexicon, tokenizer, *, rate: float, seed: int) -> str:
    """Switch ``rate`` of the words (rounded; only words the lexicon knows can switch) to English.

    The words to switch are drawn with ``seed``; ``rate`` 0 returns the pre-tokenised text unchanged.
    """
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    words = pretokenize(tokenizer, text)
    switchable = [k for k, word in enumerate(words) if word in lexicon]
    count = min(len(switchable), round(rate * len(words)))
    chosen = set(random.Random(seed).sample(switchable, count))
    return " ".join(lexicon[word] if k in chosen else word for k, word in enumerate(words))

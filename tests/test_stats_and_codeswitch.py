"""Paired significance against exact enumeration; code-switching and word-by-word translation."""

import itertools

import numpy as np
import pytest
from transformers import AutoTokenizer

from optical.codeswitch import code_switch, translate_words
from optical.encoders import resolve_model_dir
from optical.stats import paired_randomization_test


def exact_p_value(a, b) -> float:
    """Every one of the 2^Q sign assignments, the test's definition without sampling."""
    differences = np.asarray(a) - np.asarray(b)
    observed = abs(differences.mean())
    flips = np.array(list(itertools.product([-1, 1], repeat=len(differences))))
    return float(np.mean(np.abs((flips * differences).mean(1)) >= observed - 1e-12))


@pytest.mark.parametrize("seed", range(4))
def test_randomization_test_matches_exact_enumeration(seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 1, 12)
    b = a - rng.normal(0.05 * seed, 0.1, 12)
    assert paired_randomization_test(a, b, trials=20_000) == pytest.approx(exact_p_value(a, b), abs=0.015)


def test_randomization_test_edges():
    a = np.linspace(0, 1, 50)
    assert paired_randomization_test(a, a) == 1.0  # identical systems
    assert paired_randomization_test(a + 0.1, a, trials=999) == pytest.approx(1 / 1000)  # every query better
    with pytest.raises(ValueError, match="equal-length"):
        paired_randomization_test(a, a[:-1])


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(resolve_model_dir("all-MiniLM-L6-v2"))


LEXICON = {"mulungu": "god", "ndi": "and", "dziko": "earth"}


def test_code_switching_switches_the_given_share_of_known_words(tokenizer):
    text = "Mulungu analenga dziko ndi kumwamba."
    assert code_switch(text, LEXICON, tokenizer, rate=0.0, seed=1) == "mulungu analenga dziko ndi kumwamba ."
    assert code_switch(text, LEXICON, tokenizer, rate=1.0, seed=1) == "god analenga earth and kumwamba ."
    once = code_switch(text, LEXICON, tokenizer, rate=0.34, seed=7)  # round(0.34 * 6 words) = 2 switched
    assert once == code_switch(text, LEXICON, tokenizer, rate=0.34, seed=7)
    assert sum(word in LEXICON.values() for word in once.split()) == 2
    with pytest.raises(ValueError, match="rate"):
        code_switch(text, LEXICON, tokenizer, rate=1.5, seed=0)


def test_word_by_word_translation_keeps_unknown_words(tokenizer):
    assert translate_words("Mulungu ndi Yesu", LEXICON, tokenizer) == "god and yesu"

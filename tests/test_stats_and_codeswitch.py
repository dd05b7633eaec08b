"""Paired significance against exact enumeration, the seed-and-query bootstrap against scipy's, Holm against
statsmodels; code-switching and word-by-word translation."""

import itertools

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from transformers import AutoTokenizer

from optical.codeswitch import code_switch, translate_words
from optical.encoders import resolve_model_dir
from optical.stats import holm, paired_randomization_test, seed_query_bootstrap


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


def test_seed_query_bootstrap_with_one_seed_is_the_paired_query_bootstrap():
    rng = np.random.default_rng(3)
    a = rng.uniform(0, 1, 400)
    b = np.clip(a - rng.normal(0.03, 0.15, 400), 0, 1)
    ours = seed_query_bootstrap(a[None], b[None], replicates=20_000)
    reference = stats.bootstrap((a - b,), np.mean, method="percentile", n_resamples=20_000, random_state=0)
    width = reference.confidence_interval.high - reference.confidence_interval.low
    assert ours["difference"] == pytest.approx(np.mean(a - b))
    assert ours["low"] == pytest.approx(reference.confidence_interval.low, abs=0.05 * width)
    assert ours["high"] == pytest.approx(reference.confidence_interval.high, abs=0.05 * width)
    assert ours["p"] < 0.01 and ours["low"] > 0  # a clear shift: the interval leaves 0 out


def test_seed_query_bootstrap_carries_the_seed_spread():
    base = np.random.default_rng(4).uniform(0, 1, 300)
    spread = base + np.array([[-0.05], [0.0], [0.05]])  # three seeds that differ by 0.05 on every query
    steady = np.tile(base + 0.01, (3, 1))  # 0.01 above spread's seed mean on every query, no seed spread
    assert paired_randomization_test(steady.mean(0), spread.mean(0)) < 0.001  # seed means only: "significant"
    both = seed_query_bootstrap(steady, spread)
    assert both["difference"] == pytest.approx(0.01)
    assert both["p"] > 0.2 and both["low"] < 0 < both["high"]  # with the seeds: 0.01 is within their spread
    itself = seed_query_bootstrap(spread, spread)  # the same runs, but their seeds drawn apart: not paired
    assert itself["difference"] == 0 and itself["p"] == 1 and itself["low"] == pytest.approx(-itself["high"], abs=0.01)


def test_seed_query_bootstrap_interval_covers_the_true_difference():
    rng = np.random.default_rng(5)
    covered = []
    for trial in range(200):  # queries of varied difficulty, a seed effect, per-query noise; true difference 0.02
        difficulty = rng.uniform(0, 1, 80)
        a = difficulty + 0.02 + rng.normal(0, 0.02, (4, 1)) + rng.normal(0, 0.1, (4, 80))
        b = difficulty + rng.normal(0, 0.02, (4, 1)) + rng.normal(0, 0.1, (4, 80))
        interval = seed_query_bootstrap(a, b, replicates=2_000, seed=trial)
        covered.append(interval["low"] <= 0.02 <= interval["high"])
    assert 0.85 <= np.mean(covered) <= 0.99  # about 95%, a little less: 4 seeds under-state their spread


def test_seed_query_bootstrap_refuses_bad_input():
    a = np.zeros((2, 5))
    with pytest.raises(ValueError, match="same, non-empty queries"):
        seed_query_bootstrap(a, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="finite"):
        seed_query_bootstrap(a, np.full((2, 5), np.nan))


@pytest.mark.parametrize("seed", range(5))
def test_holm_matches_statsmodels(seed):
    rng = np.random.default_rng(seed)
    p_values = np.concatenate([rng.uniform(0, 0.1, 6), rng.uniform(0, 1, 6), [1.0, 1e-4, 1e-4]])  # ties, a 1
    rng.shuffle(p_values)
    expected = multipletests(p_values, method="holm")[1]
    np.testing.assert_allclose(holm(p_values), expected)
    assert holm(np.array([])).shape == (0,)


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

"""Lexical CLIR: BM25 against its formula, the translation table's weights, fusion on hand-made runs."""

import math
from collections import Counter

import numpy as np
import pytest
from transformers import AutoTokenizer

from optical.codeswitch import induce_lexicon
from optical.encoders import resolve_model_dir
from optical.fusion import reciprocal_rank_fusion, score_fusion
from optical.lexical import BM25Settings, LexicalSearch, translate_query, translation_table

DOCUMENTS = {
    "d1": "apple apple banana",
    "d2": "banana cherry cherry cherry and the banana",
    "d3": "the cherry",
    "d4": "durian",
}


def lucene_bm25(term: str, documents: dict[str, list[str]], k1: float, b: float) -> dict[str, float]:
    """BM25(t, d) by the formula of optical.lexical's docstring, on already analysed documents."""
    n, average = len(documents), np.mean([len(words) for words in documents.values()])
    df = sum(term in words for words in documents.values())
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return {
        docid: idf * words.count(term) / (words.count(term) + k1 * (1 - b + b * len(words) / average))
        for docid, words in documents.items()
    }


@pytest.mark.parametrize(("k1", "b"), [(1.2, 0.75), (0.9, 0.4), (2.0, 1.0)])
def test_bm25_scores_follow_the_formula_with_weights(k1, b):
    search = LexicalSearch(DOCUMENTS, BM25Settings(k1=k1, b=b, stem=False))
    analysed = {docid: [w for w in text.split() if w not in ("and", "the")] for docid, text in DOCUMENTS.items()}
    query = {"apple": 0.25, "cherry": 2.0, "Banana": 1.0, "unseen": 5.0, "the": 3.0}  # stop words and unseen drop out
    expected = np.zeros(len(DOCUMENTS))
    for word, weight in query.items():
        scores = lucene_bm25(word.lower(), analysed, k1, b)
        expected += weight * np.array([scores[docid] for docid in search.ids])
    np.testing.assert_allclose(search.scores(query), expected, rtol=1e-5)
    np.testing.assert_array_equal(search.scores({}), np.zeros(len(DOCUMENTS)))
    run = search.search({"q": query}, depth=2)["q"]
    assert list(run) == ["d2", "d3"]  # cherry x 2 weighs most: 3 cherries in d2 beat d3's one


def test_stemming_matches_inflections():
    search = LexicalSearch({"d1": "the lords of the vineyards", "d2": "a vine"}, BM25Settings(stem=True))
    assert search.scores({"lord": 1.0})[0] > 0 and search.scores({"vineyard": 1.0})[0] > 0
    assert LexicalSearch({"d1": "lords"}, BM25Settings(stem=False)).scores({"lord": 1.0})[0] == 0


def test_no_documents_is_an_error():
    with pytest.raises(ValueError, match="no documents"):
        LexicalSearch({})


COUNTS = {
    "mulungu": Counter({"god": 40, "lord": 8, "the": 2}),  # 'the' under min_count
    "ndi": Counter({"and": 30, ",": 12, "is": 9}),  # ',' is not a word
    "kuti": Counter({",": 20, "that": 10}),  # best link punctuation: untranslated, as in the lexicon
    "yesu": Counter({"jesus": 2}),  # too rare
}


@pytest.mark.parametrize("translations", [1, 2, 3])
def test_translation_weights_sum_to_one_and_start_from_the_lexicon(translations):
    table = translation_table(COUNTS, translations=translations)
    assert set(table) == {"mulungu", "ndi"}
    for entries in table.values():
        assert len(entries) <= translations
        assert math.isclose(sum(weight for _, weight in entries), 1.0)
        assert [weight for _, weight in entries] == sorted((weight for _, weight in entries), reverse=True)
    assert table["mulungu"][0][0] == "god" and table["ndi"][0][0] == "and"
    if translations >= 2:
        assert table["mulungu"] == [("god", 40 / 48), ("lord", 8 / 48)]
        assert table["ndi"] == [("and", 30 / 39), ("is", 9 / 39)]
    with pytest.raises(ValueError):
        translation_table(COUNTS, translations=0)


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(resolve_model_dir("all-MiniLM-L6-v2"))


def test_one_best_table_is_the_induced_lexicon(monkeypatch, tokenizer):
    import optical.codeswitch

    monkeypatch.setattr(optical.codeswitch, "link_counts", lambda pairs, tokenizer: COUNTS)
    lexicon = induce_lexicon([], tokenizer)
    assert {word: entries[0][0] for word, entries in translation_table(COUNTS, translations=1).items()} == lexicon


def test_tied_links_rank_alphabetically_whatever_order_the_counts_come_in(monkeypatch, tokenizer):
    """Counts just induced and counts read back from JSON (sorted keys) must translate alike."""
    import optical.codeswitch

    tied = [("word", 5), ("said", 5), ("speech", 5), ("talk", 3)]
    for order in (tied, tied[::-1]):
        counts = {"mawu": Counter(dict(order))}
        assert translation_table(counts, translations=2)["mawu"] == [("said", 0.5), ("speech", 0.5)]
        monkeypatch.setattr(optical.codeswitch, "link_counts", lambda pairs, tokenizer, counts=counts: counts)
        assert induce_lexicon([], tokenizer) == {"mawu": "said"}


def test_query_translation_weighs_repeats_and_keeps_unknown_words(tokenizer):
    table = translation_table(COUNTS, translations=2)
    query = translate_query("Mulungu ndi Yesu, mulungu", table, tokenizer)
    expected = {"god": 2 * 40 / 48, "lord": 2 * 8 / 48, "and": 30 / 39, "is": 9 / 39, "yesu": 1.0, ",": 1.0}
    assert query == pytest.approx(expected)


RUN_A = {"q1": {"a": 3.0, "b": 2.0, "c": 1.0}, "q2": {"x": 1.0}}
RUN_B = {"q1": {"c": 0.9, "a": 0.5, "d": 0.1}}


def test_reciprocal_rank_fusion_by_hand():
    fused = reciprocal_rank_fusion([RUN_A, RUN_B], [1.0, 2.0], k=1)
    assert fused["q1"] == pytest.approx({"a": 1 / 2 + 2 / 3, "b": 1 / 3, "c": 1 / 4 + 2 / 2, "d": 2 / 4})
    assert list(fused["q1"]) == ["c", "a", "d", "b"]
    assert fused["q2"] == pytest.approx({"x": 1 / 2})
    assert list(reciprocal_rank_fusion([RUN_A], k=1, depth=2)["q1"]) == ["a", "b"]


def test_score_fusion_by_hand():
    fused = score_fusion([RUN_A, RUN_B], [0.5, 1.0])
    assert fused["q1"] == pytest.approx({"a": 0.5 + 0.5, "b": 0.25, "c": 0.0 + 1.0, "d": 0.0})
    assert fused["q2"] == {"x": 0.5}  # one score: normalises to 1
    with pytest.raises(ValueError, match="2 weights for 1 runs"):
        score_fusion([RUN_A], [1.0, 2.0])
    with pytest.raises(ValueError, match="no runs"):
        reciprocal_rank_fusion([])


def test_fuse_checks_method_and_weights():
    from optical.systems import fuse

    assert fuse("score", [RUN_A, RUN_B], [0.0, 1.0])["q1"] == pytest.approx({"a": 0.5, "c": 1.0, "d": 0.0})
    assert fuse("rrf", [RUN_A, RUN_B], [1.0, 0.0]) == reciprocal_rank_fusion([RUN_A])  # d is left out too
    with pytest.raises(ValueError, match="fusion must be one of"):
        fuse("max", [RUN_A, RUN_B], [0.5, 0.5])
    with pytest.raises(ValueError, match="sum to one"):
        fuse("rrf", [RUN_A, RUN_B], [1.5, -0.5])
    with pytest.raises(ValueError, match="sum to one"):
        fuse("rrf", [RUN_A, RUN_B], [0.5, 0.6])


LEXICAL, DENSE, STUDENT = ("bm25", "bm25"), ("translate-encode", "maxsim"), ("ot", "dense")


def test_a_fusion_is_extended_by_scaling_the_weights_it_has():
    from optical.systems import Fusion

    pair = Fusion((LEXICAL,), (1.0,)).extended(DENSE, 0.4)
    assert pair.systems == (LEXICAL, DENSE) and pair.weights == pytest.approx((0.6, 0.4))
    triple = pair.extended(STUDENT, 0.5)
    assert triple.weights == pytest.approx((0.3, 0.2, 0.5)) and sum(triple.weights) == pytest.approx(1.0)
    assert triple.name == "bm25 + translate-encode maxsim + ot dense (0.2, 0.5)"
    assert pair.extended(STUDENT, 0.0).weights == pytest.approx((0.6, 0.4, 0.0))


def test_a_fusion_with_a_seeded_system_fuses_each_seed_with_the_unseeded_runs():
    from optical.systems import Fusion, fuse

    student_runs = {0: RUN_B, 1: {"q1": {"b": 1.0, "d": 0.5}}}
    runs = {LEXICAL: {0: RUN_A}, STUDENT: student_runs}
    fusion = Fusion((LEXICAL, STUDENT), (0.5, 0.5), "score")
    fused = fusion.runs(runs)
    assert list(fused) == [0, 1]
    for seed in (0, 1):
        assert fused[seed] == fuse("score", [RUN_A, student_runs[seed]], [0.5, 0.5])
    assert list(Fusion((LEXICAL,), (1.0,)).runs(runs)) == [0]


def _systems_on(qrels, tmp_path):
    """BitextSystems over a hand-made collection: evaluation needs no teacher or bitext."""
    from optical.data.collection import CLIRCollection
    from optical.systems import BitextSystems

    collection = CLIRCollection("toy", {qid: "" for qid in qrels}, {}, qrels)
    return BitextSystems([], collection, counts_cache=tmp_path / "counts.json", teacher=object())


def test_systems_are_evaluated_per_seed_and_averaged_per_query(tmp_path):
    from optical.systems import Fusion, evaluate_systems, fusion_grid

    systems = _systems_on({"q1": {"a": 1}, "q2": {"x": 1}}, tmp_path)
    good, bad = {"q1": {"a": 2.0, "c": 1.0}, "q2": {"x": 1.0}}, {"q1": {"c": 2.0, "a": 1.0}, "q2": {"y": 1.0}}
    per_query, per_seed = evaluate_systems(systems, {STUDENT: {0: good, 1: bad}, LEXICAL: {0: good}}, ("MAP",))
    assert per_query[STUDENT].MAP.to_dict() == pytest.approx({"q1": (1 + 0.5) / 2, "q2": (1 + 0) / 2})
    assert per_seed[per_seed.system == "ot"].set_index("seed").MAP.to_dict() == pytest.approx({0: 1.0, 1: 0.25})
    assert per_seed[per_seed.system == "bm25"].MAP.tolist() == pytest.approx([1.0])

    runs = {LEXICAL: {0: bad}, DENSE: {0: good}, STUDENT: {0: bad, 1: bad}}
    grid = fusion_grid(systems, runs, [Fusion((LEXICAL,), (1.0,))], [DENSE, STUDENT], [0.0, 0.9])
    assert grid.iloc[0].candidate == DENSE and grid.iloc[0].weight == 0.9 and grid.iloc[0].MAP == pytest.approx(1.0)
    nothing_added = grid[grid.weight == 0.0]
    assert nothing_added.MAP.tolist() == pytest.approx([0.25, 0.25])  # the base alone, none of good's documents
    assert fusion_grid(systems, runs, [Fusion((LEXICAL,), (1.0,))], [], [0.5]).empty  # no student to add


def test_systems_are_compared_with_the_dev_chosen_one_by_paired_tests_holm_adjusted():
    import pandas as pd

    from optical.systems import compare_systems, systems_results_rows

    queries = [f"q{k}" for k in range(40)]
    rng = np.random.default_rng(0)
    strong = pd.DataFrame({"MAP": rng.uniform(0.5, 1, 40), "R@10": 1.0}, index=queries)
    weak = pd.DataFrame({"MAP": strong.MAP - 0.3, "R@10": 0.5}, index=queries[::-1])  # other order: aligned by id
    same = strong.assign(MAP=strong.MAP + rng.choice([-0.01, 0.01], 40) - 0.001)  # a coin flip away from strong
    per_query = {("weak", "dense"): weak, ("strong", "bm25"): strong, ("same", "maxsim"): same}
    table = compare_systems(per_query, ("MAP",), reference=("strong", "bm25"))
    assert list(table.index) == [("strong", "bm25"), ("same", "maxsim"), ("weak", "dense")]
    assert np.isnan(table.p.iloc[0]) and table.p.iloc[2] < 0.001 and table.p.iloc[1] > 0.001
    assert (table["p (Holm)"].iloc[1:] >= table.p.iloc[1:]).all() and table["p (Holm)"].iloc[1:].max() <= 1
    assert table["p (Holm)"].iloc[2] == pytest.approx(min(1, 2 * table.p.iloc[2]))  # the smaller p of two, times 2
    by_dev = compare_systems(per_query, ("MAP",), reference=("weak", "dense"))  # the test best is not the reference
    assert np.isnan(by_dev.p[("weak", "dense")]) and by_dev.p[("strong", "bm25")] < 0.001

    per_seed = pd.DataFrame(
        {"system": ["ot", "ot", "zero-shot"], "scoring": "dense", "seed": [0, 1, 0], "bitext pairs": [100, 100, 0]}
        | {"MAP": [0.5, 0.7, 0.1]}
    )
    setting = {"bitext": "bible", "teacher": "t", "student": "s"}
    rows = systems_results_rows(per_seed, ("MAP",), study="s", language="ny", split="dev", setting=setting)
    assert list(rows.seed) == [0, 1, 0] and list(rows.train_pairs) == [100, 100, 0]
    assert rows.loc[:, list(setting)].drop_duplicates().to_dict("records") == [setting]
    assert list(rows.value) == [0.5, 0.7, 0.1] and set(rows.measure) == {"MAP"} and set(rows.epochs) == {0}


def test_the_bible_systems_keep_their_link_counts_beside_the_records(tmp_path, monkeypatch):
    """eflomal takes no seed: best_system's lexicon is read from the committed records, not induced again."""
    from optical import systems
    from optical.task import Task

    keep_arguments = lambda self, training, collection, **kw: setattr(self, "kw", kw)  # noqa: E731 (no teacher loaded)
    monkeypatch.setattr(systems.BitextSystems, "__init__", keep_arguments)
    name = "lexicons/en-ny-200-seed1.counts.json"
    cached = tmp_path / "cache" / name
    cached.parent.mkdir(parents=True)
    cached.write_text('{"moni": {"hello": 3}}')
    task = Task("ny", split="dev", bible_collections=("verse",), num_queries=5)
    kept = systems.BitextSystems.for_task(
        task, train_pairs=200, seed=1, work_dir=tmp_path / "cache", records_dir=tmp_path / "runs"
    ).kw["counts_cache"]
    assert kept == tmp_path / "runs" / name and kept.read_text() == cached.read_text()
    alone = systems.BitextSystems.for_task(task, train_pairs=200, seed=1, work_dir=tmp_path / "cache")
    assert alone.kw["counts_cache"] == cached


def test_the_systems_of_a_users_bitext_name_their_lexicon_by_its_pairs(tmp_path, monkeypatch):
    from optical import systems
    from optical.task import Task

    monkeypatch.setattr(
        systems.BitextSystems, "__init__", lambda self, training, collection, **kw: setattr(self, "kw", kw)
    )
    tsv = tmp_path / "my.tsv"
    tsv.write_text("".join(f"the house {i}\tnyumba {i}\n" for i in range(40)), encoding="utf-8")
    task = Task("ny", split="dev", train_bitext=str(tsv), bible_collections=("verse",), num_queries=5)
    first = systems.BitextSystems.for_task(task, train_pairs=20, seed=0, work_dir=tmp_path).kw["counts_cache"]
    again = systems.BitextSystems.for_task(task, train_pairs=20, seed=0, work_dir=tmp_path).kw["counts_cache"]
    other = systems.BitextSystems.for_task(task, train_pairs=20, seed=1, work_dir=tmp_path).kw["counts_cache"]
    assert first.name.startswith("pairs-") and first == again and other != first  # other pairs, another lexicon

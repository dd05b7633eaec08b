"""The main job's collections: groups scored apart, names checked, the WEB collections optional, graded qrels."""

import random

import ir_measures
import pytest
from ir_measures import AP, RR, R, nDCG

import optical.benchmark
from optical.benchmark import Benchmark, bible_benchmarks
from optical.data.bible import WEB_MODULE, _module_installed
from optical.data.collection import CLIRCollection
from optical.data.naves import NAVE_PATH
from optical.metrics import evaluate

web_and_naves = pytest.mark.skipif(
    not (_module_installed(WEB_MODULE[0]) and NAVE_PATH.with_suffix(".idx").exists()),
    reason="Debian sword-text-web and sword-dict-naves are not installed (make install as root)",
)


def random_run(collection: CLIRCollection, seed: int, depth: int = 200) -> dict[str, dict[str, float]]:
    """Random scores on a coarse grid (ties) over ``depth`` random documents a query; some queries left out."""
    rng = random.Random(seed)
    documents = list(collection.documents)
    return {
        qid: {docid: round(rng.random(), 2) for docid in rng.sample(documents, min(depth, len(documents)))}
        for qid in collection.queries
        if rng.random() > 0.1
    }


def test_groups_score_the_mean_of_their_queries():
    collection = CLIRCollection(
        "c",
        {"q1": "a", "q2": "b", "q3": "c"},
        {f"d{i}": "x" for i in range(6)},
        {"q1": {"d1": 1, "d2": 1}, "q2": {"d3": 2}, "q3": {"d4": 1, "d5": 0}},
    )
    benchmark = Benchmark("topical-test", collection, {"name": ("q1",), "subject": ("q2", "q3")})
    run = {"q1": {"d2": 3.0, "d0": 2.0, "d1": 1.0}, "q2": {"d3": 1.0}, "q3": {"d0": 1.0, "d4": 0.5}}
    scores = benchmark.scores(run)
    _, per_query = evaluate(collection.qrels, run, benchmark.measures, per_query=True)
    assert set(scores) == {"topical-test", "topical-test/name", "topical-test/subject"}
    assert scores["topical-test/name"]["MAP"] == pytest.approx((1 + 2 / 3) / 2)
    assert scores["topical-test/subject"]["MAP"] == pytest.approx((per_query["MAP"]["q2"] + 0.5) / 2)
    assert scores["topical-test"]["MAP"] == pytest.approx(sum(per_query["MAP"].values()) / 3)


def test_unknown_collections_are_refused_and_missing_web_data_leaves_out_its_collections(monkeypatch):
    with pytest.raises(ValueError, match="unknown collections \\['topic'\\]"):
        bible_benchmarks("ny", "dev", ("verse", "topic"))

    def not_installed(*args, **kwargs):
        raise FileNotFoundError("the SWORD module engWEB2015eb is not installed: sudo apt-get install sword-text-web")

    monkeypatch.setattr(optical.benchmark, "read_sword_module", not_installed)
    with pytest.warns(UserWarning, match="left out: .*apt-get install sword-text-web"):
        benchmarks = bible_benchmarks("ny", "dev", num_queries=20)
    assert [benchmark.label for benchmark in benchmarks] == ["dev"]


@web_and_naves
@pytest.mark.filterwarnings("ignore::optical.metrics.TrecWarning")
def test_the_packaged_collections_evaluate_as_trec_eval_does_graded_qrels_included():
    """The paraphrase collection's grades (2 own verse, 1 parallel) are nDCG gains: checked against ir_measures on
    random runs over the real paraphrase and topical collections of en-ny's dev books."""
    benchmarks = bible_benchmarks("ny", "dev", ("paraphrase", "topical"), num_queries=60)
    assert [benchmark.label for benchmark in benchmarks] == ["paraphrase-dev", "topical-dev"]
    paraphrase, topical = benchmarks
    assert {2, 1} <= {grade for judged in paraphrase.collection.qrels.values() for grade in judged.values()}
    assert set(topical.groups) <= {"name", "subject", "mixed"}
    assert sorted(q for qids in topical.groups.values() for q in qids) == sorted(topical.collection.queries)
    reference = {"MAP": AP, "nDCG@10": nDCG @ 10, "R@100": R @ 100, "MRR": RR}
    for seed, benchmark in enumerate(benchmarks):
        run = random_run(benchmark.collection, seed)
        means = evaluate(benchmark.collection.qrels, run, tuple(reference))
        expected = ir_measures.calc_aggregate(list(reference.values()), benchmark.collection.qrels, run)
        for name, measure in reference.items():
            assert means[name] == pytest.approx(expected[measure], abs=1e-9), (benchmark.label, name)

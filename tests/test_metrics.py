"""optical.metrics against ir_measures (trec_eval through pytrec_eval), on adversarial random runs."""

import random

import ir_measures
import pytest
from ir_measures import AP, RR, P, R, nDCG

from optical.metrics import DEFAULT_MEASURES, TrecWarning, evaluate, rank, read_qrels, read_run, write_qrels, write_run

# The random cases hold run-only and unranked queries on purpose; their warnings are tested below.
pytestmark = pytest.mark.filterwarnings("ignore::optical.metrics.TrecWarning")

REFERENCE = {"MAP": AP, "nDCG@10": nDCG @ 10, "P@5": P @ 5, "R@10": R @ 10, "MRR": RR, "nDCG@3": nDCG @ 3, "P@1": P @ 1}


def random_case(seed: int):
    """Graded qrels (0-3), ties (scores on a coarse grid), queries without relevant documents,
    retrieved documents missing from the qrels, judged queries missing from the run, run-only
    queries, and empty rankings."""
    rng = random.Random(seed)
    docs = [f"d{i:03d}" for i in range(60)]
    qrels, run = {}, {}
    for q in range(25):
        qid = f"q{q}"
        judged = rng.sample(docs, rng.randint(1, 12))
        qrels[qid] = {doc: rng.choice([0, 0, 1, 2, 3]) for doc in judged}
        if q % 7 == 0:
            qrels[qid] = {doc: 0 for doc in judged}  # no relevant document
        if q % 5 == 4:
            continue  # judged, never retrieved
        retrieved = rng.sample(docs, rng.randint(0, 40))  # may be empty
        run[qid] = {doc: round(rng.random(), 1) for doc in retrieved}  # many ties
    run["unjudged"] = {"d001": 1.0}
    return qrels, run


@pytest.mark.parametrize("seed", range(8))
def test_evaluate_matches_ir_measures(seed):
    qrels, run = random_case(seed)
    names = list(DEFAULT_MEASURES) + ["nDCG@3", "P@1"]
    means, per_query = evaluate(qrels, run, names, per_query=True)
    reference = ir_measures.calc_aggregate([REFERENCE[name] for name in names], qrels, run)
    for name in names:
        assert means[name] == pytest.approx(reference[REFERENCE[name]], abs=1e-9), name
    for row in ir_measures.iter_calc([REFERENCE[name] for name in names], qrels, run):
        name = next(key for key, measure in REFERENCE.items() if measure == row.measure and key in names)
        assert per_query[name][row.query_id] == pytest.approx(row.value, abs=1e-9), (name, row.query_id)


def test_ties_break_by_descending_docid_and_depth_cuts():
    assert rank({"a": 1.0, "c": 1.0, "b": 2.0, "d": 0.5}) == ["b", "c", "a", "d"]
    assert rank({"a": 1.0, "c": 1.0, "b": 2.0}, depth=2) == ["b", "c"]
    # the relevant document sits at rank 3 of 3, so a depth of 2 loses it
    qrels, run = {"q": {"a": 1}}, {"q": {"a": 1.0, "c": 1.0, "b": 2.0}}
    assert evaluate(qrels, run, ["MRR"])["MRR"] == pytest.approx(1 / 3)
    assert evaluate(qrels, run, ["MRR"], depth=2)["MRR"] == 0.0


def test_unknown_measure_and_empty_qrels_raise():
    with pytest.raises(ValueError, match="unknown measures"):
        evaluate({"q": {"a": 1}}, {}, ["MAP@5"])
    with pytest.raises(ValueError, match="empty"):
        evaluate({}, {"q": {"a": 1.0}})


def test_trec_files_round_trip(tmp_path):
    qrels, run = random_case(0)
    assert read_qrels(write_qrels(qrels, tmp_path / "qrels.txt")) == qrels
    back = read_run(write_run(run, tmp_path / "run.trec"))
    assert back == {qid: scores for qid, scores in run.items() if scores}  # empty rankings write no line
    assert evaluate(qrels, back) == evaluate(qrels, run)


@pytest.mark.parametrize(
    "reader, text, message",
    [
        (read_qrels, "q1 0 d1 1\nq1 0 d2\n", r"qrels.txt:2: a qrels line has 4 fields, found 3"),
        (read_qrels, "q1 0 d1 high\n", r"qrels.txt:1: relevance 'high' is not an integer"),
        (read_run, "q1 Q0 d1 1 0.5 tag\nq1 Q0 d2 2 x tag\n", r"qrels.txt:2: score 'x' is not a number"),
    ],
)
def test_malformed_trec_lines_name_file_and_line(tmp_path, reader, text, message):
    path = tmp_path / "qrels.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        reader(path)


@pytest.mark.parametrize(
    "reader, text",
    [
        (read_qrels, "q1 0 d1 1\nq1 0 d2 0\nq1 0 d1 0\n"),
        (read_run, "q1 Q0 d1 1 0.5 t\nq1 Q0 d2 2 0.4 t\nq1 Q0 d1 3 0.1 t\n"),
    ],
)
def test_repeated_trec_entries_are_reported_and_the_last_kept(tmp_path, reader, text):
    path = tmp_path / "file.txt"
    path.write_text(text)
    with pytest.warns(TrecWarning, match=r"file.txt: 1 repeated .* line 3 \(q1 d1\)"):
        table = reader(path)
    assert table["q1"]["d1"] == 0 if reader is read_qrels else table["q1"]["d1"] == 0.1


def test_unknown_and_unranked_queries_are_reported():
    qrels = {"q1": {"d1": 1}, "q2": {"d1": 1}}
    run = {"q1": {"d1": 1.0}, "q9": {"d1": 1.0}}
    with pytest.warns(TrecWarning) as caught:
        means = evaluate(qrels, run, ["MAP"])
    messages = sorted(str(warning.message) for warning in caught)
    assert messages == [
        "1 judged queries have no ranking and score 0: q2",
        "1 run queries are not in the qrels and are ignored: q9",
    ]
    assert means == {"MAP": 0.5}

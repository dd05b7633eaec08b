"""Passages and MaxP, ColBERT MaxSim and FAISS indexes, each against a brute-force reference."""

import pytest
import torch
import torch.nn.functional as F

from optical.index import VectorIndex, cached_index
from optical.late_interaction import maxsim_scores, maxsim_search
from optical.passages import document_of, max_passage, split_passages
from optical.retrieval import dense_search


def test_passages_cover_every_word_with_the_given_window_and_stride():
    words = [f"w{i}" for i in range(23)]
    passages = split_passages({"d": " ".join(words), "short": "only three words"}, window=10, stride=5)
    assert list(passages) == ["d#0", "d#1", "d#2", "d#3", "short#0"]
    assert [p.split()[0] for k, p in passages.items() if k.startswith("d#")] == [
        "w0",
        "w5",
        "w10",
        "w13",
    ]  # last ends at w22
    assert all(len(p.split()) == 10 for k, p in passages.items() if k.startswith("d#"))
    assert {w for k, p in passages.items() if k.startswith("d#") for w in p.split()} == set(words)
    assert document_of("LA#01#3") == "LA#01"  # ids that hold the separator themselves
    with pytest.raises(ValueError, match="stride"):
        split_passages({"d": "x"}, window=4, stride=5)


def test_max_passage_equals_brute_force():
    generator = torch.Generator().manual_seed(0)
    scores = torch.rand(3, 40, generator=generator)
    passage_ids = [f"doc{j % 7}#{j // 7}" for j in range(40)]
    run = {f"q{i}": dict(zip(passage_ids, scores[i].tolist(), strict=True)) for i in range(3)}
    documents = max_passage(run, depth=5)
    for i in range(3):
        expected = {f"doc{d}": max(scores[i, j].item() for j in range(40) if j % 7 == d) for d in range(7)}
        top = sorted(expected.items(), key=lambda item: item[1], reverse=True)[:5]
        assert list(documents[f"q{i}"].items()) == top


def random_tokens(count: int, length: int, generator, dim: int = 12):
    vectors = F.normalize(torch.randn(count, length, dim, generator=generator), dim=-1)
    lengths = torch.randint(1, length + 1, (count,), generator=generator)
    return vectors, torch.arange(length) < lengths[:, None]


def test_maxsim_equals_brute_force_loops_and_chunking_does_not_matter():
    generator = torch.Generator().manual_seed(1)
    queries, query_mask = random_tokens(4, 6, generator)
    docs, doc_mask = random_tokens(9, 11, generator)
    expected = torch.tensor(
        [
            [
                sum(
                    max(float(queries[q, i] @ docs[d, j]) for j in range(11) if doc_mask[d, j])
                    for i in range(6)
                    if query_mask[q, i]
                )
                for d in range(9)
            ]
            for q in range(4)
        ]
    )
    torch.testing.assert_close(maxsim_scores(queries, query_mask, docs, doc_mask), expected, atol=1e-5, rtol=0)
    for budget, query_group in ((1, 64), (2**26, 1), (50, 3)):  # document chunks and query groups do not matter
        torch.testing.assert_close(
            maxsim_scores(queries, query_mask, docs, doc_mask, budget=budget, query_group=query_group),
            expected,
            atol=1e-5,
            rtol=0,
        )
    original = query_mask[2].clone()
    query_mask[2] = False  # a query without tokens scores 0 everywhere, alone in its group or not
    for query_group in (1, 4):
        assert (maxsim_scores(queries, query_mask, docs, doc_mask, query_group=query_group)[2] == 0).all()
    query_mask[2, 1] = True  # a mask with a hole: the group is cut after the last token used, not at the count
    torch.testing.assert_close(
        maxsim_scores(queries, query_mask, docs, doc_mask, query_group=1)[2],
        (queries[2, 1] @ docs.transpose(1, 2)).masked_fill(~doc_mask, -2).amax(-1),
    )
    query_mask[2] = original
    run = maxsim_search(queries, query_mask, docs, doc_mask, ["a", "b", "c", "d"], [f"d{j}" for j in range(9)], k=3)
    assert list(run["a"]) == [f"d{j}" for j in expected[0].topk(3).indices.tolist()]
    doc_mask[4] = False  # a document without tokens: -1 per query token
    expected[:, 4] = -query_mask.sum(1).float()
    for budget in (1, 50, 2**26):
        torch.testing.assert_close(maxsim_scores(queries, query_mask, docs, doc_mask, budget=budget), expected)


def unit_vectors(count: int, seed: int, dim: int = 32, clusters: int = 50):
    """Unit vectors around ``clusters`` topics, as embeddings of a collection are (not uniform on the sphere)."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.randn(clusters, dim, generator=torch.Generator().manual_seed(99))
    topic = torch.randint(0, clusters, (count,), generator=generator)
    return F.normalize(centres[topic] + 0.6 * torch.randn(count, dim, generator=generator), dim=-1)


def test_flat_faiss_index_equals_exact_search():
    documents, queries = unit_vectors(2000, 0), unit_vectors(20, 1)
    ids, qids = [f"d{j}" for j in range(2000)], [f"q{i}" for i in range(20)]
    exact = dense_search(queries, documents, qids, ids, k=50)
    flat = VectorIndex.build(documents, ids, kind="flat").search(queries, qids, k=50)
    for qid in qids:
        assert list(flat[qid]) == list(exact[qid])
        assert flat[qid] == pytest.approx(exact[qid], abs=1e-5)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_indexes_keep_most_of_the_exact_top_10(kind):
    documents, queries = unit_vectors(5000, 2), unit_vectors(50, 3)
    ids, qids = [f"d{j}" for j in range(5000)], [f"q{i}" for i in range(50)]
    exact = dense_search(queries, documents, qids, ids, k=10)
    approximate = VectorIndex.build(documents, ids, kind=kind).search(queries, qids, k=10, nprobe=32)
    recall = sum(len(set(exact[q]) & set(approximate[q])) for q in qids) / (10 * len(qids))
    assert recall > 0.8, recall


def test_an_index_is_built_once_saved_and_reused(tmp_path, monkeypatch):
    documents, ids = unit_vectors(300, 4), [f"d{j}" for j in range(300)]
    first = cached_index(documents, ids, kind="flat", cache_dir=tmp_path)
    monkeypatch.setattr(VectorIndex, "build", classmethod(lambda *a, **k: pytest.fail("built again")))
    second = cached_index(documents, ids, kind="flat", cache_dir=tmp_path)
    queries = unit_vectors(5, 5)
    assert second.search(queries, list("abcde"), k=7) == first.search(queries, list("abcde"), k=7)
    with pytest.raises(FileNotFoundError, match="no saved index"):
        VectorIndex.load(tmp_path / "nothing")
    monkeypatch.undo()
    with pytest.raises(ValueError, match="index kind"):
        VectorIndex.build(documents, ids, kind="lsh")

"""A language pair's data, as every consumer reads it: the Bible's books and collections, or the user's own."""

import pytest
from test_main_job import write_user_collection

from optical.data import bible_clir_collection, bible_splits, sample_pairs
from optical.study import StudyRun, StudySettings
from optical.task import Task


def write_tsv(path, pairs) -> str:
    path.write_text("".join(f"{pair.english}\t{pair.foreign}\n" for pair in pairs), encoding="utf-8")
    return str(path)


def test_a_packaged_pair_reads_its_books_and_the_verse_collection_the_studies_always_scored(bitext):
    task = Task("ny", split="dev", bible_collections=("verse",), num_queries=20)
    splits = bible_splits("ny")
    assert task.training == bitext.select(splits["train"]) and task.held_out == bitext.select(splits["dev"])
    assert task.training_pairs(50, seed=3) == sample_pairs(task.training, 50, 3)
    verse = bible_clir_collection(bitext.select(splits["dev"]), name="bible-en-ny-dev", num_queries=20)
    (benchmark,) = task.benchmarks
    assert benchmark.label == "dev" and benchmark.collection.name == task.collection_name == verse.name
    assert benchmark.collection.queries == verse.queries and benchmark.collection.qrels == verse.qrels
    assert task.bitext == "bible" and task.held_out_from_bible


def test_a_study_names_the_bible_as_its_records_always_did():
    """The committed records' keys hold bitext "bible" and collection bible-en-<lang>-<split>: unchanged."""
    settings = StudySettings(split="dev")
    assert settings.spec(StudyRun("es")).bitext == "bible"
    assert settings.evaluation("es").collection == "bible-en-es-dev"


def test_a_users_bitext_and_collection_replace_the_bible_for_a_language_without_one(tmp_path, bitext):
    write_user_collection(tmp_path / "my-trec", bitext)
    training = write_tsv(tmp_path / "train.tsv", bitext.pairs[:40])
    task = Task("xx", train_bitext=training, collection=str(tmp_path / "my-trec"))
    assert [pair.foreign for pair in task.training] == [pair.foreign for pair in bitext.pairs[:40]]
    assert task.bitext.startswith("train.tsv@") and len(task.bitext) == len("train.tsv@") + 16
    first = task.bitext
    write_tsv(tmp_path / "train.tsv", bitext.pairs[1:41])  # another version of the file: hashed again, not cached
    assert task.bitext != first and task.bitext.startswith("train.tsv@")
    training = write_tsv(tmp_path / "train.tsv", bitext.pairs[:40])
    (benchmark,) = task.benchmarks
    assert benchmark.label == task.collection_name == "my-trec" and len(benchmark.collection.queries) > 0
    with pytest.raises(ValueError, match="give held_out_bitext"):
        _ = task.held_out
    held_out = write_tsv(tmp_path / "held.tsv", bitext.pairs[40:52])
    task = Task("xx", train_bitext=training, held_out_bitext=held_out, collection=str(tmp_path / "my-trec"))
    assert len(task.held_out) == 12 and not task.held_out_from_bible


def test_a_task_refuses_an_unknown_split_and_an_empty_choice_of_collections():
    with pytest.raises(ValueError, match="split must be one of"):
        Task("ny", split="train")
    with pytest.raises(ValueError, match="no collection to evaluate on"):
        Task("ny", bible_collections=())
    with pytest.raises(ValueError, match="no packaged Bible"):
        _ = Task("xx").training

"""Run identity: specifications hashed whole, written into checkpoints, and read back by their consumers."""

from __future__ import annotations

import copy
import json
import os
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from optical.run_spec import EvaluationSpec, RunSpec, canonical_key
from optical.train import SPEC_NAME, TrainConfig, load_student_weights, train
from optical.transport_plans import latest_checkpoint

ROOT = Path(__file__).resolve().parent.parent


def spec(**changes) -> RunSpec:
    data = {"language": "ny", "bitext": "bible", "train_pairs": 16, "augment_rate": 0.0, "pretraining": {}}
    models = {"teacher": "all-MiniLM-L6-v2", "student": "all-MiniLM-L6-v2", "max_length": 48}
    return replace(RunSpec.trained(TrainConfig(epochs=1, batch_size=8), **data, **models), **changes)


def test_the_key_is_a_hash_of_every_field_in_canonical_json():
    one = spec()
    assert one.key() == canonical_key(json.loads(json.dumps(asdict(one))))  # key order and tuples do not matter
    assert one.objective_settings["epsilon"] == 0.02  # defaults are part of it
    assert spec(seed=1).key() != one.key() and spec(student="multilingual-e5-small").key() != one.key()
    assert canonical_key({"a": 1, "b": [1, 2]}) == canonical_key({"b": (1, 2), "a": 1})
    evaluation = EvaluationSpec("bible-en-ny-test", 500, ("dense",), (), 8000, 0, False)
    assert evaluation.key() != replace(evaluation, num_queries=100).key()


def test_a_checkpoint_holds_its_spec_and_refuses_another_run(teacher, bitext, tmp_path):
    student = copy.deepcopy(teacher).requires_grad_(True)
    config = TrainConfig(epochs=1, batch_size=8, device="cpu")
    train(student, teacher, bitext.pairs[:16], config, checkpoint_dir=tmp_path, progress=False, spec=spec().to_dict())
    assert json.loads((tmp_path / SPEC_NAME).read_text()) == spec().to_dict()
    loaded = load_student_weights(copy.deepcopy(teacher), tmp_path / "last.pt")
    assert loaded.run_spec == spec().to_dict() and loaded.trained_by["objective"] == "ot"
    other = spec(train_pairs=32).to_dict()  # the same settings, another draw of pairs: another run
    with pytest.raises(ValueError, match="written by another run"):
        train(student, teacher, bitext.pairs[:16], config, checkpoint_dir=tmp_path, progress=False, spec=other)


def test_the_transport_plans_take_the_newest_checkpoint_of_their_own_student_model(tmp_path):
    def checkpoint(name: str, student: str | None, age: int):
        folder = tmp_path / "checkpoints" / name
        folder.mkdir(parents=True)
        (folder / "last.pt").write_bytes(b"weights")
        if student is not None:
            (folder / SPEC_NAME).write_text(json.dumps(spec(student=student).to_dict()))
        os.utime(folder / "last.pt", (age, age))
        return folder / "last.pt"

    minilm = checkpoint("main-en-ny-a", "all-MiniLM-L6-v2", 100)
    e5 = checkpoint("main-en-ny-b", "multilingual-e5-small", 300)
    legacy = checkpoint("main-en-ny-c", None, 200)  # written before checkpoints held their spec: any model
    assert latest_checkpoint(tmp_path, "ny") == e5
    assert latest_checkpoint(tmp_path, "ny", "all-MiniLM-L6-v2") == legacy
    legacy.unlink()
    assert latest_checkpoint(tmp_path, "ny", "all-MiniLM-L6-v2") == minilm
    with pytest.raises(FileNotFoundError, match="en-es student from multilingual-e5-small"):
        latest_checkpoint(tmp_path, "es", "multilingual-e5-small")


def test_every_committed_record_is_named_by_the_specifications_it_holds():
    import gzip
    from pathlib import Path

    records = sorted((Path(__file__).resolve().parent.parent / "figures" / "runs").glob("*.json.gz"))
    assert len(records) >= 222
    for path in records:
        record = json.loads(gzip.decompress(path.read_bytes()))
        run, evaluation = RunSpec(**record["spec"]), EvaluationSpec(**record["evaluation"])
        assert path.name == f"{run.key()}-{evaluation.key()}.json.gz"


def _migration():
    """scripts/migrate_run_specs.py as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("migration", ROOT / "scripts" / "migrate_run_specs.py")
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    return migration


@pytest.mark.parametrize("objective", ["contrastive", "ot"])
def test_records_given_a_new_objective_setting_are_renamed_to_the_key_a_study_looks_up(tmp_path, objective):
    """scripts/migrate_run_specs.py objective-setting, run once when contrastive and then OT gained ``negatives`` (0:
    in-batch candidates, as every record trained)."""
    import gzip

    from optical.study import StudyRun, StudySettings

    migration = _migration()
    settings = StudySettings(split="dev", curve_every=100, curve_queries=200, patience=500)
    run = StudyRun("ny", objective, 16000, epochs=4)
    committed = ROOT / "figures" / "runs" / f"{settings.key(run)}.json.gz"  # the learning curves' run
    record = json.loads(gzip.decompress(committed.read_bytes()))
    del record["spec"]["objective_settings"]["negatives"]  # as it was before the setting existed
    old_name = f"{canonical_key(record['spec'])}-{canonical_key(record['evaluation'])}.json.gz"
    (tmp_path / old_name).write_bytes(gzip.compress(json.dumps(record).encode(), mtime=0))
    change = migration.objective_setting(objective, "negatives", 0)
    assert migration.migrate(tmp_path, change) == {old_name: committed.name}
    assert (tmp_path / committed.name).read_bytes() == committed.read_bytes() and not (tmp_path / old_name).exists()
    assert migration.migrate(tmp_path, change) == {}  # run twice: nothing left to do
    with pytest.raises(ValueError, match="does not default to 8"):
        migration.objective_setting(objective, "negatives", 8)


def test_records_of_pretrain_steps_are_given_the_recipe_they_ran_under_the_key_a_study_looks_up(tmp_path):
    """scripts/migrate_run_specs.py pretraining, run once when ``pretrain_steps`` became the masked-LM recipe: a
    committed RQ5 record of ``mlm+ot`` (63 steps at a constant 1e-4) and one of plain OT, written back as they were."""
    import gzip

    migration = _migration()
    committed = {}
    for path in sorted((ROOT / "figures" / "runs").glob("*.json.gz")):
        record = json.loads(gzip.decompress(path.read_bytes()))
        if record["spec"]["objective"] == "ot":
            committed.setdefault(bool(record["spec"]["pretraining"]), (path, record))
    mlm = committed[True][1]["spec"]["pretraining"]
    assert mlm == {"steps": 63, "lr": 1e-4, "schedule": "constant", "warmup_ratio": 0.0, "batch_size": 32,
                   "mask_probability": 0.15}  # fmt: skip
    expected = {}
    for path, record in committed.values():
        renamed = {"pretraining": "pretrain_steps"}  # in its place, as the steps
        before = {renamed.get(name, name): value for name, value in record["spec"].items()}
        before["pretrain_steps"] = before["pretrain_steps"].get("steps", 0)
        old_name = f"{canonical_key(before)}-{canonical_key(record['evaluation'])}.json.gz"
        (tmp_path / old_name).write_bytes(gzip.compress(json.dumps({**record, "spec": before}).encode(), mtime=0))
        expected[old_name] = path.name
    assert migration.migrate(tmp_path, migration.pretraining) == expected
    assert all((tmp_path / path.name).read_bytes() == path.read_bytes() for path, _ in committed.values())
    assert migration.migrate(tmp_path, migration.pretraining) == {}  # run twice: nothing left to do


def test_kept_checkpoints_given_a_new_objective_setting_are_found_by_the_main_job(tmp_path):
    """The main job's finished OT student, kept from before OT had ``negatives``, is renamed to the key the main job
    looks up now, its spec.json and the spec inside last.pt with it; other objectives' folders are left alone."""
    import torch

    from optical.experiment import MainConfig, run_spec

    migration = _migration()
    current = run_spec(MainConfig()).to_dict()
    old = copy.deepcopy(current)
    del old["objective_settings"]["negatives"]
    folder = tmp_path / f"main-en-ny-{canonical_key(old)}"
    folder.mkdir()
    (folder / SPEC_NAME).write_text(json.dumps(old))
    torch.save({"spec": old, "step": 376}, folder / "last.pt")
    other = tmp_path / "study-0123456789abcdef"
    other.mkdir()
    (other / SPEC_NAME).write_text(json.dumps({**old, "objective": "kl"}))
    change = migration.objective_setting("ot", "negatives", 0)
    renamed = migration.migrate_checkpoints(tmp_path, change)
    target = tmp_path / f"main-en-ny-{run_spec(MainConfig()).key()}"
    assert renamed == {folder.name: target.name} and not folder.exists() and other.exists()
    assert json.loads((target / SPEC_NAME).read_text()) == current
    assert torch.load(target / "last.pt", weights_only=False) == {"spec": current, "step": 376}
    assert migration.migrate_checkpoints(tmp_path, change) == {}

"""The main job end to end on a small setting: the README's first command, shrunk."""

import pandas as pd
import pytest

from optical.__main__ import main
from optical.data import BitextError
from optical.results import RESULT_COLUMNS

pytestmark = pytest.mark.slow

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_main_job_trains_evaluates_and_writes_results_and_figures(tmp_path, work_dir):
    out = tmp_path / "figures"
    args = [
        "--train-pairs",
        "48",
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--num-queries",
        "30",
        "--split",
        "dev",
        "--out-dir",
        str(out),
        "--work-dir",
        str(work_dir),
        "--device",
        "cpu",
    ]
    main(args)
    results = pd.read_csv(out / "results.csv")
    assert tuple(results.columns) == RESULT_COLUMNS
    assert set(results.objective) == {"zero-shot", "ot"} and set(results.study) == {"main"}
    assert set(results.measure) == {"MAP", "nDCG@10", "P@5", "R@10", "MRR"}
    assert results.value.between(0, 1).all() and len(results) == 10
    assert results.loc[results.objective == "ot", "train_pairs"].unique().tolist() == [48]
    for name in ("transport_plan_en-ny.png", "transport_plan_en-ny_before.png", "training_loss_en-ny.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC
    assert "| zero-shot" in (out / "main_en-ny.md").read_text()
    runs = sorted(p.name for p in (work_dir / "runs").iterdir())
    assert {"bible-en-ny-dev.ot.trec", "bible-en-ny-dev.zero-shot.trec"} <= set(runs)

    main(args)  # a second run appends, resumes its finished checkpoint and reuses the document cache
    assert len(pd.read_csv(out / "results.csv")) == 20


def test_main_job_trains_on_a_user_tsv(tmp_path, work_dir):
    bitext = tmp_path / "extra.tsv"
    bitext.write_text("In the beginning.\tPachiyambi.\nbroken line\n", encoding="utf-8")
    args = [
        "--train-bitext",
        str(bitext),
        "--train-pairs",
        "8",
        "--epochs",
        "1",
        "--num-queries",
        "10",
        "--split",
        "dev",
        "--out-dir",
        str(tmp_path),
        "--work-dir",
        str(work_dir),
        "--device",
        "cpu",
    ]
    with pytest.raises(BitextError, match="extra.tsv:2: expected 2 tab-separated columns"):
        main(args)
    bitext.write_text("In the beginning.\tPachiyambi.\nAnd God said.\tNdipo anati Mulungu.\n", encoding="utf-8")
    main(args)
    results = pd.read_csv(tmp_path / "results.csv")
    assert results.loc[results.objective == "ot", "train_pairs"].unique().tolist() == [2]
    assert "training TSV: 2 pairs aligned" in (tmp_path / "main_en-ny.md").read_text()

"""A bad setting fails when the configuration is made, not minutes into a run."""

import pytest

from optical.train import TrainConfig, pick_device


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"objective": "nonsense"}, "unknown objective 'nonsense'"),
        ({"device": "tpu"}, "device must be auto, cpu or cuda"),
        ({"epochs": 0}, "must be >= 1"),
        ({"epsilon": 0.0}, "must be > 0"),
        ({"objective": "kl", "epsilon": 0.05}, "a setting of ot, not of objective 'kl'"),
    ],
)
def test_bad_settings_raise(settings, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_flat(settings)


def test_cuda_without_a_gpu_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="sees no GPU"):
        pick_device("cuda")
    assert pick_device("auto").type == "cpu"


def test_checkpoint_folder_depends_on_training_settings_only(tmp_path):
    from optical.experiment import MainConfig, run_spec

    def key(**fields) -> str:
        return run_spec(MainConfig(**fields)).key()

    base = key()
    assert key(split="dev", num_queries=50, out_dir="elsewhere") == base  # evaluation only
    assert key(train=TrainConfig(device="cpu", checkpoint_every=7)) == base  # where it trains
    assert key(train_pairs=100) != base
    assert key(train=TrainConfig(lr=3e-4)) != base
    assert key(student="multilingual-e5-small") != base
    bitext = tmp_path / "pairs.tsv"
    bitext.write_text("In the beginning\tPachiyambi\n")
    first = key(train_bitext=str(bitext))
    bitext.write_text("In the beginning\tPoyamba\n")
    assert key(train_bitext=str(bitext)) != first  # a user's bitext by its content, not its name


def test_a_run_is_labelled_by_the_settings_that_change_its_student():
    """Results rows name a run by its objective and the settings it changes (the studies' recipe labels), so a
    main job with another recipe never overwrites the default's rows; epochs and seed have columns of their own,
    device, precision and checkpointing do not change the student."""
    from optical.study import StudyRun

    assert TrainConfig().label == "ot" and TrainConfig(objective="kl").label == "kl"
    assert TrainConfig.from_flat(epsilon=0.05).label == "ot[epsilon=0.05]"
    assert TrainConfig.from_flat(epsilon=0.02).label == "ot"  # a setting given at its default changes nothing
    assert TrainConfig(epochs=4, seed=3, device="cpu", amp=False, checkpoint_every=7).label == "ot"
    tuned = TrainConfig.from_flat(objective="kl", kl_temperature=0.05, lr=5e-5, word_embeddings="trim")
    assert tuned.label == "kl[kl_temperature=0.05,lr=5e-05,word_embeddings=trim]"
    recipe = (("contrastive_weight", 0.1),)
    assert TrainConfig.from_flat(dict(recipe)).label == StudyRun(recipe=recipe).label == "ot[contrastive_weight=0.1]"


def test_main_jobs_of_other_settings_name_their_reports_apart():
    """The main job's report files (main_<name>.md, its figures) are named by what its rows are keyed by: two jobs
    of other models, data or objectives into one out_dir keep both reports; the default job keeps ``en-<lang>``."""
    from optical.experiment import MainConfig

    def name(**fields) -> str:
        return MainConfig(**fields).report_name()

    assert name() == "en-ny" and name(language="grc", split="dev", train_pairs=100) == "en-grc"
    e5 = {"teacher": "multilingual-e5-small", "student": "multilingual-e5-small"}
    assert (
        name(**e5, train=TrainConfig(word_embeddings="trim")) == "en-ny_multilingual-e5-small_ot-word_embeddings=trim"
    )
    assert name(student="/models/my-xlmr/") == "en-ny_my-xlmr"
    assert name(train=TrainConfig(objective="kl")) == "en-ny_kl"
    user = {"train_bitext": "/data/ny pairs.tsv", "train": TrainConfig.from_flat(epsilon=0.05)}
    assert name(**user, collection="irds:neuclir/1/zh") == "en-ny_ny-pairs_neuclir-1-zh_ot-epsilon=0.05"
    assert name(collection="/data/clef-2003/") == "en-ny_clef-2003"


def test_warm_up_then_linear_decay():
    import torch

    from optical.train import warmup_then_linear_decay

    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = warmup_then_linear_decay(optimizer, total_steps=20, warmup_ratio=0.2)  # 4 steps up, 16 down
    rates = []
    for _ in range(20):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0]) and rates[3] == max(rates)
    assert all(later < earlier for earlier, later in zip(rates[3:], rates[4:], strict=False)) and 0 < rates[-1] < 0.1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"steps": 0}, "at least one step"),
        ({"steps": 5, "schedule": "cosine"}, "unknown schedule"),
        ({"steps": 5, "schedule": "constant"}, "no warm-up"),
    ],
)
def test_bad_pretraining_recipes_raise(changes, message):
    from optical.pretrain import PretrainConfig

    with pytest.raises(ValueError, match=message):
        PretrainConfig(**changes)

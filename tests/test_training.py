"""Encoders, training and the main job with the real packaged model (marked slow)."""

import copy
import importlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from optical.alignment import soft_alignment
from optical.encoders import resolve_model_dir
from optical.losses import OBJECTIVES, ot_distillation_loss
from optical.train import TrainConfig, cpu_uses_bf16, train

pytestmark = pytest.mark.slow


def test_teacher_matches_sentence_transformers_pooling(teacher):
    """Mean pooling + L2 norm as all-MiniLM-L6-v2 is meant to be used: similar sentences score higher."""
    emb = teacher.embed(["A man is eating food.", "A man eats a meal.", "The stock market fell sharply."])
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(3))
    assert emb[0] @ emb[1] > 0.6 > emb[0] @ emb[2]


def test_missing_model_directory_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no Hugging Face model directory"):
        resolve_model_dir(tmp_path / "nothing-here")


def test_special_tokens_carry_no_transport_mass(teacher):
    batch = teacher.encode(["In the beginning.", "God created the heaven and the earth."])
    assert batch.content_mask[:, 0].sum() == 0  # [CLS]
    lengths = batch.attention_mask.sum(1)
    assert torch.all(batch.content_mask.sum(1) == lengths - 2)  # [SEP] too


def test_a_short_training_run_lowers_the_ot_loss(teacher, bitext):
    pairs = bitext.pairs[:64]
    student = copy.deepcopy(teacher).requires_grad_(True)

    @torch.no_grad()
    def held_loss():
        student.eval()
        english, foreign = [p.english for p in pairs], [p.foreign for p in pairs]
        return float(ot_distillation_loss(teacher.encode(english), student.encode(foreign), epsilon=0.02).loss)

    before = held_loss()
    config = TrainConfig(epochs=3, batch_size=16, lr=2e-4, device="cpu", warmup_ratio=0.0)
    result = train(student, teacher, pairs, config, progress=False)
    after = held_loss()
    assert result.steps == 12 and len(result.losses) == 12
    assert after < before - 0.05, (before, after)


@pytest.mark.parametrize("objective", [name for name in OBJECTIVES if name != "ot"])
def test_every_baseline_objective_trains_the_student(teacher, bitext, objective):
    student = copy.deepcopy(teacher).requires_grad_(True)
    config = TrainConfig(objective=objective, epochs=1, batch_size=8, device="cpu", warmup_ratio=0.0)
    result = train(student, teacher, bitext.pairs[:16], config, progress=False)
    assert result.steps == 2 and all(np.isfinite(result.losses)) and result.losses[0] > 0
    moved = (
        student.transformer.embeddings.word_embeddings.weight - teacher.transformer.embeddings.word_embeddings.weight
    )
    assert moved.abs().max() > 0


def killed_on_call(number: int, function, *, half_writes: bool = False):
    """``function``, except that its ``number``-th call is killed: at once, or (``half_writes``, for
    ``torch.save(state, path)``) after some bytes reached ``path``."""
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == number:
            if half_writes:
                Path(args[1]).write_bytes(b"PK\x03\x04 half a checkpoint")
            raise KeyboardInterrupt("killed")
        return function(*args, **kwargs)

    return wrapper


@pytest.mark.parametrize("killed_in", ["optimiser step", "checkpoint save"])
def test_a_killed_run_resumes_to_the_same_weights(teacher, bitext, tmp_path, monkeypatch, capsys, killed_in):
    pairs = bitext.pairs[:32]
    config = TrainConfig(epochs=2, batch_size=8, device="cpu", checkpoint_every=3)  # 8 steps, saves at 3 and 6
    straight = copy.deepcopy(teacher).requires_grad_(True)
    train(straight, teacher, pairs, config, progress=False)

    interrupted = copy.deepcopy(teacher).requires_grad_(True)
    if killed_in == "optimiser step":
        monkeypatch.setattr(torch.optim.AdamW, "step", killed_on_call(6, torch.optim.AdamW.step))
    else:  # the second save (step 6) dies half-written
        monkeypatch.setattr(torch, "save", killed_on_call(2, torch.save, half_writes=True))
    with pytest.raises(KeyboardInterrupt):
        train(interrupted, teacher, pairs, config, checkpoint_dir=tmp_path, progress=False)
    monkeypatch.undo()
    before_kill = torch.load(tmp_path / "last.pt", weights_only=False)
    assert before_kill["step"] == 3 and before_kill["seconds"] > 0  # the previous checkpoint is intact

    resumed = copy.deepcopy(teacher).requires_grad_(True)  # a fresh process would start from scratch weights
    capsys.readouterr()
    result = train(resumed, teacher, pairs, config, checkpoint_dir=tmp_path)
    assert "train ot" in capsys.readouterr().err  # the bar of the steps trained here
    assert result.steps == 8 and len(result.losses) == 8
    assert result.seconds > before_kill["seconds"]  # the training time before the kill counts too
    for (name, expected), actual in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(actual, expected, msg=name)
    with pytest.raises(ValueError, match="another configuration"):
        train(resumed, teacher, pairs, TrainConfig(epochs=3, batch_size=8, device="cpu"), checkpoint_dir=tmp_path)
    state = torch.load(tmp_path / "last.pt", weights_only=False)
    state["config"] |= {"device": "auto", "checkpoint_every": 5}  # written elsewhere: resumes under "cpu", every 2
    torch.save(state, tmp_path / "last.pt")
    elsewhere = replace(config, device="cpu", checkpoint_every=2)
    assert train(resumed, teacher, pairs, elsewhere, checkpoint_dir=tmp_path, progress=False).steps == 8
    state = torch.load(tmp_path / "last.pt", weights_only=False)
    del state["config"]["align_layer"]  # written before that setting existed: read with its default
    torch.save(state, tmp_path / "last.pt")
    assert train(resumed, teacher, pairs, config, checkpoint_dir=tmp_path).steps == 8
    assert "train ot" not in capsys.readouterr().err  # a finished run read again shows no bar of its old steps


def test_an_unreadable_checkpoint_is_a_clear_error(teacher, bitext, tmp_path):
    (tmp_path / "last.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="last.pt is unreadable"):
        train(copy.deepcopy(teacher), teacher, bitext.pairs[:8], TrainConfig(device="cpu"), checkpoint_dir=tmp_path)


def test_soft_alignment_is_a_labelled_plan(teacher):
    alignment = soft_alignment(teacher, teacher, "God is love.", "Mulungu ndiye chikondi.")
    assert alignment.plan.shape == (len(alignment.english_tokens), len(alignment.foreign_tokens))
    assert alignment.english_tokens == ["god", "is", "love", "."]
    assert alignment.plan.sum() == pytest.approx(1.0, abs=1e-4)


def test_encoders_start_and_stay_without_dropout_and_plans_are_deterministic(teacher):
    """A new encoder is in eval mode, as from_pretrained leaves a model, and encoding keeps it there (it used to
    restore the wrapper's default train mode, so a teacher encoded with dropout afterwards); a plan is computed
    without dropout whatever mode its encoders are in, and leaves their modes as they were."""
    from optical.encoders import TokenEncoder

    fresh = TokenEncoder(teacher.model_name, max_length=32)
    assert not any(module.training for module in fresh.modules())
    fresh.encode_texts(["God is love."])
    assert not any(module.training for module in fresh.modules())
    reference = soft_alignment(fresh, fresh, "God is love.", "Mulungu ndiye chikondi.").cost
    fresh.train()
    assert soft_alignment(fresh, fresh, "God is love.", "Mulungu ndiye chikondi.").cost == reference
    assert all(module.training for module in fresh.modules())


def test_length_sorted_encoding_returns_the_given_order(teacher):
    """embed and encode_tokens encode longest first but give each text its own row back."""
    from optical.late_interaction import encode_tokens

    texts = ["Jesus wept.", "In the beginning God created the heaven and the earth.", "Amen.", "God is love, amen."]
    vectors, mask = encode_tokens(teacher, texts, batch_size=2)
    embedded = teacher.embed(texts, batch_size=2)
    for row, text in enumerate(texts):
        alone = teacher.encode([text])
        assert mask[row].sum() == alone.attention_mask.sum()
        expected = torch.nn.functional.normalize(alone.embeddings[0], dim=-1)
        torch.testing.assert_close(vectors[row, : mask[row].sum()].float(), expected, atol=2e-3, rtol=1e-2)
        torch.testing.assert_close(embedded[row], alone.pooled()[0], atol=1e-5, rtol=1e-4)
    both = teacher.encode_texts(texts, pooled=True, tokens=True, batch_size=2)  # one pass gives each part exactly
    assert torch.equal(both.pooled, embedded) and torch.equal(both.tokens, vectors) and torch.equal(both.mask, mask)


def test_search_each_encodes_the_queries_once_for_every_scoring(teacher, bitext, tmp_path, monkeypatch):
    """Dense and MaxSim searches served by one forward pass rank as each does alone, with half the passes."""
    from optical.encoders import TokenEncoder
    from optical.search import DocumentSearch, SearchSettings, search_each

    documents = {f"d{i}": pair.english for i, pair in enumerate(bitext.pairs[:40])}
    queries = {f"q{i}": pair.foreign for i, pair in enumerate(bitext.pairs[:12])}
    searches = {
        scoring: DocumentSearch(teacher, documents, SearchSettings(scoring=scoring, depth=10), cache_dir=tmp_path)
        for scoring in ("dense", "maxsim")
    }
    batches = []
    encode = TokenEncoder.encode
    monkeypatch.setattr(
        TokenEncoder, "encode", lambda self, texts, *a, **k: batches.append(texts) or encode(self, texts, *a, **k)
    )
    alone = {scoring: search.search(teacher, queries) for scoring, search in searches.items()}
    assert len(batches) == 2
    assert search_each(searches, teacher, queries) == alone
    assert len(batches) == 3
    assert alone["dense"] != alone["maxsim"]  # two scorings, not one twice


def test_cpu_bf16_switch_keeps_training_in_float32(monkeypatch):
    """OPTICAL_CPU_BF16=0 keeps amp=True in float32 on a bf16-capable CPU; CUDA and other values are untouched."""
    training = importlib.import_module("optical.train")  # the module: `optical.train` is also the function

    monkeypatch.setattr(training, "cpu_has_native_bf16", lambda: True)
    cpu, cuda, config = torch.device("cpu"), torch.device("cuda"), TrainConfig()
    monkeypatch.delenv(training.CPU_BF16_SWITCH, raising=False)
    assert training.training_precision(config, cpu) == "bf16 autocast"
    monkeypatch.setenv(training.CPU_BF16_SWITCH, "0")
    assert training.training_precision(config, cpu) == "float32"
    assert training.training_precision(config, cuda) == "bf16 autocast"
    monkeypatch.setenv(training.CPU_BF16_SWITCH, "1")
    assert training.training_precision(config, cpu) == "bf16 autocast"
    monkeypatch.setattr(training, "cpu_has_native_bf16", lambda: False)
    assert training.training_precision(config, cpu) == "float32"  # the switch cannot add instructions


@pytest.mark.skipif(not cpu_uses_bf16(), reason="no bf16 here (no instructions, or OPTICAL_CPU_BF16=0): float32 only")
def test_bf16_autocast_on_cpu_follows_float32(teacher, bitext, tmp_path):
    """amp=True trains in bf16 on a CPU with bf16 instructions; its losses stay within bf16 rounding of float32."""
    config = TrainConfig(epochs=1, batch_size=8, device="cpu", warmup_ratio=0.0)
    losses = {}
    for amp in (False, True):
        student = copy.deepcopy(teacher).requires_grad_(True)
        run = train(
            student, teacher, bitext.pairs[:32], replace(config, amp=amp), teacher_cache=tmp_path, progress=False
        )
        losses[amp] = run.losses
    assert losses[True] != losses[False]  # bf16 really ran
    assert losses[True] == pytest.approx(losses[False], abs=2e-2)

"""The teacher-state cache: the same losses and gradients as the live teacher, invalidated by its key,
rebuilt when a file is damaged, and used by train() with the same results."""

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch

from optical.encoders import TokenEncoder
from optical.losses import cls_mse_loss, kl_distillation_loss, ot_distillation_loss
from optical.teacher_states import TeacherStateStore, teacher_key
from optical.train import TrainConfig, train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pairs(bitext):
    return bitext.pairs[:40]


def test_cached_states_give_the_live_losses_and_gradients(teacher, pairs, tmp_path):
    english, foreign = [p.english for p in pairs], [p.foreign for p in pairs]
    states = TeacherStateStore(teacher, tmp_path).states(english)
    rows = [3, 17, 0, 39, 22]
    with torch.no_grad():
        live = teacher.encode([english[i] for i in rows])
    cached = states.batch(rows)
    assert torch.equal(cached.attention_mask, live.attention_mask)
    assert torch.equal(cached.content_mask, live.content_mask)
    real = live.attention_mask.bool()
    torch.testing.assert_close(cached.embeddings[real], live.embeddings[real], atol=5e-3, rtol=1e-3)  # float16
    student = copy.deepcopy(teacher).requires_grad_(True)
    for loss_fn in (ot_distillation_loss, kl_distillation_loss, cls_mse_loss):
        values, gradients = [], []
        for teacher_tokens in (live, cached):
            student.zero_grad()
            loss = loss_fn(teacher_tokens, student.encode([foreign[i] for i in rows])).loss
            loss.backward()
            values.append(loss.item())
            gradients.append(torch.cat([p.grad.flatten() for p in student.parameters() if p.grad is not None]))
        assert values[1] == pytest.approx(values[0], abs=1e-3), loss_fn.__name__
        cosine = torch.nn.functional.cosine_similarity(gradients[0], gradients[1], dim=0)
        assert cosine > 0.999 and torch.allclose(gradients[1].norm(), gradients[0].norm(), rtol=1e-2), loss_fn.__name__


def test_texts_are_computed_once_and_read_back_by_a_new_store(teacher, pairs, tmp_path):
    english = [p.english for p in pairs]
    TeacherStateStore(teacher, tmp_path).states(english[:25])
    store = TeacherStateStore(teacher, tmp_path)  # another process: reads the chunk from disk
    before = store.states(english[:25]).batch(list(range(25)))
    store.states(english)  # only the 15 missing texts are computed, as a second chunk
    chunks = sorted(tmp_path.glob("*/*.index.npz"))
    assert len(chunks) == 2 and sum(len(np.load(c)["lengths"]) for c in chunks) == 40
    again = TeacherStateStore(teacher, tmp_path).states(english[:25]).batch(list(range(25)))
    assert torch.equal(before.embeddings, again.embeddings)


def test_a_changed_key_recomputes(teacher, tmp_path):
    shorter = TokenEncoder(max_length=16).eval()
    changed = copy.deepcopy(teacher)
    with torch.no_grad():
        changed.transformer.encoder.layer[5].output.dense.bias.add_(1e-3)
    keys = {teacher_key(teacher), teacher_key(shorter), teacher_key(changed)}
    assert len(keys) == 3 and teacher_key(copy.deepcopy(teacher)) == teacher_key(teacher)
    text = ["And God said, Let there be light: and there was light. " * 3]
    assert TeacherStateStore(shorter, tmp_path).states(text).batch([0]).embeddings.shape[1] == 16
    assert TeacherStateStore(teacher, tmp_path).states(text).batch([0]).embeddings.shape[1] > 16
    assert len(list(tmp_path.iterdir())) == 2


@pytest.mark.parametrize("damage", ["truncated", "missing", "garbage index"])
def test_a_damaged_chunk_is_detected_and_rebuilt(teacher, pairs, tmp_path, damage):
    english = [p.english for p in pairs[:8]]
    expected = TeacherStateStore(teacher, tmp_path).states(english).batch(list(range(8)))
    (vectors,) = tmp_path.glob("*/*.npy")
    (index,) = tmp_path.glob("*/*.index.npz")
    if damage == "truncated":  # e.g. a copy that stopped half-way
        vectors.write_bytes(vectors.read_bytes()[: vectors.stat().st_size // 2])
    elif damage == "missing":
        vectors.unlink()
    else:
        index.write_bytes(b"not an index")
    with pytest.warns(UserWarning, match="unusable"):
        store = TeacherStateStore(teacher, tmp_path)
    rebuilt = store.states(english).batch(list(range(8)))
    torch.testing.assert_close(rebuilt.embeddings, expected.embeddings)
    assert vectors.stat().st_size > 0 and index.exists()


@pytest.mark.parametrize("during", ["the vectors", "the index"])
def test_a_killed_computation_leaves_no_chunk_and_no_half_file(teacher, pairs, tmp_path, monkeypatch, during):
    english = [p.english for p in pairs[:8]]

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed")  # what a kill (Ctrl-C, a stopped kernel) raises

    if during == "the vectors":
        monkeypatch.setattr(teacher, "tokenize", killed)
    else:
        monkeypatch.setattr(np, "savez", killed)
    with pytest.raises(KeyboardInterrupt):
        TeacherStateStore(teacher, tmp_path).states(english)
    monkeypatch.undo()
    assert not list(tmp_path.glob("*/*.index.npz"))  # vectors without an index are not a chunk
    assert not list(tmp_path.glob("*/*.partial"))  # nor is half a file left behind
    states = TeacherStateStore(teacher, tmp_path).states(english)
    assert len(states) == 8 and len(list(tmp_path.glob("*/*.index.npz"))) == 1


def test_training_with_cached_states_follows_the_live_teacher(teacher, pairs, tmp_path):
    config = TrainConfig(epochs=1, batch_size=8, device="cpu", warmup_ratio=0.0, amp=False)  # float32 both ways
    live_student, cached_student = copy.deepcopy(teacher), copy.deepcopy(teacher)
    live = train(live_student.requires_grad_(True), teacher, pairs, config, progress=False)
    cached = train(cached_student.requires_grad_(True), teacher, pairs, config, teacher_cache=tmp_path, progress=False)
    assert cached.steps == live.steps == 5
    assert cached.losses == pytest.approx(live.losses, abs=2e-3)
    start, after_live, after_cached = (
        torch.cat([p.detach().flatten() for p in model.parameters()])
        for model in (teacher, live_student, cached_student)
    )
    assert (after_cached - after_live).norm() < 0.05 * (after_live - start).norm()  # same path, up to float16


def test_another_layer_has_its_own_states_and_trains_with_the_same_losses(teacher, pairs, tmp_path):
    english = [p.english for p in pairs[:8]]
    tokens = teacher.tokenize(english)
    with torch.no_grad():
        last, layer_six, layer_four = teacher(tokens), teacher(tokens, layer=6), teacher(tokens, layer=4)
    assert teacher.num_layers == 6
    torch.testing.assert_close(layer_six.embeddings, last.embeddings)  # -1 is the last layer
    assert not torch.allclose(layer_four.embeddings, last.embeddings)
    with pytest.raises(ValueError, match="layer"):
        teacher(tokens, layer=7)
    with pytest.raises(ValueError, match="align_layer"):
        TrainConfig(align_layer=0)

    cached = TeacherStateStore(teacher, tmp_path, layer=4).states(english).batch(list(range(8)))
    real = layer_four.attention_mask.bool()
    torch.testing.assert_close(cached.embeddings[real], layer_four.embeddings[real], atol=5e-3, rtol=1e-3)  # float16
    TeacherStateStore(teacher, tmp_path).states(english)
    assert sorted(path.name.endswith("-layer4") for path in tmp_path.iterdir()) == [False, True]

    config = TrainConfig(align_layer=4, epochs=1, batch_size=4, device="cpu", warmup_ratio=0.0, amp=False)
    live = train(copy.deepcopy(teacher).requires_grad_(True), teacher, pairs[:8], config, progress=False)
    stored = train(
        copy.deepcopy(teacher).requires_grad_(True), teacher, pairs[:8], config, teacher_cache=tmp_path, progress=False
    )
    np.testing.assert_allclose(stored.losses, live.losses, atol=1e-3)  # the cache holds layer 4's states
    last_layer = train(
        copy.deepcopy(teacher).requires_grad_(True), teacher, pairs[:8], replace(config, align_layer=-1), progress=False
    )
    assert not np.allclose(last_layer.losses, live.losses, atol=1e-3)

"""Training all, none or the used rows of the student's word embeddings (``TrainConfig.word_embeddings``)."""

import copy

import pytest
import torch
from torch import nn

from optical.train import CHECKPOINT_NAME, TrainConfig, load_student_weights, train
from optical.word_embeddings import PartlyTrainedEmbedding

pytestmark = pytest.mark.slow


def _train(teacher, pairs, mode, folder=None, **options):
    student = copy.deepcopy(teacher).requires_grad_(True)
    config = TrainConfig(epochs=1, batch_size=8, lr=1e-3, device="cpu", word_embeddings=mode, **options)
    train(student, teacher, pairs, config, progress=False, checkpoint_dir=folder)
    return student


def _word_embeddings(encoder) -> torch.Tensor:
    return encoder.transformer.get_input_embeddings().weight.detach()


def test_freeze_keeps_the_matrix_and_trains_the_rest(teacher, bitext):
    student = _train(teacher, bitext.pairs[:16], "freeze")
    assert torch.equal(_word_embeddings(student), _word_embeddings(teacher))
    layer = "transformer.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(student.state_dict()[layer], teacher.state_dict()[layer])
    assert student.transformer.get_input_embeddings().weight.requires_grad  # a plain student again


def test_trim_trains_the_rows_of_the_pairs_pieces_only(teacher, bitext):
    pairs = bitext.pairs[:16]
    used = teacher.tokenize([pair.foreign for pair in pairs])["input_ids"].unique()
    trimmed, full = _train(teacher, pairs, "trim"), _train(teacher, pairs, "train")
    changed = (_word_embeddings(trimmed) != _word_embeddings(teacher)).any(1).nonzero().flatten()
    assert set(changed.tolist()) <= set(used.tolist()) and len(changed) > 0.5 * len(used)
    assert isinstance(trimmed.transformer.get_input_embeddings(), nn.Embedding)  # mapped back, whole
    # a plain run also decays (AdamW's decoupled weight decay) every row its pieces never reach
    untouched = (_word_embeddings(full) != _word_embeddings(teacher)).any(1).sum()
    assert untouched > 10 * len(used)


def test_a_trimmed_checkpoint_loads_into_a_plain_student_and_resumes_exactly(teacher, bitext, tmp_path):
    pairs = bitext.pairs[:32]
    whole = _train(teacher, pairs, "trim", folder=tmp_path / "whole")
    loaded = load_student_weights(copy.deepcopy(teacher), tmp_path / "whole" / CHECKPOINT_NAME)
    assert torch.equal(_word_embeddings(loaded), _word_embeddings(whole))
    # killed after 2 of 4 steps: the checkpoint of step 2, then the same command again
    first = copy.deepcopy(teacher).requires_grad_(True)
    config = TrainConfig(epochs=1, batch_size=8, lr=1e-3, device="cpu", word_embeddings="trim", checkpoint_every=2)
    train(first, teacher, pairs, config, progress=False, checkpoint_dir=tmp_path / "killed", on_step=lambda s: s == 2)
    state = torch.load(tmp_path / "killed" / CHECKPOINT_NAME, weights_only=False)
    state["stopped"] = False  # as a kill at step 2 leaves it
    torch.save(state, tmp_path / "killed" / CHECKPOINT_NAME)
    resumed = copy.deepcopy(teacher).requires_grad_(True)
    train(resumed, teacher, pairs, config, progress=False, checkpoint_dir=tmp_path / "killed")
    uninterrupted = _train(teacher, pairs, "trim", checkpoint_every=2, folder=tmp_path / "again")
    for name, tensor in uninterrupted.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], tensor, rtol=0, atol=1e-6, msg=name)


def test_the_partly_trained_embedding_reads_and_writes_a_plain_state():
    weight = torch.randn(10, 4)
    module = PartlyTrainedEmbedding(weight, torch.tensor([2, 5]))
    ids = torch.tensor([[2, 3, 5, 0]])
    assert torch.equal(module(ids), weight[ids])
    module.rows.data += 1.0
    assert torch.equal(module(ids)[0, 1], weight[3]) and torch.equal(module(ids)[0, 0], weight[2] + 1)
    assert set(module.state_dict()) == {"weight"} and torch.equal(module.state_dict()["weight"][5], weight[5] + 1)
    other = PartlyTrainedEmbedding(torch.zeros(10, 4), torch.tensor([2, 5]))
    other.load_state_dict(module.state_dict())
    assert torch.equal(other(ids), module(ids))
    module(ids).sum().backward()
    assert module.rows.grad.shape == (2, 4) and torch.equal(module.rows.grad, torch.ones(2, 4))


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="word_embeddings must be one of"):
        TrainConfig(word_embeddings="sparse")

"""The plan explorer: a picked, edited or typed pair, another student or epsilon redraws the plan."""

import base64
import copy

import pytest
import torch

from optical.encoders import DEFAULT_MODEL
from optical.plan_explorer import TYPED, UNTRAINED, PlanExplorer
from optical.transport_plans import HeldOutPlans, saved_checkpoints

pytestmark = pytest.mark.slow

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def explorer(teacher, bitext, tmp_path):
    trained = copy.deepcopy(teacher)
    with torch.no_grad():
        for parameter in trained.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))  # a student that differs from the teacher
    pairs = bitext.pairs[100:102]
    references = [{(0, 0), (1, 1)}, {(0, 0)}]
    saved = tmp_path / "checkpoints" / "main-en-ny-test" / "last.pt"
    other = tmp_path / "checkpoints" / "study-other" / "last.pt"
    for path in (saved, other):
        path.parent.mkdir(parents=True)
        torch.save({"student": trained.state_dict()}, path)
    plans = HeldOutPlans(pairs, references, teacher, teacher, trained, saved)
    return PlanExplorer(plans, epsilon=0.05, checkpoints=saved_checkpoints(tmp_path), student_model=DEFAULT_MODEL)


def test_it_starts_on_the_first_held_out_pair_with_its_links(explorer):
    first = explorer.plans.pairs[0]
    assert (explorer.english.value, explorer.foreign.value) == (first.english, first.foreign)
    assert explorer.student.value == "main-en-ny-test"
    assert list(explorer.student.options) == [UNTRAINED, "main-en-ny-test", "study-other"]
    assert "2 eflomal links" in explorer.status.value
    assert f"{explorer.alignment.cost:.4f}" in explorer.status.value


def test_every_control_redraws(explorer):
    costs = [explorer.alignment.cost]
    explorer.pair.value = 1
    assert explorer.english.value == explorer.plans.pairs[1].english and "1 eflomal links" in explorer.status.value
    costs.append(explorer.alignment.cost)
    explorer.epsilon.value = 0.5
    costs.append(explorer.alignment.cost)
    explorer.student.value = UNTRAINED
    costs.append(explorer.alignment.cost)
    assert len(set(costs)) == 4, costs


def test_an_edited_or_typed_pair_has_no_reference_links(explorer):
    explorer.foreign.value = explorer.foreign.value + " Amen."
    assert "no reference links" in explorer.status.value
    explorer.pair.value = -1
    assert explorer.pair.label == TYPED
    explorer.english.value, explorer.foreign.value = "God is love.", "Mulungu ndiye chikondi."
    assert explorer.alignment.english_tokens[:2] == ["god", "is"] and "no reference links" in explorer.status.value
    explorer.english.value = "  "
    assert "Type an English sentence" in explorer.status.value


def test_another_checkpoint_loads_once_on_first_use(explorer):
    explorer.student.value = "study-other"
    loaded = explorer.student_encoder("study-other")
    assert loaded is explorer.student_encoder("study-other") and loaded is not explorer.plans.trained
    trained_cost = explorer.alignment.cost
    explorer.student.value = "main-en-ny-test"
    assert explorer.alignment.cost == pytest.approx(trained_cost, abs=1e-5)  # the same weights


def test_outside_a_widget_frontend_the_output_is_a_static_image(explorer):
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"])[:8] == PNG_MAGIC


def test_plans_of_a_weights_only_checkpoint_are_refused_for_want_of_a_label(explorer, tmp_path):
    """A file without the run's TrainConfig loads (the explorer above uses one), but the transport-plan report
    labels its rows by the objective that trained it, so it asks for a checkpoint train() wrote."""
    from optical.train import load_student_weights
    from optical.transport_plans import TransportPlanConfig, run_transport_plans

    plans = explorer.plans
    plans.trained = load_student_weights(copy.deepcopy(plans.teacher), plans.checkpoint)
    assert plans.trained.trained_by is None
    with pytest.raises(ValueError, match="records no training configuration"):
        run_transport_plans(TransportPlanConfig(out_dir=str(tmp_path / "out")), plans)

"""Interactive transport plans in JupyterLab: pick or type a pair, a student and epsilon; the heatmap follows.

In a notebook, make a :class:`PlanExplorer` the last expression of a cell. Where widgets render
(JupyterLab, Notebook 7, VS Code) it is live; anywhere else (papermill's output viewed on GitHub,
nbconvert) the same output shows a static image of the first plan.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from pathlib import Path

import ipywidgets as widgets
from IPython.display import Image, display
from matplotlib.figure import Figure

from optical.alignment import SoftAlignment, soft_alignment
from optical.encoders import TokenEncoder
from optical.plots import plot_transport_plan
from optical.transport_plans import HeldOutPlans, links_within, load_student

UNTRAINED = "untrained (the teacher's copy)"
TYPED = "(typed pair)"


class PlanExplorer:
    """A verse pair (held out, or typed), a student and epsilon in; the plan heatmap and <T, C> out.

    Students: the untrained one, the trained one of ``plans``, and every other checkpoint of
    ``checkpoints`` (loaded on first use, from ``student_model``). A held-out pair is drawn with its
    reference links (eflomal's or human) outlined in red; a typed pair has none.
    """

    def __init__(
        self,
        plans: HeldOutPlans,
        *,
        epsilon: float = 0.02,
        checkpoints: dict[str, Path] | None = None,
        student_model: str = "",
    ) -> None:
        self.plans = plans
        self._loaders: dict[str, Callable[[], TokenEncoder]] = {
            UNTRAINED: lambda: plans.untrained,
            plans.checkpoint.parent.name: lambda: plans.trained,
        }
        for name, path in (checkpoints or {}).items():
            if path.resolve() != plans.checkpoint.resolve():
                self._loaders[name] = lambda path=path: load_student(student_model, path, plans.untrained.max_length)
        self._students: dict[str, TokenEncoder] = {}
        choices = [(f"{pair.pair_id}: {pair.english[:70]}", k) for k, pair in enumerate(plans.pairs)]
        self.pair = widgets.Dropdown(
            options=[*choices, (TYPED, -1)], value=0, description="pair", layout=widgets.Layout(width="95%")
        )
        self.english = widgets.Textarea(description="English", layout=widgets.Layout(width="95%"))
        self.foreign = widgets.Textarea(description="foreign", layout=widgets.Layout(width="95%"))
        self.student = widgets.Dropdown(
            options=list(self._loaders), value=plans.checkpoint.parent.name, description="student"
        )
        self.epsilon = widgets.FloatLogSlider(
            value=epsilon,
            base=10,
            min=-3,
            max=0,
            step=0.05,
            description="epsilon",
            continuous_update=False,
            readout_format=".3f",
        )
        self.status = widgets.HTML()
        self.output = widgets.Output()
        self.widget = widgets.VBox(
            [
                self.pair,
                self.english,
                self.foreign,
                widgets.HBox([self.student, self.epsilon]),
                self.status,
                self.output,
            ]
        )
        self.alignment: SoftAlignment | None = None
        self.figure: Figure | None = None
        self._filling = False  # while a picked pair fills the text boxes, one redraw follows, not two
        self.pair.observe(self._on_pair, names="value")
        for control in (self.english, self.foreign, self.student, self.epsilon):
            control.observe(self._on_control, names="value")
        self._on_pair(None)

    def student_encoder(self, name: str) -> TokenEncoder:
        """The student called ``name``, loaded once."""
        if name not in self._students:
            self._students[name] = self._loaders[name]()
        return self._students[name]

    def update(self) -> None:
        """Solve the plan for the current controls and redraw it."""
        english, foreign = self.english.value.strip(), self.foreign.value.strip()
        if not english or not foreign:
            self.status.value = "Type an English sentence and its translation."
            return
        alignment = soft_alignment(
            self.plans.teacher, self.student_encoder(self.student.value), english, foreign, epsilon=self.epsilon.value
        )
        reference = self._reference(alignment)
        self.alignment = alignment
        self.figure = Figure(
            figsize=(
                max(5.0, 0.3 * len(alignment.foreign_tokens) + 2.5),
                max(3.5, 0.3 * len(alignment.english_tokens) + 1.8),
            )
        )
        if reference is None:
            links = "no reference links (typed pair)"
        else:
            links = f"{len(reference)} {self.plans.reference_name} links in red"
        plot_transport_plan(
            alignment,
            ax=self.figure.subplots(),
            reference=reference,
            title=f"{self.student.value}, epsilon {self.epsilon.value:.3f}: <T,C> = {alignment.cost:.3f}; {links}",
        )
        self.status.value = f"<b>&lt;T, C&gt; = {alignment.cost:.4f}</b> &nbsp; {links}"
        with self.output:
            self.output.clear_output(wait=True)
            display(Image(data=self.png()))

    def png(self) -> bytes:
        """The current heatmap as PNG bytes."""
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()

    def _repr_mimebundle_(self, **kwargs) -> dict:
        """The live widget, with a PNG of the current plan for viewers that cannot run widgets."""
        bundle = self.widget._repr_mimebundle_(**kwargs)
        return {**bundle, "image/png": base64.b64encode(self.png()).decode("ascii")}

    def _reference(self, alignment: SoftAlignment):
        index = self.pair.value
        if index < 0:
            return None
        pair = self.plans.pairs[index]
        if (self.english.value.strip(), self.foreign.value.strip()) != (pair.english.strip(), pair.foreign.strip()):
            return None  # edited: the pair's links no longer apply
        return links_within(alignment, self.plans.references[index])

    def _on_pair(self, _change) -> None:
        if self.pair.value >= 0:
            pair = self.plans.pairs[self.pair.value]
            self._filling = True
            try:
                self.english.value, self.foreign.value = pair.english, pair.foreign
            finally:
                self._filling = False
        self.update()

    def _on_control(self, _change) -> None:
        if not self._filling:
            self.update()

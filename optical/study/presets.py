"""Named budgets of a study's students, written once: the notebooks that share runs (RQ1, RQ3 and RQ4 score the
same students of the fair trial; the dev curves and the recipe searches share their default runs) name the budget
instead of retyping its numbers, so they cannot drift apart.

>>> budget = PRESETS["fair-trial"].changed({"seeds": [0]})  # a quick look at one seed
>>> budget.train_pairs, budget.epochs, budget.seeds
(16000, 4, [0])
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from optical.study.settings import DEV_CHOSEN_RECIPES, StudyRun, StudySettings, grid, recipe_labels
from optical.train import TrainConfig


@dataclass(frozen=True)
class Budget:
    """What every student of a study gets: pairs, epochs, seeds and learning rate, and how the step it is scored
    at is chosen (``curve_every`` > 0: the best dense dev MAP of a curve on the dev books; 0: the last step)."""

    train_pairs: int  # training pairs drawn per run
    epochs: int  # passes over them
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    lr: float = 1e-4  # peak learning rate
    curve_every: int = 0  # steps between dev evaluations (0: no curve, the last step is scored)
    curve_queries: int = 200  # dev queries per curve point
    patience: int = 0  # > 0: stop once dense dev MAP has not risen for this many steps
    more_seeds: dict[str, list[int]] = field(default_factory=dict)  # label -> seeds it trains beyond ``seeds``

    def changed(self, changes: dict) -> Budget:
        """This budget with ``changes`` (field -> value) applied; an unknown field is refused."""
        unknown = set(changes) - {spec.name for spec in fields(self)}
        if unknown:
            raise ValueError(f"a budget has no {sorted(unknown)}; its fields: {[spec.name for spec in fields(self)]}")
        return replace(self, **changes)

    def runs(self, languages: list[str], objectives: list[str], recipes: dict | None = None) -> list[StudyRun]:
        """Every run of ``objectives`` (each recipe of ``recipes``) per language and seed, at this budget; the labels
        of ``more_seeds`` among them (systems closer than their seeds' spread) with those seeds too, after their own."""
        runs = []
        for run in grid(languages, objectives, self.seeds, [self.train_pairs], recipes=recipes, epochs=self.epochs):
            runs.append(run)
            if run.seed == self.seeds[-1]:  # a label's last seed: its further seeds follow
                runs += [replace(run, seed=seed) for seed in self.more_seeds.get(run.label, ())]
        return runs

    @property
    def described_seeds(self) -> str:
        """The seeds as a report names them: ``[0, 1, 2]``, or ``[0, 1, 2]; `kl` also 3, 4`` with ``more_seeds``."""
        further = [f"`{label}` also {', '.join(map(str, seeds))}" for label, seeds in self.more_seeds.items()]
        return "; ".join([str(self.seeds), *further])

    def settings(self, device: str = "auto", **settings) -> StudySettings:
        """:class:`StudySettings` with this budget's learning rate and curve, and ``settings`` (other fields)."""
        return StudySettings(
            curve_every=self.curve_every,
            curve_queries=self.curve_queries,
            patience=self.patience,
            train=TrainConfig(lr=self.lr, device=device),
            **settings,
        )


PRESETS: dict[str, Budget] = {
    # The common budget of the objectives' fair trial: 2,000 steps of 32, each run scored at its best dev step; the
    # dev-chosen recipes of the objectives with negatives, closer than their 3 seeds' spread, get 6 (seeds 3-5).
    "fair-trial": Budget(
        train_pairs=16000,
        epochs=4,
        seeds=[0, 1, 2],
        curve_every=100,
        curve_queries=200,
        more_seeds={label: [3, 4, 5] for label in recipe_labels(DEV_CHOSEN_RECIPES)},
    ),
    # The dev search of settings (learning_curves.ipynb, ot_recipe.ipynb: one default run shared by both): the same
    # pairs and steps on one seed, stopped once the dense dev curve has not risen for 500 steps.
    "dev-search": Budget(train_pairs=16000, epochs=4, seeds=[0], curve_every=100, curve_queries=200, patience=500),
}

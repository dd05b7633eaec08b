"""Token labels in every script draw as glyphs: a missing glyph is a failure, not a box."""

import warnings

import matplotlib.pyplot as plt
import torch

from optical.alignment import SoftAlignment
from optical.fonts import use_script_fonts
from optical.plots import plot_transport_plan

# Greek, Arabic, Devanagari, Ethiopic, Chinese, Japanese, Korean: "word" or "book"
TOKENS = ["λόγος", "كتاب", "पुस्तक", "መጽሐፍ", "书", "書物", "책"]


def test_every_font_of_the_chain_is_installed():
    assert use_script_fonts() == (), "make install installs the Noto fonts (scripts/install-debian-data.sh)"


def test_a_plan_with_tokens_in_seven_scripts_draws_without_missing_glyphs():
    plan = torch.full((2, len(TOKENS)), 1.0 / (2 * len(TOKENS)))
    alignment = SoftAlignment(plan, ["the", "word"], TOKENS, 0.5, [0, 1], list(range(len(TOKENS))))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure = plot_transport_plan(alignment, title="Λόγος · كتاب · पुस्तक · መጽሐፍ · 書物 · 책")
        figure.canvas.draw()
    plt.close(figure)
    missing = [str(warning.message) for warning in caught if "missing from font" in str(warning.message)]
    assert not missing, missing[:3]

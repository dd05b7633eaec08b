"""Fonts for every script: the one place that tells matplotlib which fonts draw token labels.

matplotlib falls back from one family of ``font.sans-serif`` to the next glyph by glyph, so a heatmap
whose tokens mix Latin, Greek, Arabic, Devanagari, Ethiopic and CJK draws each with the first family
that has it. The Noto families come from the Debian packages in :data:`FONT_PACKAGES`, which
``make install`` installs (``scripts/install-debian-data.sh``).
"""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

from matplotlib import font_manager, rcParams

# family -> file name (without extension) of its regular face, in the order glyphs are looked up
SCRIPT_FONTS = {
    "DejaVu Sans": "DejaVuSans",  # Latin, Greek, Cyrillic (matplotlib's own default)
    "Noto Sans": "NotoSans-Regular",
    "Noto Sans Arabic": "NotoSansArabic-Regular",
    "Noto Sans Devanagari": "NotoSansDevanagari-Regular",
    "Noto Sans Ethiopic": "NotoSansEthiopic-Regular",
    "Noto Sans CJK JP": "NotoSansCJK-Regular",  # Chinese, Japanese, Korean
}
FONT_PACKAGES = ("fonts-noto-core", "fonts-noto-cjk")


def _known_families() -> set[str]:
    return {entry.name for entry in font_manager.fontManager.ttflist}


@cache
def use_script_fonts() -> tuple[str, ...]:
    """Make the installed :data:`SCRIPT_FONTS` matplotlib's font families; return the missing families.

    Fonts installed after matplotlib cached its font list are registered from the system's font
    folders. A missing family is warned about once (labels in its scripts would draw as boxes).
    """
    missing = [family for family in SCRIPT_FONTS if family not in _known_families()]
    if missing:
        wanted = {SCRIPT_FONTS[family]: family for family in missing}
        for path in font_manager.findSystemFonts():
            if Path(path).stem in wanted:
                font_manager.fontManager.addfont(path)
        missing = [family for family in missing if family not in _known_families()]
    if missing:
        warnings.warn(
            f"fonts {missing} are not installed, so some scripts draw as empty boxes: "
            f"sudo apt-get install {' '.join(FONT_PACKAGES)} (make install does this as root)",
            stacklevel=2,
        )
    found = [family for family in SCRIPT_FONTS if family not in missing]
    rcParams["font.family"] = found  # a list of families: matplotlib falls back glyph by glyph
    return tuple(missing)

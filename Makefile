# Two commands on a fresh machine:  `make main` (set up + main job)  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU wheel of torch; on a GPU machine pass e.g. TORCH_SPEC=torch for a CUDA build.
TORCH_SPEC ?= torch==2.13.0
MAIN_ARGS ?=

.PHONY: install main test figures studies figures-quick benchmarks kernel lab lint clean

$(VENV)/.installed: pyproject.toml
	bash scripts/install-debian-data.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

main: install
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) -m optical $(MAIN_ARGS)

test: install
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) -m pytest -q

figures: install
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) scripts/regenerate_figures.py

studies: install
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) scripts/regenerate_figures.py --only studies

figures-quick: install
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) scripts/regenerate_figures.py --quick

# Timings for benchmarks/results/ (about 15 min on 2 CPU cores); BENCH_DEVICE=cuda on a GPU machine.
BENCH_DEVICE ?= cpu
benchmarks: install
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) -m benchmarks.sinkhorn --device $(BENCH_DEVICE)
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) -m benchmarks.training_step --device $(BENCH_DEVICE)
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) -m benchmarks.retrieval --device $(BENCH_DEVICE)
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) -m benchmarks.scaling --device $(BENCH_DEVICE)
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(PY) -m benchmarks.training_speed --device $(BENCH_DEVICE)

kernel: install
	$(PY) -m ipykernel install --user --name optical-lab --display-name "Python (OPTICAL-lab)"

lab: kernel
	$(PY) -m pip install --quiet -e ".[dev,lab]"
	HF_HUB_OFFLINE=1 $(VENV)/bin/jupyter lab notebooks/

lint: install
	$(VENV)/bin/ruff check optical tests benchmarks scripts

clean:
	rm -rf $(VENV) .cache .pytest_cache

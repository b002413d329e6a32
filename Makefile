# Two commands on a fresh clone: `make demo` and `make test` (each installs into .venv/ first if needed).
# TORCH_SPEC picks the torch build: the CPU build by default. On a CUDA machine name the build you want, e.g.
# `make install TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"` (pip arguments).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0+cpu
STAMP := $(VENV)/.installed

.PHONY: install demo test clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e ".[test,yolox]"
	$(BIN)/python -m pip install --quiet --no-build-isolation --no-deps "yolox==0.3.0"
	touch $(STAMP)

demo: install
	$(BIN)/bench run --suite synth

test: install
	$(BIN)/python -m pytest -q -n auto --dist worksteal

clean:
	rm -rf $(VENV) .cache results/*/

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
	$(BIN)/python -m pip install --quiet --no-compile $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet --no-compile -e ".[test,yolox]"
	$(BIN)/python -m pip install --quiet --no-compile --no-build-isolation --no-deps "yolox==0.3.0"
	@# pip byte-compiles one file at a time (54 of the install's 87 s on 2 cores); compileall -j 0 does the same on
	@# every core. Like pip, it leaves a file that does not compile (a template, another Python's syntax) as source.
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null || true
	touch $(STAMP)

demo: install
	$(BIN)/bench run --suite synth

test: install
	$(BIN)/python -m pytest -q -n auto --dist worksteal

clean:
	rm -rf $(VENV) .cache results/*/

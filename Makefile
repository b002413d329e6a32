# Two commands on a fresh clone: `make demo` and `make test` (each installs into .venv/ first if needed).
# TORCH_SPEC picks the torch build: the CPU build by default. On a CUDA machine name the build you want, e.g.
# `make install TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"` (installer arguments).
# INSTALLER=uv (default) installs with uv, fetched into .venv/uv/ by pip: the same packages as pip, in 23 s instead
# of 58 s on 2 cores with warm download caches. uv reads no pip configuration, so pip's find-links (where this
# machine keeps the torch wheels) are passed on; INSTALLER=pip installs with pip alone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0+cpu
INSTALLER ?= uv
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed

.PHONY: install demo test clean

install: $(STAMP)

# Byte-compiled once here, on every core, because a Python run with PYTHONDONTWRITEBYTECODE set (as on our machines)
# would otherwise compile each module from source in every process (import of the run's libraries: 5 s -> 11 s).
# Package test suites (*/tests/) are never imported and are left as source (17 s instead of 25 s on 2 cores); like
# pip, compileall leaves a file that does not compile (a template, another Python's syntax) as source.
COMPILE = $(BIN)/python -m compileall -q -j 0 -x '/tests?/' $(VENV)/lib > /dev/null || true

ifeq ($(INSTALLER),uv)
FIND_LINKS = $(shell $(PYTHON) -m pip config list 2>/dev/null | sed -n "s/^.*find-links='\(.*\)'$$/\1/p" | tr ' ' '\n' | sort -u)
UV_PIP = $(VENV)/uv/bin/uv pip install --quiet --python $(BIN)/python $(foreach d,$(FIND_LINKS),--find-links $(d))
$(STAMP): pyproject.toml Makefile
	rm -rf $(VENV)
	$(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --target $(VENV)/uv "uv==$(UV_VERSION)"
	$(UV_PIP) $(TORCH_SPEC)
	$(UV_PIP) -e ".[test,yolox]"
	$(UV_PIP) --no-build-isolation --no-deps "yolox==0.3.0"
	$(COMPILE)
	touch $(STAMP)
else ifeq ($(INSTALLER),pip)
$(STAMP): pyproject.toml Makefile
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet --no-compile -e ".[test,yolox]"
	$(BIN)/python -m pip install --quiet --no-compile --no-build-isolation --no-deps "yolox==0.3.0"
	$(COMPILE)
	touch $(STAMP)
else
$(error INSTALLER must be uv or pip, not '$(INSTALLER)')
endif

demo: install
	$(BIN)/bench run --suite synth

test: install
	$(BIN)/python -m pytest -q -n auto --dist worksteal

clean:
	rm -rf $(VENV) .cache results/*/

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

# Nothing is byte-compiled at install (compileall of all 13,534 files was 17 s of a 25 s install). `make demo` and
# `make test` run with bytecode writing on instead, so Python compiles a module the first time any process imports
# it and every later process loads its .pyc: the ~2,500 files a run imports cost about 6 s once. Where
# PYTHONDONTWRITEBYTECODE is set (as on our machines) it is unset for these two commands only; other commands then
# load what they compiled, and a module neither ever imported compiles in each process (`.venv/bin/python -m
# compileall -q -j 0 .venv/lib` compiles everything once).
WRITE_BYTECODE = env -u PYTHONDONTWRITEBYTECODE

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
	touch $(STAMP)
else ifeq ($(INSTALLER),pip)
$(STAMP): pyproject.toml Makefile
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet --no-compile -e ".[test,yolox]"
	$(BIN)/python -m pip install --quiet --no-compile --no-build-isolation --no-deps "yolox==0.3.0"
	touch $(STAMP)
else
$(error INSTALLER must be uv or pip, not '$(INSTALLER)')
endif

demo: install
	$(WRITE_BYTECODE) $(BIN)/bench run --suite synth

test: install
	$(WRITE_BYTECODE) $(BIN)/python -m pytest -q -n auto --dist worksteal

clean:
	rm -rf $(VENV) .cache results/*/

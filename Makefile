# seedwise: the two set-up commands of the README, and their parts.
#   make demo   fresh machine -> virtual environment -> seedwise -> `seedwise demo`
#   make test   fresh machine -> virtual environment -> seedwise with every extra -> static checks -> the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of PyTorch: on this project's machines pip takes it from the local wheel
# cache; never let pip resolve a bare `torch`, which pulls a multi-GB CUDA build.
TORCH ?= torch==2.13.0
TEST_EXTRAS ?= dev,ray,tensorflow,jax,flax,pytensor,gstreamer,lightning,accelerate,transformers,mlflow,wandb
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check --progress-bar off
DEMO_ARGS ?=
PYTEST_ARGS ?=

.PHONY: demo test check install install-test system-deps bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(PIP) "$(TORCH)"
	$(PIP) -e .

demo: install
	$(BIN)/seedwise demo $(DEMO_ARGS)

# GStreamer and PyGObject's build dependencies come from Debian's packages, and Chromium
# (the report's check in a headless browser, tests/report/test_report_browser.py).
GST_PACKAGES := libgirepository1.0-dev libcairo2-dev gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 \
	gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-tools pkg-config
system-deps:
	@if command -v apt-get >/dev/null 2>&1; then \
	  if ! dpkg -s $(GST_PACKAGES) >/dev/null 2>&1; then \
	    echo "installing GStreamer system packages"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(GST_PACKAGES) >/dev/null; \
	  fi; \
	  if ! command -v chromium >/dev/null 2>&1; then \
	    echo "installing Chromium (the report's check in a headless browser)"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null \
	      || echo "WARNING: could not install Chromium: tests/report/test_report_browser.py will be skipped"; \
	  fi; \
	else echo "apt-get not found: install GStreamer 1.x, gobject-introspection, cairo development files and Chromium yourself"; fi

install-test: system-deps $(BIN)/python
	$(PIP) "$(TORCH)"
	$(PIP) -e ".[$(TEST_EXTRAS)]"

# Static checks first (seconds): formatting, lint, and strict types over src/ (config in pyproject.toml).
check: install-test
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/mypy src/seedwise

test: check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(PIP) -e ".[bench]"
	for script in benchmarks/*.py; do echo "== $$script"; OMP_NUM_THREADS=1 $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache

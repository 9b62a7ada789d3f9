# Quick start: `make studio` and `make test`. Both create .venv and install into it when needed.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export PYTHONUNBUFFERED := 1

.PHONY: studio test samples lab clean-venv

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The Gradio studio on the shipped miniature: teacher 50 steps against student 5 steps, on 127.0.0.1:7860.
studio: $(STAMP)
	$(PY) -m accvideo studio

samples: $(STAMP)
	$(PY) -m accvideo generate --model teacher --prompts assets/samples/prompts.txt --output-dir outputs/samples --json
	@echo "sample clips are in outputs/samples/ (prompts: assets/samples/prompts.txt)"

# The browser test needs Debian's chromium; install it when missing. Two pytest-xdist workers, one per core, each
# (with the processes it starts: CLI runs, notebook kernels) on one thread (tests/conftest.py).
test: $(STAMP)
	command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; } || echo "chromium could not be installed: the browser test will be skipped"
	$(PY) -m pytest -n 2

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/ --ip 127.0.0.1 --no-browser

clean-venv:
	rm -rf $(VENV)

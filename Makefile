# Quick start: `make studio` and `make test`. Both create .venv and install into it when needed.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
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

# Until the Gradio studio lands, `make studio` generates sample clips with the shipped teacher.
studio: samples

samples: $(STAMP)
	$(PY) -m accvideo generate --model teacher --prompts assets/samples/prompts.txt --output-dir outputs/samples --json
	@echo "sample clips are in outputs/samples/ (prompts: assets/samples/prompts.txt)"

test: $(STAMP)
	$(PY) -m pytest

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/ --ip 127.0.0.1 --no-browser

clean-venv:
	rm -rf $(VENV)

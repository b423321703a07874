# Baton: `make run` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
BATON := $(VENV)/bin/baton
MODEL := models/baton.tar.gz
STAMP := $(VENV)/.installed

export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test train evaluate bench venv chromium rasa-webchat services clean help

help:
	@echo "make run       set up (venv, model, database) and start Baton on SQLite"
	@echo "make test      set up and run the whole test suite"
	@echo "make train     retrain the model from data/"
	@echo "make evaluate  held-out accuracy and the handoff threshold curve (docs/evaluation)"
	@echo "make bench     Baton vs rasa run on the same model; rewrites the Speed section of benchmarks/RESULTS.md"

$(STAMP): pyproject.toml constraints.txt
	@if [ ! -x $(PY) ]; then \
	  PY310=$$(.ci/find-python310) || exit 1; \
	  echo "Creating $(VENV) with $$PY310"; \
	  $$PY310 -m venv $(VENV); \
	fi
	@echo "Installing Baton and Rasa 3.6.21 (the first time takes 2–5 minutes, ~2.7 GB)…"
	$(PY) -m pip install -q --upgrade "pip<25" wheel
	$(PY) -m pip install -q -c constraints.txt -e ".[test]"
	@touch $(STAMP)

venv: $(STAMP)

$(MODEL): | $(STAMP)
	$(BATON) train --out $(MODEL)

train: $(STAMP)
	$(BATON) train --out $(MODEL)

evaluate: $(STAMP)
	$(BATON) evaluate --config config.yml --out docs/evaluation/production

run: $(STAMP) $(MODEL)
	$(BATON) serve --demo --model $(MODEL)

chromium:
	@.ci/ensure-chromium

rasa-webchat:
	@.ci/ensure-rasa-webchat

test: $(STAMP) chromium rasa-webchat
	$(PY) -m pytest -q -p no:cacheprovider

# Trains the production model once (about 7-11 minutes) unless models/baton.tar.gz exists; then
# about 15 minutes of bounded load on loopback. Needs PostgreSQL on 127.0.0.1:5432 (BATON_BENCH_PG).
bench: $(STAMP) $(MODEL)
	$(PY) benchmarks/bench.py --model $(MODEL)

clean:
	rm -rf $(VENV) models .cache baton.db baton.db-wal baton.db-shm

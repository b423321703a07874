# Baton: `make run` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
BATON := $(VENV)/bin/baton
MODEL := models/baton.tar.gz
STAMP := $(VENV)/.installed

export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test unit screenshots train evaluate bench-nlu bench-inbox bench venv chromium rasa-webchat services clean help

help:
	@echo "make run       set up (venv, model, database) and start Baton on SQLite"
	@echo "make test      set up and run the whole test suite"
	@echo "make unit      the fast unit tests only (no model, about ten seconds)"
	@echo "make screenshots  refresh the pictures in docs/ from the browser tests"
	@echo "make train     retrain the model from data/"
	@echo "make evaluate  learn the handoff thresholds; the three figures on the store test set (docs/evaluation)"
	@echo "make bench-nlu Baton vs plain Rasa on the store set and Banking77 (benchmarks/RESULTS.md; hours: the stock"
	@echo "              DIET baseline alone takes ~3 CPU-hours per Banking77 seed; finished jobs are cached in .cache/nlu-eval)"
	@echo "make bench-inbox  a third of the data back through the review inbox: the figures before and after (~30-50 min)"
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
	$(BATON) evaluate --config config.yml --out docs/evaluation

bench-nlu: $(STAMP)
	$(BATON) evaluate --config config.yml --out docs/evaluation --baseline --banking77 --seeds 1 2 3 \
	  --time-training --nice 5 --results benchmarks/RESULTS.md

# Through the product: baton train/evaluate/serve, the REST channel, the review inbox and the
# training API as the demo trainer; rewrites the inbox-loop section of benchmarks/RESULTS.md.
bench-inbox: $(STAMP)
	nice -n 10 $(PY) benchmarks/inbox_loop.py --results benchmarks/RESULTS.md

run: $(STAMP) $(MODEL)
	$(BATON) serve --demo --model $(MODEL)

chromium:
	@.ci/ensure-chromium

rasa-webchat:
	@.ci/ensure-rasa-webchat

test: $(STAMP) chromium rasa-webchat
	$(PY) -m pytest -q -p no:cacheprovider

unit: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests/bot tests/agent_console

screenshots: $(STAMP) chromium rasa-webchat
	BATON_UPDATE_SCREENSHOTS=1 $(PY) -m pytest -q -p no:cacheprovider tests/e2e -m browser

# Trains the production model once (about 7-11 minutes) unless models/baton.tar.gz exists; then
# about 15 minutes of bounded load on loopback. Needs PostgreSQL on 127.0.0.1:5432 (BATON_BENCH_PG).
bench: $(STAMP) $(MODEL)
	$(PY) benchmarks/bench.py --model $(MODEL)

clean:
	rm -rf $(VENV) models .cache baton.db baton.db-wal baton.db-shm

# storydesk: `make ask Q="..."` and `make test` do all setup on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
Q ?= Who called the decision catastrophic?
STORY := stories/met-police-safer-schools-officers.txt

.PHONY: ask test install index eval serve bench clean

install: $(STAMP)

# torch goes in first and pinned, so pip takes the CPU wheel instead of a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

index: $(STAMP)
	$(BIN)/storydesk ingest --if-empty $(STORY)

ask: index
	$(BIN)/storydesk ask "$(Q)"

test: $(STAMP)
	$(BIN)/python -m pytest -q

eval: index
	$(BIN)/storydesk eval eval/bundled_questions.jsonl ../shared/eval/dev/seed_questions.jsonl ../shared/eval/dev/questions.jsonl ../shared/eval/dev/quotes.jsonl

serve: index
	$(BIN)/storydesk serve

PART ?= all
bench: $(STAMP)
	$(BIN)/python -m bench $(if $(filter-out all,$(PART)),--part $(PART)) $(if $(QUICK),--quick)

clean:
	rm -rf var/index

# storydesk: `make ask Q="..."` and `make test` do all setup on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
Q ?= Who called the decision catastrophic?
STORY := stories/met-police-safer-schools-officers.txt
# The shared annotation folder: ../shared beside the repository unless STORYDESK_SHARED says otherwise.
SHARED ?= $(or $(STORYDESK_SHARED),../shared)
LINTED := index bot evaluation bench training tests

.PHONY: ask test lint install index eval eval-heldout eval-test train serve bench clean

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

# Lint first, so CI (which runs `make test`) enforces it.
test: lint
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/mypy

eval: index
	$(BIN)/storydesk eval --shared $(SHARED) eval/bundled_questions.jsonl $(SHARED)/eval/dev/seed_questions.jsonl $(SHARED)/eval/dev/questions.jsonl $(SHARED)/eval/dev/quotes.jsonl

# Our own held-out sets (eval/README.md): archive a+b, archive c+d with the new bundled-story questions.
eval-heldout: $(STAMP)
	$(BIN)/storydesk eval --shared $(SHARED) eval/heldout/questions-a.jsonl eval/heldout/questions-b.jsonl eval/heldout/quotes-a.jsonl eval/heldout/quotes-b.jsonl
	$(BIN)/storydesk eval --shared $(SHARED) eval/heldout/questions-c.jsonl eval/heldout/questions-d.jsonl eval/heldout/questions-story.jsonl eval/heldout/quotes-c.jsonl eval/heldout/quotes-d.jsonl

# The frozen test splits (eval/README.md): scored once per stop, never trained or tuned on; then
# the plain pipeline on the same questions (evaluation/plain_eval.py), the yardstick beside them.
eval-test: $(STAMP)
	$(BIN)/storydesk eval --shared $(SHARED) eval/reader/test/questions-story.jsonl eval/reader/test/questions-w1.jsonl eval/reader/test/questions-w2.jsonl eval/reader/test/questions-w3.jsonl eval/reader/test/questions-w4.jsonl
	$(BIN)/python -m evaluation.attribution_eval --gold eval/quotes/test/quotes-u1.jsonl eval/quotes/test/quotes-u2.jsonl
	$(BIN)/python -m evaluation.plain_eval eval/reader/test/questions-story.jsonl eval/reader/test/questions-w1.jsonl eval/reader/test/questions-w2.jsonl eval/reader/test/questions-w3.jsonl eval/reader/test/questions-w4.jsonl --corpus stories $(SHARED)/corpus

# The fine-tuned bi-encoder (index/weights/biencoder/), then the reader, which learns on the new
# model's shortlists: a 6-layer teacher (build/, too slow to serve), then the 4-layer reader that
# serves (index/weights/reader/), distilled from it; from eval/reader/train and dev, seeded, with a
# fixed number of torch threads, so the same files give the same weights on the same CPU (another CPU
# rounds its sums differently: other bits, the same dev figures to 0.003). `make ask/test` never train.
train: $(STAMP)
	STORYDESK_SHARED=$(SHARED) $(BIN)/python -m training.biencoder
	STORYDESK_SHARED=$(SHARED) $(BIN)/python -m training.reader --layers 6 --lr 7e-5 --threads 2 --out build/reader-teacher
	STORYDESK_SHARED=$(SHARED) $(BIN)/python -m training.reader --layers 4 --lr 1e-4 --threads 2 --teacher build/reader-teacher

serve: index
	$(BIN)/storydesk serve

PART ?= all
bench: $(STAMP)
	$(BIN)/python -m bench $(if $(filter-out all,$(PART)),--part $(PART)) $(if $(QUICK),--quick) $(if $(PG_VECTORS),--pg-vectors $(PG_VECTORS))

clean:
	rm -rf var/index

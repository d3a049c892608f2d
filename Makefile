# biomed-curate: `make demo` and `make test` work on a fresh machine with Python 3.11.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= out/demo
# GPU=1 installs faiss-gpu-cu12 instead of faiss-cpu (they install one module, `faiss`)
GPU ?=
FAISS_EXTRA := $(if $(GPU),gpu,faiss)
# the CUDA build pip takes from local disk; first, so no extra pulls another torch
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
DEMO_CORPUS ?= out/demo-corpus
IN ?=
BEAM_ARGS ?=
export OMP_NUM_THREADS = 1
export OPENBLAS_NUM_THREADS = 1
export MKL_NUM_THREADS = 1

.PHONY: install demo test lint bench all extract segment tag export train train-demo clean

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or make PYTHON=python3)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PINS)
	$(PY) -m pip install -q -e ".[pdf,embed,$(FAISS_EXTRA),train,dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) -m demo --output $(DEMO_CORPUS)
	$(PY) -m pipeline all --input $(DEMO_CORPUS) --output $(OUT) --quiet --force $(BEAM_ARGS)
	$(PY) -m pipeline.contact_sheet $(OUT)/panels $(OUT)/contact_sheet.png
	$(PY) -m demo.report $(OUT)

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install
	$(PY) benchmarks/extract.py
	$(PY) benchmarks/pdf.py
	$(PY) benchmarks/segment.py
	$(PY) benchmarks/tag.py
	$(PY) benchmarks/export.py
	$(PY) benchmarks/train.py

# One target per stage; each reads the previous stage's folder under OUT.
all: install
	$(PY) -m pipeline all --input $(or $(IN),$(DEMO_CORPUS)) --output $(OUT) $(BEAM_ARGS)

extract: install
	$(PY) -m pipeline extract --input $(or $(IN),$(DEMO_CORPUS)) --output $(OUT)/figures $(BEAM_ARGS)

segment: install
	$(PY) -m pipeline segment --input $(OUT)/figures --output $(OUT)/panels $(BEAM_ARGS)

tag: install
	$(PY) -m pipeline tag --input $(OUT)/panels --output $(OUT)/tagged $(BEAM_ARGS)

export: install
	$(PY) -m pipeline export --input $(OUT)/deduped --output $(OUT)/export $(BEAM_ARGS)

# The bundled CLIP trainer on exported shards: DATA and VAL are tar folders, globs or brace lists.
DATA ?= $(OUT)/export/wds/train
VAL ?= $(OUT)/export/wds/validation
train: install
	$(PY) -m trainer --train-data '$(DATA)' --val-data '$(VAL)' --model $(or $(MODEL),biomed-tiny) \
		--steps $(or $(STEPS),100) --out $(OUT)/train

# A minute of training on the demo export: the loss must fall (see trainer/README.md).
train-demo: install
	test -d $(OUT)/export || $(MAKE) demo OUT=$(OUT)
	$(PY) -m trainer --train-data $(OUT)/export/wds/train --val-data $(OUT)/export/wds/validation \
		--out $(OUT)/train --steps 100 --batch-size 32 --lr 1e-3 --warmup 5 --log-every 10 \
		--checkpoint-every 50

clean:
	rm -rf out

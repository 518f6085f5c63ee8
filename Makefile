# Every target installs what it needs into .venv first (pip; torch comes from the local wheels where present).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: help install demo test test-slow test-all lint typecheck bench bench-stack clean

help:  ## list the targets with what they do
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install almlit with its dev tools

demo: $(STAMP)  ## train BCE and ALM+BCE on the embedded digits data and print their test metrics
	$(PY) -m almlit.demo

test: $(STAMP)  ## the fast suite (CPU, offline, a few minutes)
	$(PY) -m pytest -q -m "not slow"

test-slow: $(STAMP)  ## the longer end-to-end tests
	$(PY) -m pytest -q -m slow

test-all: $(STAMP)  ## both suites
	$(PY) -m pytest -q -m ""

# channels-last: oneDNN's CPU convolutions skip their layout reorders, a training step is ~15% faster than NCHW
bench: $(STAMP)  ## where training time goes on this machine (CPU, under 3 minutes): table + outputs/bench/*.json
	$(PY) -m almlit.bench model=resnet10 data=cifar100 imb=100 module.channels_last=true

# issue 18's CPU targets in one run: ResNet-10 (width 16) stacks of 4 per step, and the demo as one stack of 6 against
# six separate processes, end to end (docs/stacking.md, "Measured")
bench-stack: $(STAMP)  ## stacking on this CPU: stacked vs separate steps (K=1, 4) and the demo end to end (~8 min)
	$(PY) -m almlit.bench model=resnet10 model.width=16 data=cifar10 imb=100 bench.stack=[1,4] bench.end_to_end=true

lint: $(STAMP)  ## ruff check and ruff format --check on src/ and tests/
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

typecheck: $(STAMP)  ## mypy on src/ (the package ships py.typed)
	$(VENV)/bin/mypy src

clean:  ## remove outputs/, multirun/ and the tools' caches
	rm -rf outputs multirun .pytest_cache .ruff_cache

# The paper's tables (docs/reproduce.md): every row an ensemble of run folders under outputs/tables/, finished
# members never retrained; tables as Markdown, CSV and LaTeX with ROC figures under outputs/reports/<table>/.
TABLE1 := experiments/table1_cifar10_imb100.yaml experiments/table1_cifar10_imb200.yaml
TABLE2 := experiments/table2_cifar100_imb100.yaml experiments/table2_cifar100_imb200.yaml
TABLE3 := experiments/table3_mri.yaml
TABLE4 := experiments/table4_cifar10_lt_imb100.yaml experiments/table4_cifar10_lt_imb200.yaml
MRI_ROOT ?= data/mri
SMOKE_DATA := outputs/smoke/cifar
# random-pixel CIFAR10 files (300 training, 50 test images per class) written by the package, not by test code
WRITE_SMOKE_CIFAR := $(PY) -c "from almlit.benchmark.synthetic import write_random_cifar; \
	write_random_cifar('$(SMOKE_DATA)', 'cifar10', 300, 50)"
SMOKE_ROWS := BCE A-FL MBAUC "ALM + BCE" "ALM + A-FL"
TABLE1_ZOO := experiments/table1_zoo_cifar10_imb100.yaml experiments/table1_zoo_cifar10_imb200.yaml
TABLE4_SMOKE_ROWS := CE LDAM "ALM-m1 + CE" "ALM-m1 + LDAM" "ALM-m2 + CE"
ZOO_SMOKE_ROWS := BCE "ALM + BCE" AUCM pAUC-1W pAUC-2W "Balanced Softmax" LA VS
# debug=smoke (src/almlit/conf/debug/smoke.yaml): one epoch of a width-4 network, no progress bar or model summary
SMOKE_SET := data.root=$(SMOKE_DATA) data.download=false debug=smoke

.PHONY: table1 table2 table3 table4 table1-smoke table4-smoke table1-zoo table1-zoo-smoke cost

# On a GPU: make cost COST_SET="bench.device=cuda trainer.precision=bf16-mixed module.channels_last=true"
COST_SET ?=
cost: $(STAMP)  ## what Tables 1, 2 and 4 cost on this machine (one timed epoch per group of rows): outputs/cost/
	$(PY) -m almlit.cost $(TABLE1) $(TABLE2) $(TABLE4) $(if $(strip $(COST_SET)),--set $(COST_SET))

table1: $(STAMP)  ## the paper's Table 1 (binary CIFAR10, 1:100 and 1:200): 34 ensembles of 10 ResNet-10s
	$(PY) -m almlit.report $(TABLE1) --train --paper --ci

table2: $(STAMP)  ## the paper's Table 2 (binary CIFAR100, 1:100 and 1:200): 34 ensembles of 10 ResNet-10s
	$(PY) -m almlit.report $(TABLE2) --train --paper --ci

table3: $(STAMP)  ## the paper's Table 3 layout on an MRI cohort in MRI_ROOT (the in-house data is not public)
	$(PY) -m almlit.report $(TABLE3) --train --paper --ci --set data.root=$(MRI_ROOT)

table4: $(STAMP)  ## the paper's Table 4 (long-tailed CIFAR10, 1:100 and 1:200): 24 ResNet-32s
	$(PY) -m almlit.report $(TABLE4) --train --paper

table1-smoke: $(STAMP)  ## Table 1's pipeline at toy scale: 5 rows x 2 members on generated CIFAR10 files (CPU)
	$(WRITE_SMOKE_CIFAR)
	$(PY) -m almlit.report $(TABLE1) --train --paper --ci --rows $(SMOKE_ROWS) --members 2 \
		--root outputs/smoke/tables --output outputs/smoke/reports/table1 --set $(SMOKE_SET)

table4-smoke: $(STAMP)  ## Table 4's pipeline at toy scale: 5 multi-class rows x 2 ratios, 1 ResNet-32 epoch each (CPU)
	$(WRITE_SMOKE_CIFAR)
	$(PY) -m almlit.report $(TABLE4) --train --paper --rows $(TABLE4_SMOKE_ROWS) --root outputs/smoke/tables \
		--output outputs/smoke/reports/table4 --set $(SMOKE_SET) data.val_per_class=20

table1-zoo: $(STAMP)  ## Table 1 with the comparison zoo as extra rows (shares Table 1's ensembles): 25 rows x 10 members
	$(PY) -m almlit.report $(TABLE1_ZOO) --train --paper --ci --output outputs/reports/table1_zoo

table1-zoo-smoke: $(STAMP)  ## the zoo table's pipeline at toy scale: 8 rows x 2 members, 1:100, generated files (CPU)
	$(WRITE_SMOKE_CIFAR)
	$(PY) -m almlit.report experiments/table1_zoo_cifar10_imb100.yaml --train --paper --ci --rows $(ZOO_SMOKE_ROWS) \
		--members 2 --root outputs/smoke/tables --output outputs/smoke/reports/table1_zoo --set $(SMOKE_SET)

# GPU: one prepared command for a GPU machine that starts bare and has no network (docs/gpu.md). Here: make gpu-wheels
# (Hydra, OmegaConf, ANTLR's runtime, nibabel as pure-Python wheels in gpu_wheels/, ~3.5 MiB, ignored by git). There,
# from the checkout with gpu_wheels/ carried, no install: the device tool's call is
#   run(command="PYTHONUNBUFFERED=1 PYTHONPATH=src python3 -m almlit.benchmark.gpu_check $OUT --wheels gpu_wheels", carry=["gpu_wheels"], timeout_s=600)
# and it brings back $OUT/gpu_check.md, gpu_check.json and gpu_check.log; commit the report as docs/gpu.md.
.PHONY: gpu-wheels gpu-check gpu-check-cpu
GPU_WHEELS := gpu_wheels
GPU_OUT ?= outputs/gpu_check

gpu-wheels: $(STAMP)  ## the wheels a bare GPU machine lacks, in gpu_wheels/ (carry it with the checkout)
	rm -rf $(GPU_WHEELS)
	$(PY) -m almlit.benchmark.wheels $(GPU_WHEELS)

gpu-check:  ## on a GPU machine, no venv needed: smoke, determinism, preemption, bench, members, cost in < 8 min
	PYTHONUNBUFFERED=1 PYTHONPATH=src $(PYTHON) -m almlit.benchmark.gpu_check $(GPU_OUT) --wheels $(GPU_WHEELS)

gpu-check-cpu: $(STAMP)  ## the same steps rehearsed at toy sizes on the CPU (a few minutes; the slow suite runs it)
	$(PY) -m almlit.benchmark.gpu_check $(GPU_OUT)-cpu --device cpu --tiny

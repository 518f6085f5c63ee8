"""The bad-input catalogue: every bad input a user can hand almlit, the command, and the one line it gets.

This list is the single source of the table in docs/bad_inputs.md (``python -m tests.catalogue.render`` writes
it; a test checks it is current) and of the tests that run each command through its real entry point.

To add a row: append a :class:`Case` to the list of its category (or a new category at the end of ``CASES``),
then run ``python -m tests.catalogue.render``.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from almlit.benchmark.synthetic import write_random_cifar
from almlit.report.ensemble_members import compose_member, resolve_member
from almlit.report.ensemble_report import member_dir
from almlit.stacking.checkpoints import fit_loops
from tests.helpers import image_folders
from tests.helpers.cifar_files import rewrite_cifar_file, without_class
from tests.helpers.mri_files import (
    SHAPE,
    axis_aligned_affine,
    build_cohort,
    write_manifest,
    write_nifti,
    write_oriented_nifti,
)
from tests.helpers.network_runs import MRI_RUN, write_network_run
from tests.helpers.pickles import RunsCode
from tests.helpers.scored_runs import binary_config, write_scored_run


def nothing(folder: Path) -> None:
    """Most bad inputs are on the command line alone."""


@dataclass(frozen=True)
class Case:
    """One bad input.

    Attributes:
        id: a short name, unique, used as the test id and the table's first column.
        bad_input: what is wrong, in words.
        command: the module run with ``python -m``.
        arguments: its arguments, relative to the case's folder (the working directory).
        message: the line the user gets: for exit status 2 the text after ``almlit: error: `` on the last
            line of stderr, for another status the first line of stderr.
        setup: writes the bad files into the case's folder before the command runs.
        exit_code: 2 for almlit's one-line errors (Hydra's refusals of a command line too, almlit/bad_overrides.py);
            another status checks the first line of stderr.
        absent_modules: modules that cannot be imported while the command runs, as on a machine without the
            optional extra that installs them.
    """

    id: str
    bad_input: str
    command: str
    arguments: tuple[str, ...]
    message: str
    setup: Callable[[Path], None] = field(default=nothing, compare=False)
    exit_code: int = 2
    absent_modules: tuple[str, ...] = ()

    @property
    def command_line(self) -> str:
        return " ".join(["python -m", self.command, *self.arguments])


# --- files the cases write -----------------------------------------------------------------------------------

FAKE_CIFAR = ("data.root=cifar", "data.download=false")
LONG_TAIL = ("experiment=cifar10_lt", *FAKE_CIFAR, "data.val_per_class=5", "imb=5")


def fake_cifar10(folder: Path) -> Path:
    """Random images in the CIFAR10 pickle layout under ``cifar/``: 30 training and 5 test images per class."""
    return write_random_cifar(folder / "cifar", "cifar10", train_per_class=30, test_per_class=5)


def truncated_cifar(folder: Path) -> None:
    batch = fake_cifar10(folder) / "data_batch_2"
    batch.write_bytes(batch.read_bytes()[:5000])


def cifar_without_labels(folder: Path) -> None:
    batch = fake_cifar10(folder) / "data_batch_3"
    content = pickle.loads(batch.read_bytes(), encoding="bytes")
    batch.write_bytes(pickle.dumps({b"data": content[b"data"]}))


def cifar10_without(class_id: int, files: tuple[str, ...]) -> Callable[[Path], None]:
    """A setup writing the fake CIFAR10 files, then removing every image of ``class_id`` from ``files``."""

    def setup(folder: Path) -> None:
        cifar = fake_cifar10(folder)
        for name in files:
            rewrite_cifar_file(cifar / name, without_class(class_id))

    return setup


def cifar_that_runs_code(folder: Path) -> None:
    content = {b"data": RunsCode("touch ran-code"), b"labels": [0]}
    (fake_cifar10(folder) / "data_batch_1").write_bytes(pickle.dumps(content))


def nifti_orientation(qform: np.ndarray | None, sform: np.ndarray | None) -> Callable[[Path, list[dict]], None]:
    """A cohort change: S03's ADC gets exactly this qform and sform (``None``: unset, code 0)."""

    def change(root: Path, rows: list[dict]) -> None:
        voxels = np.random.default_rng(0).normal(100.0, 10.0, SHAPE).astype(np.float32)
        write_oriented_nifti(root / "S03" / "adc.nii.gz", voxels, qform, sform)

    return change


def mirrored_x(affine: np.ndarray) -> np.ndarray:
    """``affine`` mirrored left-right over the same box: voxel i lands where voxel X - 1 - i did."""
    mirrored = affine.copy()
    mirrored[:3, 0] = -affine[:3, 0]
    mirrored[:3, 3] = affine[:3, 3] + affine[:3, 0] * (SHAPE[0] - 1)
    return mirrored


MRI = ("data=mri", "data.root=cohort", "data.sequences=[t2w,adc]", "model.in_channels=2", "data.shape=[4,6,6]")
MRI = (*MRI, "data.cache_dir=null")


def cohort_with(change: Callable[[Path, list[dict]], None]) -> Callable[[Path], None]:
    """A setup writing the 8-subject test cohort under ``cohort/`` and then spoiling it with ``change``."""

    def setup(folder: Path) -> None:
        root = folder / "cohort"
        rows = build_cohort(root)
        change(root, rows)

    return setup


IMAGES = ("data=images", "data.root=images", "data.positive_classes=[eight]", "data.channels=1", "model=small_cnn")
IMAGES = (*IMAGES, "model.in_channels=1", "data.cache_dir=null")


def digit_folder(change: Callable[[Path], None]) -> Callable[[Path], None]:
    """A setup writing 20 eights and 20 threes as PNG under ``images/<class>/`` and then spoiling it with ``change``."""

    def setup(folder: Path) -> None:
        image_folders.write_digit_folder(folder / "images", {"eight": 20, "three": 20}, {"eight": 8, "three": 3})
        change(folder / "images")

    return setup


def truncate_first_eight(root: Path) -> None:
    path = root / "eight" / "0008.png"
    path.write_bytes(path.read_bytes()[:40])


def add_larger_eight(root: Path) -> None:
    image_folders.write_jpeg_file(root / "eight" / "9999.jpg", image_folders.photo_crops(1, (10, 12))[0])


def manifest_leaving_its_folder(root: Path) -> None:
    rows = [{"path": f"{path.parent.name}/{path.name}", "label": path.parent.name} for path in root.rglob("*.png")]
    image_folders.write_manifest(root / "labels.csv", [*rows[:1], {"path": "../secret.png", "label": "eight"}])


def edit_rows(changes: dict[int, dict]) -> Callable[[Path, list[dict]], None]:
    def change(root: Path, rows: list[dict]) -> None:
        write_manifest(root / "manifest.csv", [{**row, **changes.get(index, {})} for index, row in enumerate(rows)])

    return change


def two_digits_runs(folder: Path, monitors: tuple[str, str], margins: tuple[float, float]) -> None:
    """Two finished runs under ``sweep/`` with the given monitored metrics and margins."""
    for index, (monitor, margin) in enumerate(zip(monitors, margins, strict=True)):
        config = binary_config(margin=margin, monitor=monitor)
        write_scored_run(
            folder / "sweep" / f"{index}_run", config, np.array([0.1, 0.9]), np.array([0, 1]), overrides=[]
        )


def digits_experiment(folder: Path) -> None:
    """A one-row experiment file on the embedded digits, ``digits.yaml``."""
    (folder / "digits.yaml").write_text(
        "table: tiny\nsetting: digits\ntitle: Digits\nmembers: 1\nmetrics: [auc]\ncommon: [data=digits]\n"
        "rows:\n  ALM + BCE: [loss=bce, alm=binary]\n"
    )


def selection_as_a_list(folder: Path) -> None:
    """A selection file that holds a YAML list, not the mapping ``overrides: [...]`` that almlit.select writes."""
    (folder / "selection.yaml").write_text("- loss=bce\n- alm=binary\n")


def ensemble_member_of_another_setting(folder: Path) -> None:
    """Member 0 of ``ensemble/``, finished, trained at imb=50 (as ``almlit.ensemble imb=50`` would have)."""
    run_dir = member_dir(folder / "ensemble", 0)
    config = resolve_member(compose_member(["imb=50"]), run_dir)
    write_scored_run(run_dir, config, np.array([0.1, 0.9]), np.array([0, 1]))


def finished_on_other_digits(folder: Path) -> None:
    """``run/``: a finished digits run whose stored data fingerprint is not that of scikit-learn's digits file."""
    run_dir = (folder / "run").resolve()
    write_scored_run(run_dir, resolve_member(compose_member([]), run_dir), np.array([0.1, 0.9]), np.array([0, 1]))
    stored = {"digest": "0" * 64, "files": {"digits.csv.gz": [57523, "0" * 64]}}
    (run_dir / "data_fingerprint.json").write_text(json.dumps(stored))


# --- the catalogue ------------------------------------------------------------------------------------------

TRAIN = "almlit.train"

CONFIGS = [
    Case(
        "unknown-choice",
        "a group choice that does not exist",
        TRAIN,
        ("data=imagenet",),
        "data=imagenet is no option of the group data; choose one of cifar10, cifar100, cifar100_lt, cifar10_lt, "
        "digits, images, images_multiclass, mri",
    ),
    Case(
        "unknown-key",
        "a misspelt key",
        TRAIN,
        ("trainer.max_epoch=3",),
        "unknown key trainer.max_epoch in trainer.max_epoch=3; closest keys: trainer.max_epochs; "
        "to add a new key write +trainer.max_epoch=3",
    ),
    Case(
        "unknown-key-far-from-any",
        "a key close to no key of the config (an Adam setting for SGD)",
        TRAIN,
        ("optim.betas=[0.9,0.99]",),
        "unknown key optim.betas in optim.betas=[0.9,0.99]; the keys of optim are optim._target_, optim._partial_, "
        "optim.lr, optim.momentum, optim.weight_decay; to add a new key write +optim.betas=[0.9,0.99]",
    ),
    Case(
        "unknown-parent-node",
        "a key under a misspelt node",
        TRAIN,
        ("traner.max_epochs=3",),
        "unknown key traner in traner.max_epochs=3; closest keys: trainer.max_epochs; "
        "to add a new key write +traner.max_epochs=3",
    ),
    Case(
        "unknown-choice-in-a-list",
        "a list of group choices with one that does not exist",
        TRAIN,
        ("logger=[mlflow,wandbb]",),
        "logger=wandbb is no option of the group logger; choose one of csv, mlflow, tensorboard, wandb",
    ),
    Case(
        "malformed-override",
        "an override that does not parse (an unclosed list)",
        TRAIN,
        ("trainer.max_epochs=[1",),
        "malformed override trainer.max_epochs=[1: no viable alternative at input '[1' "
        "(the grammar: https://hydra.cc/docs/1.3/advanced/override_grammar/basic/)",
    ),
    Case(
        "trainer-value-of-another-type",
        "a trainer setting of another type than Lightning's Trainer declares",
        TRAIN,
        ("trainer.max_epochs=abc",),
        "trainer.max_epochs must be an integer or null, got 'abc'",
    ),
    Case(
        "ensemble-unknown-choice",
        "almlit.ensemble with a group choice that does not exist",
        "almlit.ensemble",
        ("alm=m3",),
        "alm=m3 is no option of the group alm; choose one of binary, m1, m2, none",
    ),
    Case(
        "ensemble-unknown-key",
        "almlit.ensemble with a misspelt key",
        "almlit.ensemble",
        ("data.batchsize=8",),
        "unknown key data.batchsize in data.batchsize=8; closest keys: data.batch_size, data.eval_batch_size; "
        "to add a new key write +data.batchsize=8",
    ),
    Case(
        "ensemble-own-key-misspelt",
        "almlit.ensemble with a misspelt key of its own",
        "almlit.ensemble",
        ("membres=3",),
        "unknown key membres in membres=3; closest keys: members; to add a new key write +membres=3",
    ),
    Case(
        "ensemble-stack-key-misspelt",
        "almlit.ensemble with a misspelt ensemble.stack",
        "almlit.ensemble",
        ("ensemble.stak=3",),
        "unknown key ensemble in ensemble.stak=3; closest keys: ensemble.stack; to add a new key write "
        "+ensemble.stak=3",
    ),
    Case(
        "classes-not-a-list",
        "a class id given without the brackets of a list",
        TRAIN,
        ("data.positive_classes=8",),
        "data.positive_classes must be a list of class ids, e.g. data.positive_classes=[8], got 8",
    ),
    Case(
        "imb-below-1",
        "imb below 1",
        TRAIN,
        ("imb=0.5",),
        "imb must be >= 1 (ratio 1:imb of positives to negatives), got 0.5",
    ),
    Case(
        "prevalence-outside-0-1",
        "a deployment prevalence outside (0, 1)",
        TRAIN,
        ("metrics.prevalence=1.5",),
        "metrics.prevalence must lie in (0, 1) (the share of positives where the model is used), got 1.5",
    ),
    Case(
        "calibration-per-class-negative",
        "a negative number of calibration images per class",
        TRAIN,
        ("data.calibration_per_class=-1",),
        "data.calibration_per_class must be an integer >= 0, got -1",
    ),
    Case(
        "calibration-per-class-too-large",
        "more calibration images per class than a class holds",
        TRAIN,
        ("data.calibration_per_class=200",),
        "scikit-learn digits after the test hold-out: class 8: 124 images, at least 201 needed "
        "(data.calibration_per_class=200 held out, 1 to train) (counts per label {0: 128, 1: 132, 2: 127, 3: 133, "
        "4: 131, 5: 132, 6: 131, 7: 129, 8: 124, 9: 130}); use data.calibration_per_class <= 123",
    ),
    Case(
        "mri-calibration-fraction-1",
        "an MRI calibration share of 1 (nothing left to train on)",
        TRAIN,
        (*MRI, "data.calibration_fraction=1.0"),
        "data.calibration_fraction must be in [0, 1), got 1.0",
    ),
    Case(
        "imb-not-a-number",
        "imb that is not a number",
        TRAIN,
        ("imb=abc",),
        "imb must be a number >= 1 (ratio 1:imb of positives to negatives), got 'abc'",
    ),
    Case(
        "imb-too-large",
        "imb that leaves no positive training sample",
        TRAIN,
        ("imb=1000",),
        "imb=1000 leaves no positive training sample: 948 negatives / 1000 < 1; use imb <= 948",
    ),
    Case(
        "majority-fraction-keeps-no-negative",
        "a majority fraction that keeps no negative training image",
        TRAIN,
        ("data.majority_fraction=0.001",),
        "data.majority_fraction=0.001 keeps no negative training sample (floor(0.001 * 108) = 0 for the largest "
        "negative class); use data.majority_fraction >= 0.00926",
    ),
    Case(
        "seed-not-an-integer",
        "a seed that is not an integer",
        TRAIN,
        ("seed=1.5",),
        "seed must be an integer in 0..4294967295, got 1.5",
    ),
    Case("seed-negative", "a negative seed", TRAIN, ("seed=-1",), "seed must be an integer in 0..4294967295, got -1"),
    Case("batch-size-zero", "a batch size of 0", TRAIN, ("data.batch_size=0",), "data.batch_size must be >= 1, got 0"),
    Case(
        "batch-size-one-with-constraint",
        "training batches of one sample with the ALM constraint (never a positive-negative pair)",
        TRAIN,
        ("data.batch_size=1",),
        "training batches of 1 sample (data.batch_size=1 x trainer.devices=1 x trainer.num_nodes=1) never hold a "
        "positive-negative pair: the ALM constraint BinaryConstraint would be 0 at every step; use "
        "data.batch_size >= 2 (best with sampler=dual) or a per-sample loss with alm=none; "
        "trainer.accumulate_grad_batches does not pair samples across batches",
    ),
    Case(
        "batch-size-one-with-pairwise-loss",
        "training batches of one sample with a pairwise loss (mbauc, pauc_oneway, pauc_twoway)",
        TRAIN,
        ("data.batch_size=1", "alm=none", "loss=pauc_oneway"),
        "training batches of 1 sample (data.batch_size=1 x trainer.devices=1 x trainer.num_nodes=1) never hold a "
        "positive-negative pair: the pairwise loss OneWayPartialAUCLoss would be 0 at every step; use "
        "data.batch_size >= 2 (best with sampler=dual) or a per-sample loss with alm=none; "
        "trainer.accumulate_grad_batches does not pair samples across batches",
    ),
    Case(
        "unknown-positive-class",
        "a positive class the data set does not have",
        TRAIN,
        ("data.positive_classes=[42]",),
        "data.positive_classes must hold class ids in 0..9, got [42]",
    ),
    Case(
        "classes-overlap",
        "a class both positive and negative",
        TRAIN,
        ("data.negative_classes=[8]",),
        "data.negative_classes [8] and data.positive_classes [8] must be disjoint, both hold [8]",
    ),
    Case(
        "tpr-level-above-1",
        "a TPR level above 1",
        TRAIN,
        ("metrics.tpr_levels=[1.5]",),
        "`tpr_levels` must lie in (0, 1], got 1.5",
    ),
    Case(
        "false-negatives-negative",
        "a negative k of FPR@kFN",
        TRAIN,
        ("metrics.false_negatives=[-1]",),
        "`false_negatives` must be integers >= 0, got -1",
    ),
    Case(
        "loss-gamma-negative",
        "a negative focal-loss gamma",
        TRAIN,
        ("loss=s_fl", "loss.gamma=-1"),
        "gamma must be >= 0, got -1",
    ),
    Case(
        "model-width-zero",
        "a network of width 0",
        TRAIN,
        ("model.width=0",),
        "width must be a positive int (>= 1), got 0",
    ),
    Case(
        "penalty-negative",
        "a negative mu0",
        TRAIN,
        ("alm.penalty_init=-1",),
        "alm.penalty_init (mu0) must be finite and >= 0, got -1",
    ),
    Case(
        "penalty-and-multipliers-zero",
        "mu0 = 0 and lambda0 = 0 with a constraint (the run would equal its baseline)",
        TRAIN,
        ("alm.penalty_init=0",),
        "alm.penalty_init (mu0) = 0 with alm.multiplier_init (lambda0) = 0 keeps the constraint out of the loss all "
        "run (mu stays 0 when grown by rho, lambda grows by mu * q); use alm.penalty_init > 0 (paper grid 1e-7 .. "
        "1e-3) or alm=none",
    ),
    Case(
        "multiplier-negative",
        "a negative lambda0 (it would reward violations)",
        TRAIN,
        ("alm.multiplier_init=-0.5",),
        "alm.multiplier_init (lambda0) must be finite and >= 0, got -0.5",
    ),
    Case(
        "penalty-infinite",
        "an infinite mu0",
        TRAIN,
        ("alm.penalty_init=inf",),
        "alm.penalty_init (mu0) must be finite and >= 0, got inf",
    ),
    Case(
        "margin-negative",
        "a negative margin delta",
        TRAIN,
        ("alm.constraint.margin=-1",),
        "alm.constraint.margin (delta) must be >= 0, got -1",
    ),
    Case(
        "growth-not-above-1",
        "a growth factor rho <= 1",
        TRAIN,
        ("alm.schedule.growth=1",),
        "alm.schedule.growth (rho) must be > 1, got 1",
    ),
    Case(
        "unknown-schedule-rule",
        "a penalty schedule rule that does not exist",
        TRAIN,
        ("alm.schedule.rule=other",),
        "alm.schedule.rule must be one of ('official', 'paper'), got 'other'",
    ),
    Case(
        "multiclass-alm-on-binary-data",
        "alm=m1 on binary data",
        TRAIN,
        ("alm=m1",),
        "alm=m1 needs a multi-class data set (>= 3 classes), but the data has 2 classes; use alm=binary",
    ),
    Case(
        "multiclass-data-without-its-experiment",
        "long-tailed CIFAR10 as data alone (its classes, outputs and schedule are experiment=cifar10_lt's)",
        TRAIN,
        ("data=cifar10_lt", *LONG_TAIL[1:], "loss=ce", "alm=m1"),
        "num_classes=2, but the data has 10 classes; add experiment=multiclass num_classes=10 (long-tailed CIFAR:"
        " experiment=cifar10_lt|cifar100_lt instead of data=...)",
        setup=fake_cifar10,
    ),
    Case(
        "multiclass-data-without-its-experiment-or-alm",
        "long-tailed CIFAR10 as data alone with the default alm=binary: the experiment is named first",
        TRAIN,
        ("data=cifar10_lt", *LONG_TAIL[1:]),
        "num_classes=2, but the data has 10 classes; add experiment=multiclass num_classes=10 (long-tailed CIFAR:"
        " experiment=cifar10_lt|cifar100_lt instead of data=...)",
        setup=fake_cifar10,
    ),
    Case(
        "multiclass-data-with-one-output",
        "10-class data with num_classes=10 but one network output",
        TRAIN,
        ("data=cifar10_lt", *LONG_TAIL[1:], "num_classes=10", "loss=ce", "alm=m1"),
        "num_outputs=1, but CrossEntropyLoss scores 10-class data with one output per class; add"
        " experiment=multiclass (num_outputs=${num_classes})",
        setup=fake_cifar10,
    ),
    Case(
        "two-output-loss-with-one-output",
        "cross-entropy on binary data with the one-logit head",
        TRAIN,
        ("loss=ce",),
        "CrossEntropyLoss scores 2-class data with 2 output(s), but the config has num_outputs=1; add num_outputs=2",
    ),
    Case(
        "ldam-without-cosine-head",
        "LDAM on a linear head",
        TRAIN,
        ("loss=ldam", "num_outputs=2"),
        "LDAMLoss scores 2-class data with 2 output(s) on the cosine head (its scale multiplies cosine similarities),"
        " but the config has num_outputs=2 and model.normed_head=false; add model.normed_head=true",
    ),
    Case(
        "binary-alm-on-multiclass-data",
        "alm=binary on long-tailed CIFAR10",
        TRAIN,
        (*LONG_TAIL, "loss=ce", "alm=binary"),
        "alm=binary needs a binary data set (2 classes), but the data has 10 classes; use a binary data set "
        "(data=digits|cifar10|cifar100), alm=m1|m2 (the multi-class constraints) or alm=none",
        setup=fake_cifar10,
    ),
    Case(
        "unknown-critical-class",
        "a critical class the data set does not have",
        TRAIN,
        (*LONG_TAIL, "loss=ce", "alm=m1", "data.critical_classes=[12]"),
        "data.critical_classes must hold class ids in 0..9, got [12]",
        setup=fake_cifar10,
    ),
    Case(
        "unknown-stop-signal",
        "a signal name that does not exist for the stop-on-signal callback",
        TRAIN,
        ("callbacks.stop_on_signal.signals=[SIGFOO]",),
        "unknown signal 'SIGFOO': use a name such as SIGTERM or SIGUSR1",
    ),
    Case(
        "sampler-rate-out-of-range",
        "a positive share per batch outside (0, 1)",
        TRAIN,
        ("sampler=dual", "sampler.positive_rate=1.5"),
        "sampler.positive_rate must be in (0, 1), got 1.5",
    ),
    Case(
        "aucm-without-pesg",
        "the min-max AUC-margin loss with an optimiser that cannot ascend its dual variable",
        TRAIN,
        ("loss=aucm", "optim=sgd"),
        "loss AUCMLoss is a min-max objective whose dual variables need gradient ascent, which SGD cannot do; "
        "use optim=pesg callbacks=pesg_stages (PESG with its stages)",
    ),
    Case(
        "mlflow-unknown-scheme",
        "an MLflow tracking URI of a scheme MLflow has no store for",
        TRAIN,
        ("logger=mlflow", "logger.mlflow.tracking_uri=foo://x"),
        "logger.mlflow.tracking_uri=foo://x has the scheme foo, not one of MLflow's: http, https, sqlite, postgresql, "
        "mysql, mssql, file, databricks (e.g. sqlite:///outputs/mlruns.db or http://host:5000)",
    ),
    Case(
        "wandb-unknown-mode",
        "a Weights & Biases mode that W&B does not have",
        TRAIN,
        ("logger=wandb", "logger.wandb.mode=cloud"),
        "logger.wandb.mode=cloud is not one of W&B's modes: offline, online, disabled, shared",
    ),
    Case(
        "wandb-extra-missing",
        "logger=wandb on a machine without the wandb extra",
        TRAIN,
        ("logger=wandb",),
        "logger=wandb needs the optional extra wandb: pip install 'almlit[wandb]' (wandb is not installed)",
        absent_modules=("wandb",),
    ),
]

CIFAR_FILES = [
    Case(
        "cifar-missing",
        "no CIFAR files and data.download=false",
        TRAIN,
        ("data=cifar10", *FAKE_CIFAR),
        "CIFAR10 not found under cifar: expected cifar/cifar-10-batches-py/{data_batch_1..5,test_batch} "
        "(the python-pickle layout); set data.download=true to fetch it or data.root to where it is",
    ),
    Case(
        "cifar-truncated",
        "a CIFAR batch file cut short",
        TRAIN,
        ("data=cifar10", *FAKE_CIFAR),
        "cifar/cifar-10-batches-py/data_batch_2 is not a CIFAR python-pickle file: UnpicklingError: pickle data "
        "was truncated",
        setup=truncated_cifar,
    ),
    Case(
        "cifar-no-labels",
        "a CIFAR batch file without labels",
        TRAIN,
        ("data=cifar10", *FAKE_CIFAR),
        "cifar/cifar-10-batches-py/data_batch_3 is not a CIFAR python-pickle file: key 'labels' (str or bytes) is "
        "missing; it has ['data']",
        setup=cifar_without_labels,
    ),
    Case(
        "cifar-runs-code",
        "a CIFAR batch file whose pickle would run a command",
        TRAIN,
        ("data=cifar10", *FAKE_CIFAR),
        f"cifar/cifar-10-batches-py/data_batch_1 is not a CIFAR python-pickle file: UnpicklingError: it names "
        f"{os.system.__module__}.system, which is refused (a CIFAR file holds only dicts, lists and numpy arrays; "
        "reading it could run code)",
        setup=cifar_that_runs_code,
    ),
    Case(
        "cifar-test-without-positive",
        "a CIFAR test file without the positive class",
        TRAIN,
        ("data=cifar10", *FAKE_CIFAR, "data.val_per_class=5", "imb=5"),
        "CIFAR10 under cifar, test split: positive class (label 1): 0 images, at least 1 needed to compute the test "
        "metrics (counts per label {0: 5, 1: 0})",
        setup=cifar10_without(9, ("test_batch",)),
    ),
    Case(
        "long-tail-test-without-critical",
        "a long-tailed CIFAR test file without the critical class",
        TRAIN,
        (*LONG_TAIL, "loss=ce", "alm=m1"),
        "CIFAR10 under cifar, test split: class 9 (critical): 0 images, at least 1 needed to compute the test "
        "metrics (counts per label {0: 5, 1: 5, 2: 5, 3: 5, 4: 5, 5: 5, 6: 5, 7: 5, 8: 5, 9: 0})",
        setup=cifar10_without(9, ("test_batch",)),
    ),
    Case(
        "long-tail-class-without-training-image",
        "long-tailed CIFAR training files without any image of a class",
        TRAIN,
        (*LONG_TAIL, "loss=ce", "alm=m1"),
        "CIFAR10 under cifar, training files: class 4: 0 images, at least 6 needed (data.val_per_class=5 held out, "
        "1 to train) (counts per label {0: 30, 1: 30, 2: 30, 3: 30, 4: 0, 5: 30, 6: 30, 7: 30, 8: 30, 9: 30}); "
        "no data.val_per_class >= 1 can split class 4: a class needs 2 images, 1 held out and 1 to train",
        setup=cifar10_without(4, tuple(f"data_batch_{number}" for number in range(1, 6))),
    ),
]

NIFTI_COHORTS = [
    Case(
        "nifti-missing",
        "a subject's sequence file is missing",
        TRAIN,
        MRI,
        "subject S03, sequence adc: file not found: cohort/S03/adc.nii.gz or cohort/S03/adc.nii",
        setup=cohort_with(lambda root, rows: (root / "S03" / "adc.nii.gz").unlink()),
    ),
    Case(
        "nifti-not-nifti",
        "a .nii.gz file that is not NIfTI",
        TRAIN,
        MRI,
        "subject S03, sequence t2w: cohort/S03/t2w.nii.gz: not a readable NIfTI file (File "
        "cohort/S03/t2w.nii.gz is not a gzip file)",
        setup=cohort_with(lambda root, rows: (root / "S03" / "t2w.nii.gz").write_text("subject_id,label\n" * 40)),
    ),
    Case(
        "nifti-4d",
        "a 4D volume where a 3D one is expected",
        TRAIN,
        MRI,
        "subject S06, sequence adc: cohort/S06/adc.nii.gz: expected a 3D volume, got a 4D one of shape (6, 8, 7, 2)",
        setup=cohort_with(
            lambda root, rows: write_nifti(root / "S06" / "adc.nii.gz", np.ones((*SHAPE, 2), np.float32))
        ),
    ),
    Case(
        "nifti-nan-voxels",
        "a volume of inf voxels",
        TRAIN,
        MRI,
        "subject S02, sequence t2w: cohort/S02/t2w.nii.gz: 336 of 336 voxels are NaN or inf",
        setup=cohort_with(
            lambda root, rows: write_nifti(root / "S02" / "t2w.nii.gz", np.full(SHAPE, np.inf, np.float32))
        ),
    ),
    Case(
        "nifti-qform-sform-disagree",
        "a NIfTI file whose qform and sform disagree (here: mirrored left-right)",
        TRAIN,
        MRI,
        "subject S03, sequence adc: cohort/S03/adc.nii.gz: its qform (scanner, RAS) and sform (scanner, LAS) "
        "disagree, placing its corners up to 7.5 mm apart; set data.prefer_transform=sform or "
        "data.prefer_transform=qform to say which to trust",
        setup=cohort_with(nifti_orientation(axis_aligned_affine(), mirrored_x(axis_aligned_affine()))),
    ),
    Case(
        "nifti-no-orientation",
        "a NIfTI file with neither qform nor sform (both codes 0)",
        TRAIN,
        (*MRI, "data.prefer_transform=sform"),
        "subject S03, sequence adc: cohort/S03/adc.nii.gz: the file has no orientation (qform_code = sform_code = "
        "0), so where its voxels lie in space is unknown and could only be guessed; set its qform or sform (e.g. "
        "nibabel's image.set_sform(affine, code='scanner'))",
        setup=cohort_with(nifti_orientation(None, None)),
    ),
    Case(
        "prefer-transform-unknown",
        "a data.prefer_transform that is not a choice",
        TRAIN,
        (*MRI, "data.prefer_transform=best"),
        "data.prefer_transform must be one of ['strict', 'sform', 'qform'], got 'best'",
    ),
]

MANIFESTS = [
    Case(
        "manifest-missing",
        "a cohort folder without manifest.csv",
        TRAIN,
        MRI,
        "manifest not found: cohort/manifest.csv",
        setup=cohort_with(lambda root, rows: (root / "manifest.csv").unlink()),
    ),
    Case(
        "manifest-no-label-column",
        "a manifest without the label column",
        TRAIN,
        MRI,
        "manifest cohort/manifest.csv lacks the column(s) ['label']; it has ['subject_id']",
        setup=cohort_with(
            lambda root, rows: write_manifest(
                root / "manifest.csv", [{"subject_id": row["subject_id"]} for row in rows]
            )
        ),
    ),
    Case(
        "manifest-unknown-label",
        "a label other than 0 or 1",
        TRAIN,
        MRI,
        "subject S03: label must be 0 or 1, got '2'",
        setup=cohort_with(edit_rows({2: {"label": "2"}})),
    ),
    Case(
        "manifest-duplicate-subject",
        "a subject listed twice",
        TRAIN,
        MRI,
        "manifest cohort/manifest.csv: duplicate subject id S02 (lines 3 and 6)",
        setup=cohort_with(edit_rows({4: {"subject_id": "S02"}})),
    ),
    Case(
        "manifest-unknown-cohort",
        "a cohort other than train or test",
        TRAIN,
        MRI,
        "subject S01: cohort must be train or test, got 'validation'",
        setup=cohort_with(edit_rows({0: {"cohort": "validation"}})),
    ),
]

IMAGE_FOLDERS = [
    Case(
        "image-truncated",
        "a truncated image file",
        TRAIN,
        IMAGES,
        "image images/eight/0008.png cannot be decoded: Out of bound read in decode_png. Probably, the input image is"
        " corrupted",
        setup=digit_folder(truncate_first_eight),
    ),
    Case(
        "image-unknown-class",
        "a class name that is not a class folder",
        TRAIN,
        (*IMAGES, "data.positive_classes=[nine]"),
        "data.positive_classes names unknown class(es) ['nine']; the classes are ['eight', 'three']",
        setup=digit_folder(nothing),
    ),
    Case(
        "image-empty-class",
        "a class folder without images",
        TRAIN,
        IMAGES,
        "class folder images/seven holds no image (.png, .jpg, .jpeg, .webp)",
        setup=digit_folder(lambda root: (root / "seven").mkdir()),
    ),
    Case(
        "image-mixed-sizes",
        "images of different sizes without data.shape",
        TRAIN,
        IMAGES,
        "images differ in size: images/eight/0008.png is 8x8, images/eight/9999.jpg is 10x12 (HxW); set"
        " data.shape=[H,W] to resize them all",
        setup=digit_folder(add_larger_eight),
    ),
    Case(
        "image-manifest-outside",
        "a manifest path leading outside the manifest's folder",
        TRAIN,
        (*IMAGES, "data.manifest=images/labels.csv"),
        "manifest images/labels.csv: line 3: path ../secret.png leads outside the manifest's folder images",
        setup=digit_folder(manifest_leaving_its_folder),
    ),
    Case(
        "image-neither-task",
        "data=images without positive_classes or critical_classes",
        TRAIN,
        (*IMAGES, "data.positive_classes=null"),
        "data=images needs exactly one of data.positive_classes (a binary task) and data.critical_classes"
        " (multi-class), got positive_classes=None and critical_classes=None",
        setup=digit_folder(nothing),
    ),
]

NETWORKS = [
    Case(
        "network-outputs",
        "a network whose outputs do not fit the loss",
        TRAIN,
        ("model.num_outputs=3",),
        "the network gives outputs of shape [2, 3] for a batch of 2 images; the loss needs [2, 1] (num_outputs=1: 1"
        " logit for binary data, C scores for C classes)",
    ),
    Case(
        "network-in-channels",
        "a network expecting other input channels than the images have",
        TRAIN,
        ("model.in_channels=3",),
        "the network cannot take a batch of shape [2, 1, 8, 8] from the data (data.channels and model.in_channels"
        " must agree, data.shape must suit the network's downsampling): Given groups=1, weight of size"
        " [32, 3, 3, 3], expected input[2, 1, 8, 8] to have 3 channels, but got 1 channels instead",
    ),
    Case(
        "network-weights-missing",
        "model.weights naming a file that does not exist",
        TRAIN,
        ("model=torchvision", "model.name=mobilenet_v3_small", "model.weights=missing.pth"),
        "model.weights not found: missing.pth",
    ),
    Case(
        "network-unknown-name",
        "a torchvision network name that does not exist",
        TRAIN,
        ("model=torchvision", "model.name=resnet19"),
        "model.name=resnet19 is not a torchvision model (torchvision.models.list_models() lists them)",
    ),
]


def old_checkpoint(**states: dict) -> Callable[[Path], None]:
    """``old/checkpoints/last.ckpt``: a checkpoint that ended its third epoch, with the given callback states."""

    def write(folder: Path) -> None:
        (folder / "old" / "checkpoints").mkdir(parents=True)
        torch.save({"epoch": 2, "global_step": 48, "callbacks": states}, folder / "old" / "checkpoints" / "last.ckpt")

    return write


def member_last_checkpoint(checkpoint: dict) -> Callable[[Path], None]:
    """``ens/member0/checkpoints/last.ckpt`` holding ``checkpoint``: an interrupted member of ``dir=ens``."""

    def write(folder: Path) -> None:
        (folder / "ens" / "member0" / "checkpoints").mkdir(parents=True)
        torch.save(checkpoint, folder / "ens" / "member0" / "checkpoints" / "last.ckpt")

    return write


EARLY_STOPPED = {"EarlyStopping{'monitor': 'val/auc', 'mode': 'max'}": {"wait_count": 30, "stopped_epoch": 2}}
BEST_ELSEWHERE = {"ModelCheckpoint{'monitor': 'val/auc'}": {"best_k_models": {"/gone/best-epoch000.ckpt": 0.9}}}
CONTINUE = ("run_name=new", "ckpt_path=old/checkpoints/last.ckpt")

RUN_FOLDERS = [
    Case(
        "data-changed-since-finished",
        "the files at data.root changed since the run in this folder was trained",
        TRAIN,
        (),
        # 4a1b98802076: SHA-256 of the line "digits.csv.gz 57523 <SHA-256 of scikit-learn's digits.csv.gz>\n"
        "{dir}/run was trained on other data than this command's data: data fingerprint 000000000000 (folder) vs "
        "4a1b98802076 (digits.csv.gz changed); train into a new folder with run_name=<new name>, or restore the data",
        setup=finished_on_other_digits,
    ),
]

CHECKPOINTS = [
    Case(
        "checkpoint-missing",
        "ckpt_path to a file that does not exist",
        TRAIN,
        ("ckpt_path=missing.ckpt",),
        "Checkpoint file not found: missing.ckpt",
    ),
    Case(
        "checkpoint-is-a-folder",
        "ckpt_path to a folder",
        TRAIN,
        ("ckpt_path=cohort",),
        "checkpoint cohort is truncated or corrupt ([Errno 21] Is a directory: '{dir}/cohort'): delete it to "
        "train this run from the start, or pass ckpt_path=<an intact checkpoint>",
        setup=lambda folder: (folder / "cohort").mkdir(),
    ),
    Case(
        "continue-past-max-epochs",
        "continuing a checkpoint with trainer.max_epochs not above its epochs",
        TRAIN,
        (*CONTINUE, "trainer.max_epochs=3"),
        "nothing to train: ckpt_path=old/checkpoints/last.ckpt ends epoch 3 and trainer.max_epochs=3; "
        "set trainer.max_epochs above 3 to train more epochs",
        setup=old_checkpoint(),
    ),
    Case(
        "continue-early-stopped",
        "continuing a checkpoint where early stopping fired, with no larger patience",
        TRAIN,
        CONTINUE,
        "nothing to train: ckpt_path=old/checkpoints/last.ckpt has gone 30 epochs without a better score and "
        "callbacks.early_stopping.patience=30 would stop it at once; set the patience above 30 to train more epochs",
        setup=old_checkpoint(**EARLY_STOPPED),
    ),
    Case(
        "continue-without-its-best",
        "continuing a checkpoint whose best checkpoint is not beside it",
        TRAIN,
        CONTINUE,
        "ckpt_path=old/checkpoints/last.ckpt keeps its best score in best-epoch000.ckpt, which is not beside it in "
        "old/checkpoints: put that file there, so that the best so far stays the best of the continued run",
        setup=old_checkpoint(**BEST_ELSEWHERE),
    ),
]

SWEEP_FOLDERS = [
    Case(
        "select-missing-folder",
        "almlit.select on a folder that does not exist",
        "almlit.select",
        ("sweep",),
        "no finished run (a folder with a COMPLETE marker) under sweep",
    ),
    Case(
        "select-empty-folder",
        "almlit.select on an empty folder",
        "almlit.select",
        ("sweep",),
        "no finished run (a folder with a COMPLETE marker) under sweep",
        setup=lambda folder: (folder / "sweep").mkdir(),
    ),
    Case(
        "select-mixed-metrics",
        "almlit.select on runs that monitor different metrics",
        "almlit.select",
        ("sweep",),
        "the runs monitor different validation metrics: ['val/accuracy', 'val/auc']",
        setup=lambda folder: two_digits_runs(folder, ("val/auc", "val/accuracy"), (0.0, 0.25)),
    ),
    Case(
        "select-nothing-swept",
        "almlit.select on runs that share every hyper-parameter",
        "almlit.select",
        ("sweep",),
        "the 2 finished runs under sweep sweep no hyper-parameter",
        setup=lambda folder: two_digits_runs(folder, ("val/auc", "val/auc"), (0.25, 0.25)),
    ),
    Case(
        "ensemble-mixed-settings",
        "almlit.ensemble into a folder whose member has another setting",
        "almlit.ensemble",
        ("members=2", "dir=ensemble"),
        "ensemble/member0 was trained with another setting: data.imbalance_ratio (100 vs 50); imb (100 vs 50); "
        "use another dir= or remove the folder",
        setup=ensemble_member_of_another_setting,
    ),
]

ARGUMENTS = [
    Case(
        "ensemble-members-zero",
        "almlit.ensemble with members=0",
        "almlit.ensemble",
        ("members=0",),
        "members must be an integer >= 1 or folds, got '0'",
    ),
    Case(
        "ensemble-folds-without-folds",
        "almlit.ensemble members=folds on data without data.folds",
        "almlit.ensemble",
        ("data=images", "members=folds"),
        "members=folds needs data.folds=K (K >= 2, e.g. data.folds=5), got data.folds=null",
    ),
    Case(
        "ensemble-folds-no-fold-splits",
        "almlit.ensemble members=folds on a data set without K-fold splits",
        "almlit.ensemble",
        ("data=digits", "members=folds"),
        "members=folds needs K-fold splits (data.folds=K); data=digits has none (images and mri do)",
    ),
    Case(
        "ensemble-folds-fold-set",
        "almlit.ensemble members=folds with data.fold set",
        "almlit.ensemble",
        ("data=images", "data.folds=5", "data.fold=2", "members=folds"),
        "data.fold is not allowed with members=folds: member k validates on fold k",
    ),
    Case(
        "ensemble-stack-zero",
        "almlit.ensemble with ensemble.stack=0",
        "almlit.ensemble",
        ("members=2", "ensemble.stack=0"),
        "ensemble.stack must be an integer >= 1 (members trained as one model), got '0'",
    ),
    Case(
        "ensemble-stack-unsupported-callback",
        "almlit.ensemble stacking members with a callback a stack does not run (LDAM-DRW's reweighting)",
        "almlit.ensemble",
        ("loss=cb_bce", "callbacks=deferred_reweighting", "members=2", "ensemble.stack=2", "dir=ens"),
        "a stacked run cannot reproduce callbacks.deferred_reweighting of ens/member0; train it without "
        "ensemble.stack (or remove the setting)",
    ),
    Case(
        "sweep-stack-zero",
        "almlit.train -m with the stacked launcher and hydra.launcher.stack=0",
        "almlit.train",
        ("seed=0,1", "hydra/launcher=stacked", "hydra.launcher.stack=0", "hydra.mode=MULTIRUN"),
        "hydra.launcher.stack must be an integer >= 1 (members trained as one model), got 0",
    ),
    Case(
        "sweep-stack-value",
        "almlit.train -m with sweep.stack neither true, false nor a number of jobs per stack",
        "almlit.train",
        ("+sweep=alm_stage1", "sweep.stack=yes", "hydra.mode=MULTIRUN"),
        "sweep.stack must be true, false or the jobs per stack (an integer >= 1), got 'yes'",
    ),
    Case(
        "sweep-stack-single-run",
        "almlit.train with sweep.stack=true but no -m (a single run has no jobs to stack)",
        "almlit.train",
        ("sweep.stack=true",),
        "sweep.stack stacks the jobs of a sweep: add -m (python -m almlit.train -m ...)",
    ),
    Case(
        "sweep-stack-other-command",
        "almlit.ensemble with sweep.stack (its members stack with ensemble.stack=K)",
        "almlit.ensemble",
        ("members=2", "sweep.stack=true", "dir=ens"),
        "sweep.stack=true is no setting of a run: a sweep's jobs train as stacks with python -m almlit.train -m ... "
        "sweep.stack=true",
    ),
    Case(
        "sweep-stack-other-launcher",
        "almlit.train -m with sweep.stack=true and another launcher",
        "almlit.train",
        ("seed=0,1", "sweep.stack=true", "hydra/launcher=joblib", "hydra.mode=MULTIRUN"),
        "sweep.stack chooses hydra/launcher=stacked; leave out hydra/launcher=joblib",
    ),
    Case(
        "ensemble-stack-in-a-run",
        "almlit.train with almlit.ensemble's ensemble.stack, even as a new key (+)",
        "almlit.train",
        ("+ensemble.stack=2",),
        "+ensemble.stack=2 is no setting of a run: an ensemble's members train as stacks with "
        "python -m almlit.ensemble ... ensemble.stack=K",
    ),
    Case(
        "ensemble-stack-mixed-precision",
        "almlit.ensemble stacking members in mixed precision (a stack trains in float32)",
        "almlit.ensemble",
        ("members=2", "ensemble.stack=2", "trainer.precision=bf16-mixed", "dir=ens"),
        "a stacked run cannot reproduce trainer.precision=bf16-mixed of ens/member0; train it without "
        "ensemble.stack (or remove the setting)",
    ),
    Case(
        "ensemble-stack-resume-not-epoch-end",
        "almlit.ensemble stacking a member whose checkpoints/last.ckpt was not saved at an epoch end (weights only)",
        "almlit.ensemble",
        ("members=2", "ensemble.stack=2", "dir=ens"),
        "ens/member0/checkpoints/last.ckpt is not a checkpoint saved at the end of a training epoch (Lightning's "
        "loops progress says otherwise or is missing); a run resumes from its epoch-end last.ckpt only: delete the "
        "file to train this run from its start",
        setup=member_last_checkpoint({"state_dict": {}}),
    ),
    Case(
        "ensemble-stack-resume-past-max-epochs",
        "almlit.ensemble stacking a member whose checkpoints/last.ckpt ends more epochs than trainer.max_epochs",
        "almlit.ensemble",
        ("members=2", "ensemble.stack=2", "trainer.max_epochs=2", "dir=ens"),
        "ens/member0/checkpoints/last.ckpt ends epoch 3 but trainer.max_epochs=2; set trainer.max_epochs to 3 or "
        "more to resume it",
        setup=member_last_checkpoint({"loops": fit_loops(3, 16, 1, 0)}),
    ),
    Case(
        "ensemble-selection-missing",
        "almlit.ensemble with a selection file that does not exist",
        "almlit.ensemble",
        ("selection=missing.yaml",),
        "selection file missing.yaml not found (python -m almlit.select writes selection.yaml)",
    ),
    Case(
        "ensemble-selection-not-a-mapping",
        "almlit.ensemble with a selection file that is a YAML list, not `overrides: [...]`",
        "almlit.ensemble",
        ("selection=selection.yaml",),
        "selection file selection.yaml has no `overrides` list",
        setup=selection_as_a_list,
    ),
    Case(
        "report-experiment-missing",
        "almlit.report on an experiment file that does not exist",
        "almlit.report",
        ("missing.yaml",),
        "experiment file missing.yaml not found",
    ),
    Case(
        "report-prevalence-outside-0-1",
        "almlit.report with a deployment prevalence outside (0, 1)",
        "almlit.report",
        ("digits.yaml", "--deployed", "--prevalence", "0"),
        "--prevalence must lie in (0, 1) (the share of positives where the model is used), got 0.0",
        setup=digits_experiment,
    ),
    Case(
        "report-set-unknown-key",
        "almlit.report without --train, with a misspelt --set override",
        "almlit.report",
        ("digits.yaml", "--set", "los=bce"),
        "unknown key los in los=bce; closest keys: loss; to add a new key write +los=bce",
        setup=digits_experiment,
    ),
    Case(
        "report-stack-without-train",
        "almlit.report with --stack but without --train (nothing would be trained)",
        "almlit.report",
        ("digits.yaml", "--stack", "4"),
        "--stack 4 trains members in stacks: add --train (nothing is trained without it)",
        setup=digits_experiment,
    ),
    Case(
        "report-stack-zero",
        "almlit.report --train with --stack 0",
        "almlit.report",
        ("digits.yaml", "--train", "--stack", "0"),
        "--stack must be an integer >= 1 (members trained as one model), got '0'",
        setup=digits_experiment,
    ),
    Case(
        "report-set-malformed",
        "almlit.report with a --set override that does not parse",
        "almlit.report",
        ("digits.yaml", "--set", "imb=[1,"),
        "malformed override imb=[1,: no viable alternative at input '[1,' "
        "(the grammar: https://hydra.cc/docs/1.3/advanced/override_grammar/basic/)",
        setup=digits_experiment,
    ),
    Case(
        "cost-experiment-missing",
        "almlit.cost on an experiment file that does not exist",
        "almlit.cost",
        ("missing.yaml",),
        "experiment file missing.yaml not found",
    ),
    Case(
        "cost-stack-zero",
        "almlit.cost projecting stacks of 0 members",
        "almlit.cost",
        ("digits.yaml", "--stack", "0"),
        "--stack must be an integer >= 1 (members trained as one model), got 0",
        setup=digits_experiment,
    ),
    Case(
        "cost-bad-device",
        "almlit.cost on a device that is not a choice",
        "almlit.cost",
        ("digits.yaml", "--set", "bench.device=tpu"),
        "bench.device must be one of ['auto', 'cpu', 'cuda'], got 'tpu'",
        setup=digits_experiment,
    ),
    Case(
        "cost-bad-batch-size",
        "almlit.cost (or almlit.bench) with a batch size that is neither a number nor probe",
        "almlit.cost",
        ("digits.yaml", "--set", "bench.batch_size=big"),
        "bench.batch_size must be an int >= 1, probe or null, got 'big'",
        setup=digits_experiment,
    ),
    Case(
        "cost-bad-stack-mode",
        "almlit.cost (or almlit.bench) with a stack forward mode that is not a choice",
        "almlit.cost",
        ("digits.yaml", "--set", "bench.stack_mode=batched"),
        "bench.stack_mode must be one of auto, vmap, sequential, got 'batched'",
        setup=digits_experiment,
    ),
    Case(
        "cost-bad-end-to-end",
        "almlit.cost (or almlit.bench) with an end-to-end switch that is not true or false",
        "almlit.cost",
        ("digits.yaml", "--set", "bench.end_to_end=sometimes"),
        "bench.end_to_end must be true or false, got 'sometimes'",
        setup=digits_experiment,
    ),
    Case(
        "cost-end-to-end-zero-repeats",
        "almlit.cost (or almlit.bench) with 0 end-to-end repeats",
        "almlit.cost",
        ("digits.yaml", "--set", "bench.end_to_end_repeats=0"),
        "bench.end_to_end_repeats must be an int >= 1, got 0",
        setup=digits_experiment,
    ),
    Case(
        "members-zero-processes",
        "almlit.benchmark.members with 0 processes",
        "almlit.benchmark.members",
        ("members.json", "--processes", "0"),
        "--processes must be >= 1 and --seconds > 0, got [0] and 6.0",
    ),
    Case(
        "cohort-without-out",
        "almlit.make_mri_cohort without out=",
        "almlit.make_mri_cohort",
        ("subjects=3",),
        "out= is required: the folder to write the cohort to (e.g. out=data/mri-demo)",
    ),
]


def digits_run(folder: Path) -> None:
    """A finished digits run (untrained network) under ``run/``."""
    write_network_run(folder / "run")


def mri_run(folder: Path) -> None:
    """A finished MRI run on two sequences (untrained network) under ``run/`` and its cohort under ``cohort/``."""
    build_cohort(folder / "cohort")
    write_network_run(folder / "run", MRI_RUN, input_shape=(2, 4, 6, 6))


PREDICT = "almlit.predict"


def started_run(folder: Path) -> None:
    """``run/``: a run folder whose training started (its config.yaml) but never finished (no COMPLETE)."""
    (folder / "run").mkdir()
    (folder / "run" / "config.yaml").write_text("seed: 0\n")


def finished_run_below(folder: Path) -> None:
    """``outputs/runs/run/``: a finished run folder (config.yaml and COMPLETE) two levels below ``outputs``."""
    run = folder / "outputs" / "runs" / "run"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("seed: 0\n")
    (run / "COMPLETE").write_text("")


TRAINED_MODELS = [
    Case(
        "predict-missing-folder",
        "almlit.predict on a folder that does not exist",
        PREDICT,
        ("missing",),
        "run folder missing not found",
    ),
    Case(
        "predict-unfinished-run",
        "almlit.predict on a run that has not finished",
        PREDICT,
        ("run",),
        "run is not a finished run (no COMPLETE marker): it was interrupted or is still training; rerun its command "
        "to resume it",
        setup=started_run,
    ),
    Case(
        "predict-not-a-run-folder",
        "almlit.predict on the folder above the run folders",
        PREDICT,
        ("outputs",),
        "outputs is not a run folder (it has no config.yaml); it holds 1 finished run folder(s) below it, e.g. "
        "outputs/runs/run",
        setup=finished_run_below,
    ),
    Case(
        "predict-a-checkpoint-file",
        "almlit.predict on a checkpoint file instead of its run folder",
        PREDICT,
        ("last.ckpt",),
        "last.ckpt is a file, not a run folder (the folder holding config.yaml and metrics.json)",
        setup=lambda folder: (folder / "last.ckpt").write_bytes(b""),
    ),
    Case(
        "predict-other-data-kind",
        "almlit.predict with data of another kind than the model was trained on",
        PREDICT,
        ("run", "data=cifar10"),
        "data=cifar10 (almlit.data.BinaryCIFAR) is not the kind of data the model was trained on "
        "(almlit.data.BinaryDigits); predict reads data of that kind: change data.* keys such as data.root",
        setup=digits_run,
    ),
    Case(
        "predict-override-outside-data",
        "almlit.predict with an override of the network",
        PREDICT,
        ("run", "model.width=4"),
        "model.width=4 is not allowed: predict takes overrides of data.* (where and how to read the new data) and "
        "the data=<kind> the model was trained on",
        setup=digits_run,
    ),
    Case(
        "predict-unknown-data-key",
        "almlit.predict with a data key the model's data config lacks",
        PREDICT,
        ("run", "data.sampler.rate=0.5"),
        "data.sampler.rate is not a key of the model's data config; data.sampler has _target_, _partial_",
        setup=digits_run,
    ),
    Case(
        "predict-other-labels",
        "almlit.predict with a data.* override that changes the labels the model was trained for",
        PREDICT,
        ("run", "data.positive_classes=[3]"),
        "data.positive_classes=[3] changes the labels: the model was trained with data.positive_classes=[8], and its "
        "operating points were chosen for those labels; leave data.positive_classes out (predict keeps the trained "
        "labels)",
        setup=digits_run,
    ),
    Case(
        "predict-channels-do-not-fit",
        "almlit.predict on MRI data with fewer sequences (channels) than the network takes",
        PREDICT,
        ("run", "data.sequences=[t2w]"),
        "the data's samples have shape [1, 4, 6, 6] (channels, depth, height, width) but the model was trained on "
        "[2, 4, 6, 6]: predict needs data of the shape and channels the model was trained on",
        setup=mri_run,
    ),
    Case(
        "predict-shape-does-not-fit",
        "almlit.predict on MRI volumes of another shape than the network was trained on",
        PREDICT,
        ("run", "data.shape=[4,8,8]"),
        "the data's samples have shape [2, 4, 8, 8] (channels, depth, height, width) but the model was trained on "
        "[2, 4, 6, 6]: predict needs data of the shape and channels the model was trained on",
        setup=mri_run,
    ),
    Case(
        "predict-prevalence-out-of-range",
        "almlit.predict with a prevalence outside (0, 1)",
        PREDICT,
        ("run", "--prevalence", "2"),
        "`prevalence` must lie in (0, 1) (the share of positives where the model is used), got 2.0",
        setup=digits_run,
    ),
    Case(
        "export-missing-folder",
        "almlit.export on a folder that does not exist",
        "almlit.export",
        ("missing",),
        "run folder missing not found",
    ),
]

CATEGORIES = {
    "Configuration": CONFIGS,
    "CIFAR files": CIFAR_FILES,
    "NIfTI cohorts": NIFTI_COHORTS,
    "Manifests": MANIFESTS,
    "Image folders and manifests": IMAGE_FOLDERS,
    "Networks": NETWORKS,
    "Run folders": RUN_FOLDERS,
    "Checkpoint paths": CHECKPOINTS,
    "Sweep and ensemble folders": SWEEP_FOLDERS,
    "Other command-line arguments": ARGUMENTS,
    "Trained models (predict, export)": TRAINED_MODELS,
}
CASES = [case for cases in CATEGORIES.values() for case in cases]

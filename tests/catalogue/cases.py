"""The bad-input catalogue: every bad input a user can hand almlit, the command, and the one line it gets.

This list is the single source of the table in docs/bad_inputs.md (``python -m tests.catalogue.render`` writes
it; a test checks it is current) and of the tests that run each command through its real entry point.

To add a row: append a :class:`Case` to the list of its category (or a new category at the end of ``CASES``),
then run ``python -m tests.catalogue.render``.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from almlit.ensemble import compose_member, member_dir, resolve_member
from tests.deploy.runs import MRI_RUN
from tests.deploy.runs import write_run as write_trained_run
from tests.experiments.helpers import binary_config, write_run
from tests.fakes import write_fake_cifar
from tests.mri.cohorts import SHAPE, build_cohort, write_manifest, write_nifti


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
            line of stderr, for Hydra's own errors (exit status 1) the first line of stderr.
        setup: writes the bad files into the case's folder before the command runs.
        exit_code: 2 for almlit's one-line errors, 1 where Hydra refuses the command line itself.
    """

    id: str
    bad_input: str
    command: str
    arguments: tuple[str, ...]
    message: str
    setup: Callable[[Path], None] = field(default=nothing, compare=False)
    exit_code: int = 2

    @property
    def command_line(self) -> str:
        return " ".join(["python -m", self.command, *self.arguments])


# --- files the cases write -----------------------------------------------------------------------------------

FAKE_CIFAR = ("data.root=cifar", "data.download=false")
LONG_TAIL = ("data=cifar10_lt", *FAKE_CIFAR, "data.val_per_class=5", "imb=5")


def fake_cifar10(folder: Path) -> Path:
    """Random images in the CIFAR10 pickle layout under ``cifar/``: 30 training and 5 test images per class."""
    return write_fake_cifar(folder / "cifar", "cifar10", train_per_class=30, test_per_class=5)


def truncated_cifar(folder: Path) -> None:
    batch = fake_cifar10(folder) / "data_batch_2"
    batch.write_bytes(batch.read_bytes()[:5000])


def cifar_without_labels(folder: Path) -> None:
    batch = fake_cifar10(folder) / "data_batch_3"
    content = pickle.loads(batch.read_bytes(), encoding="bytes")
    batch.write_bytes(pickle.dumps({b"data": content[b"data"]}))


MRI = ("data=mri", "data.root=cohort", "data.sequences=[t2w,adc]", "model.in_channels=2", "data.shape=[4,6,6]")
MRI = (*MRI, "data.cache_dir=null")


def cohort_with(change: Callable[[Path, list[dict]], None]) -> Callable[[Path], None]:
    """A setup writing the 8-subject test cohort under ``cohort/`` and then spoiling it with ``change``."""

    def setup(folder: Path) -> None:
        root = folder / "cohort"
        rows = build_cohort(root)
        change(root, rows)

    return setup


def edit_rows(changes: dict[int, dict]) -> Callable[[Path, list[dict]], None]:
    def change(root: Path, rows: list[dict]) -> None:
        write_manifest(root / "manifest.csv", [{**row, **changes.get(index, {})} for index, row in enumerate(rows)])

    return change


def two_digits_runs(folder: Path, monitors: tuple[str, str], margins: tuple[float, float]) -> None:
    """Two finished runs under ``sweep/`` with the given monitored metrics and margins."""
    for index, (monitor, margin) in enumerate(zip(monitors, margins, strict=True)):
        config = binary_config(margin=margin, monitor=monitor)
        write_run(folder / "sweep" / f"{index}_run", config, np.array([0.1, 0.9]), np.array([0, 1]), overrides=[])


def digits_experiment(folder: Path) -> None:
    """A one-row experiment file on the embedded digits, ``digits.yaml``."""
    (folder / "digits.yaml").write_text(
        "table: tiny\nsetting: digits\ntitle: Digits\nmembers: 1\nmetrics: [auc]\ncommon: [data=digits]\n"
        "rows:\n  ALM + BCE: [loss=bce, alm=binary]\n"
    )


def ensemble_member_of_another_setting(folder: Path) -> None:
    """Member 0 of ``ensemble/``, finished, trained at imb=50 (as ``almlit.ensemble imb=50`` would have)."""
    run_dir = member_dir(folder / "ensemble", 0)
    config = resolve_member(compose_member(["imb=50"]), run_dir)
    write_run(run_dir, config, np.array([0.1, 0.9]), np.array([0, 1]))


# --- the catalogue ------------------------------------------------------------------------------------------

TRAIN = "almlit.train"

CONFIGS = [
    Case(
        "unknown-choice",
        "a group choice that does not exist",
        TRAIN,
        ("data=imagenet",),
        "In 'train': Could not find 'data/imagenet'",
        exit_code=1,
    ),
    Case(
        "unknown-key",
        "a misspelt key",
        TRAIN,
        ("trainer.max_epoch=3",),
        "Could not override 'trainer.max_epoch'.",
        exit_code=1,
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
        "seed-not-an-integer",
        "a seed that is not an integer",
        TRAIN,
        ("seed=1.5",),
        "seed must be an integer in 0..4294967295, got 1.5",
    ),
    Case("seed-negative", "a negative seed", TRAIN, ("seed=-1",), "seed must be an integer in 0..4294967295, got -1"),
    Case("batch-size-zero", "a batch size of 0", TRAIN, ("data.batch_size=0",), "data.batch_size must be >= 1, got 0"),
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
        "binary-alm-on-multiclass-data",
        "alm=binary on long-tailed CIFAR10",
        TRAIN,
        (*LONG_TAIL, "loss=ce", "alm=binary"),
        "alm=binary needs a binary data set (2 classes), but the data has 10 classes; use a binary data set "
        "(data=digits|cifar10|cifar100) or alm=none",
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
        "use optim=pesg",
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
        "cifar/cifar-10-batches-py/data_batch_3 is not a CIFAR python-pickle file: key b'labels' is missing",
        setup=cifar_without_labels,
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
        "members must be an integer >= 1, got '0'",
    ),
    Case(
        "ensemble-selection-missing",
        "almlit.ensemble with a selection file that does not exist",
        "almlit.ensemble",
        ("selection=missing.yaml",),
        "selection file missing.yaml not found (python -m almlit.select writes selection.yaml)",
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
        "cost-experiment-missing",
        "almlit.cost on an experiment file that does not exist",
        "almlit.cost",
        ("missing.yaml",),
        "experiment file missing.yaml not found",
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
        "cohort-without-out",
        "almlit.make_mri_cohort without out=",
        "almlit.make_mri_cohort",
        ("subjects=3",),
        "out= is required: the folder to write the cohort to (e.g. out=data/mri-demo)",
    ),
]


def digits_run(folder: Path) -> None:
    """A finished digits run (untrained network) under ``run/``."""
    write_trained_run(folder / "run")


def mri_run(folder: Path) -> None:
    """A finished MRI run on two sequences (untrained network) under ``run/`` and its cohort under ``cohort/``."""
    build_cohort(folder / "cohort")
    write_trained_run(folder / "run", MRI_RUN, input_shape=(2, 4, 6, 6))


PREDICT = "almlit.predict"

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
        setup=lambda folder: (folder / "run").mkdir(),
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
    "Checkpoint paths": CHECKPOINTS,
    "Sweep and ensemble folders": SWEEP_FOLDERS,
    "Other command-line arguments": ARGUMENTS,
    "Trained models (predict, export)": TRAINED_MODELS,
}
CASES = [case for cases in CATEGORIES.values() for case in cases]

"""``python -m almlit.make_mri_cohort out=DIR [key=value ...]``: write a synthetic multiparametric MRI cohort.

The cohort has the layout ``data=mri`` reads (``manifest.csv`` + ``<subject>/<sequence>.nii[.gz]``), see
:mod:`almlit.data.mri.synthetic` for what the volumes hold. Arguments (defaults in brackets)::

    out=DIR              the cohort folder (required)
    subjects=N           number of subjects [120]
    positives=F          share of positive subjects [0.13, the paper's 1:8]
    test_fraction=F      share of each class in the test cohort [0.25, the paper's 100 of 400]
    sequences=[a,b,...]  among t2w, adc, dwi [[t2w,adc,dwi]]
    shape=[D,H,W]        voxels of the T2w volumes; ADC and DWI have half the in-plane voxels [[20,96,96]]
    signal=F             lesion contrast scale, 0 = nothing to learn [1.0]
    seed=N               seed of everything [0]
    overwrite=BOOL       write into a folder that already holds a manifest [false]

Example::

    python -m almlit.make_mri_cohort out=data/mri-demo subjects=120 positives=0.13
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from omegaconf import MISSING, OmegaConf
from omegaconf.errors import ConfigKeyError, MissingMandatoryValue, OmegaConfBaseException

from almlit.data.mri.synthetic import CohortSpec, write_cohort
from almlit.errors import explain


@dataclass
class Arguments:
    """The command line, as OmegaConf checks it (unknown keys and wrong types are errors)."""

    out: str = MISSING
    subjects: int = 120
    positives: float = 0.13
    test_fraction: float = 0.25
    sequences: list[str] = field(default_factory=lambda: ["t2w", "adc", "dwi"])
    shape: list[int] = field(default_factory=lambda: [20, 96, 96])
    signal: float = 1.0
    seed: int = 0
    overwrite: bool = False


def parse_arguments(argv: list[str]) -> Arguments:
    """``key=value`` arguments to :class:`Arguments`.

    Raises:
        ValueError: for an argument that is not ``key=value``, an unknown key, a wrong type or a missing ``out=``.
    """
    for argument in argv:
        if "=" not in argument:
            raise ValueError(f"arguments are key=value (e.g. out=data/mri-demo), got {argument!r}")
    try:
        merged = OmegaConf.merge(OmegaConf.structured(Arguments), OmegaConf.from_dotlist(argv))
        arguments = cast(Arguments, OmegaConf.to_object(merged))  # a structured config gives its dataclass
    except MissingMandatoryValue as error:
        raise ValueError("out= is required: the folder to write the cohort to (e.g. out=data/mri-demo)") from error
    except ConfigKeyError as error:
        known = ", ".join(f"{name}=" for name in Arguments.__dataclass_fields__)
        raise ValueError(f"unknown argument {error.key}=; the arguments are {known}") from error
    except OmegaConfBaseException as error:
        raise ValueError(f"{error.key}=: {str(error).splitlines()[0]}") from error
    return arguments


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if any(argument in ("-h", "--help") for argument in argv):
        print(__doc__)
        return
    try:
        arguments = parse_arguments(argv)
        spec = CohortSpec(
            subjects=arguments.subjects,
            positives=arguments.positives,
            test_fraction=arguments.test_fraction,
            sequences=tuple(arguments.sequences),
            shape=cast("tuple[int, int, int]", tuple(arguments.shape)),  # CohortSpec checks the length
            signal=arguments.signal,
            seed=arguments.seed,
        )
        out = Path(arguments.out)
        if (out / "manifest.csv").exists() and not arguments.overwrite:
            raise ValueError(f"out={out} already holds a cohort (manifest.csv); pass overwrite=true to replace it")
        print(
            f"writing {spec.subjects} subjects ({spec.num_positives} positive) x {len(spec.sequences)} sequences"
            f" ({', '.join(spec.sequences)}), T2w shape {list(spec.shape)}, seed {spec.seed} to {out}",
            flush=True,
        )
        step = max(1, spec.subjects // 10)
        started = time.perf_counter()

        def progress(done: int, total: int) -> None:
            if done % step == 0 or done == total:
                print(f"  {done}/{total} subjects  {time.perf_counter() - started:.1f} s", flush=True)

        summary = write_cohort(out, spec, progress)
    except (ValueError, OSError) as error:
        print(f"almlit: error: {explain(error)}", file=sys.stderr)
        sys.exit(2)
    (train_negatives, train_positives), (test_negatives, test_positives) = summary.counts.values()
    print(
        f"wrote {summary.manifest}: train {train_negatives + train_positives} subjects ({train_positives} positive),"
        f" test {test_negatives + test_positives} ({test_positives} positive);"
        f" {summary.num_files} NIfTI files, {summary.num_bytes / 2**20:.1f} MiB, {time.perf_counter() - started:.1f} s"
    )
    print(f"train on it: python -m almlit.train data=mri data.root={out}")


if __name__ == "__main__":
    main()

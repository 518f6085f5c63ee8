"""``python -m almlit.benchmark.wheels DIR`` (``make gpu-wheels``): the wheels almlit needs on a GPU without network.

The GPU machine's image holds torch, torchvision, lightning, torchmetrics, numpy, scipy, scikit-learn, matplotlib,
PyYAML and packaging, but not Hydra, OmegaConf, ANTLR's runtime (OmegaConf's parser) or nibabel. This writes wheels
of those into ``DIR``: the versions almlit's own requirements admit (its installed metadata, i.e. pyproject.toml),
then, recursively, whatever they require that the image does not hold (ANTLR's runtime at the version OmegaConf
pins). All are pure-Python wheels (``py3-none-any``: ANTLR's runtime is published as a source archive only, so pip
builds its wheel here), so they install on the GPU machine's Python 3.12 with ``pip install --no-index --no-deps``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from importlib.metadata import requires
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

# almlit's requirements that the GPU image lacks
MISSING_ON_GPU = ("hydra-core", "omegaconf", "nibabel")
# what the GPU image holds among the requirements of those (KINDS.md of the device tool lists the image's packages)
PRESENT_ON_GPU = frozenset({"numpy", "packaging", "pyyaml", "typing-extensions", "importlib-resources"})
GPU_PYTHON = "3.12"


def almlit_requirements(names: Sequence[str] = MISSING_ON_GPU) -> list[Requirement]:
    """almlit's own requirements (with their version ranges) on the packages ``names``.

    Raises:
        ValueError: almlit is not installed (its metadata holds the requirements), or does not require one of them.
    """
    declared = [Requirement(line) for line in requires("almlit") or []]
    chosen = [requirement for requirement in declared if canonicalize_name(requirement.name) in names]
    absent = set(names) - {canonicalize_name(requirement.name) for requirement in chosen}
    if absent:
        raise ValueError(f"almlit's requirements name no {sorted(absent)}; pyproject.toml lists {declared}")
    return chosen


def wheel_requirements(wheel: Path, python_version: str = GPU_PYTHON) -> list[Requirement]:
    """The requirements in a wheel's METADATA that apply on Python ``python_version`` without extras."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(member for member in archive.namelist() if member.endswith(".dist-info/METADATA"))
        metadata = archive.read(name).decode()
    environment = {**default_environment(), "python_version": python_version, "extra": ""}
    found = []
    for line in metadata.splitlines():
        if line.startswith("Requires-Dist:"):
            requirement = Requirement(line.removeprefix("Requires-Dist:").strip())
            if requirement.marker is None or requirement.marker.evaluate(environment):
                found.append(requirement)
    return found


def build_wheels(requirements: Sequence[Requirement], folder: Path) -> None:
    """``pip wheel --no-deps`` of ``requirements`` into ``folder`` (downloads wheels, builds source archives)."""
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(folder)]
    subprocess.run([*command, *(str(requirement) for requirement in requirements)], check=True)


def gather_wheels(folder: Path) -> list[Path]:
    """Write into ``folder`` the wheels of :data:`MISSING_ON_GPU` and of what they need that the GPU lacks.

    Returns:
        The wheel files, sorted.

    Raises:
        ValueError: a wheel is not pure Python (it would not install on the GPU machine's platform).
    """
    folder.mkdir(parents=True, exist_ok=True)
    wanted = almlit_requirements()
    fetched: set[str] = set()
    while wanted:
        build_wheels(wanted, folder)
        fetched |= {canonicalize_name(requirement.name) for requirement in wanted}
        wanted = [
            requirement
            for wheel in sorted(folder.glob("*.whl"))
            for requirement in wheel_requirements(wheel)
            if canonicalize_name(requirement.name) not in fetched | PRESENT_ON_GPU
        ]
    wheels = sorted(folder.glob("*.whl"))
    for wheel in wheels:
        tags = parse_wheel_filename(wheel.name)[3]
        if not all(tag.abi == "none" and tag.platform == "any" for tag in tags):
            raise ValueError(f"{wheel.name} is not a pure-Python wheel: it would not install on the GPU machine")
    return wheels


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m almlit.benchmark.wheels", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where the wheels go (gpu_wheels/, ignored by git)")
    args = parser.parse_args(argv)
    wheels = gather_wheels(args.folder)
    for wheel in wheels:
        print(f"{wheel.stat().st_size / 2**10:8.0f} KiB  {wheel.name}")
    print(f"{sum(wheel.stat().st_size for wheel in wheels) / 2**20:8.1f} MiB  in {args.folder}")


if __name__ == "__main__":
    main()

"""The package installs like a library: a wheel, installed outside the checkout, runs a training with its own configs.

The wheel is built from this checkout, installed into a fresh virtual environment in a temporary folder (its
dependencies are reached through a path file pointing at this environment's site-packages, so nothing is
downloaded), and ``python -m almlit.train`` runs there with no access to the checkout: the Hydra configs must come
from inside the installed package.
"""

import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.helpers.commands import QUIET, REPO_ROOT

pytestmark = pytest.mark.slow


def run(command, cwd, **options):
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=900, **options)


def test_a_wheel_installed_outside_the_checkout_trains_with_its_shipped_configs(tmp_path):
    # built from a copy of the tracked layout: setuptools' build/ folder would otherwise land in the checkout
    source = tmp_path / "source"
    shutil.copytree(REPO_ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO_ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    built = run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-w", str(wheels)],
        cwd=tmp_path,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("almlit-*.whl")

    environment = tmp_path / "env"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    env_site = Path(
        run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path).stdout.strip()
    )
    # the dependencies (torch, lightning, hydra, ...) of this environment, but not its editable almlit: a path file
    # adds the folder to sys.path without running the path files inside it (the editable install's finder)
    (env_site / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    installed = run([python, "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr

    where = run([python, "-c", "import almlit.config as c; print(c.__file__); print(c.CONFIG_DIR)"], cwd=tmp_path)
    module_file, config_dir = where.stdout.split()
    assert Path(module_file).is_relative_to(env_site) and Path(config_dir).is_relative_to(env_site)
    assert (Path(config_dir) / "train.yaml").is_file() and (Path(config_dir) / "data" / "digits.yaml").is_file()

    work = tmp_path / "work"
    work.mkdir()
    trained = run([python, "-m", "almlit.train", *QUIET, "trainer.max_epochs=1"], cwd=work)
    assert trained.returncode == 0, trained.stderr[-3000:]
    (run_folder,) = (work / "outputs" / "runs").iterdir()
    assert (run_folder / "COMPLETE").is_file() and (run_folder / "metrics.json").is_file()

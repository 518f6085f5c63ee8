"""Members trained concurrently (hydra/launcher=joblib, several processes sharing the machine) equal lone runs."""

import json

import pytest

from tests.helpers.commands import QUIET, run_module


@pytest.mark.slow
def test_member_trained_beside_another_equals_the_member_alone(train_command, tmp_path):
    common = ["trainer.max_epochs=2", "imb=20", "trainer.deterministic=true"]
    parallel = run_module(
        "almlit.train",
        "--multirun",
        *QUIET,
        *common,
        "seed=0,1",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "hydra.sweep.dir=parallel",
        "hydra.sweep.subdir=seed${seed}",
        cwd=tmp_path,
    )
    assert parallel.returncode == 0, parallel.stderr
    alone = train_command(*common, "seed=1", "hydra.run.dir=alone")
    assert alone.returncode == 0, alone.stderr
    together = json.loads((tmp_path / "parallel" / "seed1" / "metrics.json").read_text())["test"]
    by_itself = json.loads((tmp_path / "alone" / "metrics.json").read_text())["test"]
    assert set(together) == set(by_itself)
    for key, value in by_itself.items():
        assert together[key] == pytest.approx(value, abs=1e-3), key

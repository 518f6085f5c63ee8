"""``python -m almlit.ensemble ... ensemble.stack=K`` as a user runs it: ordinary member folders, the ensemble report,
finished members reused, an unfinished stack member resumed from its last checkpoint."""

import json

import pytest
import yaml

from tests.helpers.commands import QUIET, run_module

TINY = ["model.width=4", "trainer.max_epochs=2", "members=3", "ensemble.stack=2", "dir=ens"]


@pytest.mark.slow
def test_stacked_members_are_ordinary_member_folders_and_a_rerun_trains_only_the_unfinished(tmp_path):
    first = run_module("almlit.ensemble", *QUIET, *TINY, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "training 3 of 3 members" in first.stdout
    assert "stack of 2: epoch 2/2" in first.stdout and "stack of 1: epoch 2/2" in first.stdout  # stacks of 2 and 1
    for seed in range(3):
        member = tmp_path / "ens" / f"member{seed}"
        metrics = json.loads((member / "metrics.json").read_text())
        assert metrics["seeds"]["seed"] == seed and metrics["epochs_trained"] == 2
        assert (member / metrics["best_checkpoint"]).is_file() and (member / "COMPLETE").is_file()
        assert yaml.safe_load((member / ".hydra" / "overrides.yaml").read_text())[-1] == f"seed={seed}"
        assert yaml.safe_load((member / "config.yaml").read_text())["seed"] == seed
    assert (tmp_path / "ens" / "ensemble.json").is_file() and "member2 (seed 2)" in first.stdout

    (tmp_path / "ens" / "member1" / "COMPLETE").unlink()  # as if the stack had been killed before member1 ended
    second = run_module("almlit.ensemble", *QUIET, *TINY, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "training 1 of 3 members into" in second.stdout and "(1 resuming)" in second.stdout
    assert "resuming ens/member1 from checkpoints/last.ckpt (epochs done: 2)" in second.stdout
    assert "epoch 1/2" not in second.stdout and "epoch 2/2" not in second.stdout  # both epochs were done
    assert (tmp_path / "ens" / "member1" / "COMPLETE").is_file()
    third = run_module("almlit.ensemble", *QUIET, *TINY, cwd=tmp_path)
    assert third.returncode == 0 and "members into" not in third.stdout  # all finished: only the report


@pytest.mark.slow
def test_a_table_trains_its_rows_as_stacks_with_report_stack(tmp_path):
    """``almlit.report --train --stack K``: each row's members as stacks; the table of the same folders without it."""
    (tmp_path / "tiny.yaml").write_text(
        "table: tiny\nsetting: digits\ntitle: Digits\nmembers: 2\nmetrics: [auc]\ncommon: [data=digits]\n"
        "rows:\n  BCE: [loss=bce, alm=none]\n  ALM + BCE: [loss=bce, alm=binary]\n"
    )
    arguments = ["tiny.yaml", "--root", "tables", "--output", "report", "--set", *QUIET, *TINY[:2]]
    trained = run_module("almlit.report", *arguments, "--train", "--stack", "2", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert trained.stdout.count("stack of 2: epoch 2/2") == 2  # one stack of two members per row
    table = (tmp_path / "report" / "tiny.md").read_text()
    again = run_module("almlit.report", *arguments, cwd=tmp_path)  # the finished rows, read without training
    assert again.returncode == 0, again.stderr
    assert "stack of" not in again.stdout and (tmp_path / "report" / "tiny.md").read_text() == table

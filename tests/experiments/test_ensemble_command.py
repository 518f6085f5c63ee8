"""``python -m almlit.ensemble`` argument handling, in process: bad input exits 2 with one line, before training."""

import numpy as np
import pytest
from omegaconf import OmegaConf

from almlit import ensemble
from almlit.data.fingerprint import DataFingerprint, write_fingerprint
from almlit.report.ensemble_members import check_members, compose_member, default_dir, merge_overrides, resolve_member
from tests.helpers.scored_runs import binary_config, write_scored_run


def error_of(capsys, *arguments):
    with pytest.raises(SystemExit) as exit_info:
        ensemble.main(list(arguments))
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("almlit: error: ") and "\n" not in error
    return error


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["seed=3"], "seed=3 is not allowed: member i trains with seed=i"),
        (["members=0"], "members must be an integer >= 1 or folds, got '0'"),
        (["data=images", "data.folds=1", "members=folds"], "members=folds needs data.folds=K (K >= 2, e.g. data"),
        (["+sweep=alm_grid"], "+sweep=alm_grid is not allowed: an ensemble trains one setting"),
        (["data=nope"], "data=nope is no option of the group data; choose one of cifar10, "),
        (["selection=missing.yaml"], "selection file missing.yaml not found"),
    ],
)
def test_bad_arguments_get_one_line(capsys, arguments, message):
    assert message in error_of(capsys, *arguments)


def test_a_finished_member_of_another_setting_is_never_reused(tmp_path, capsys):
    write_scored_run(tmp_path / "member0", binary_config(), np.array([0.0, 1.0]), np.array([0, 1]))
    message = error_of(capsys, "data=digits", "members=2", f"dir={tmp_path}")
    assert f"{tmp_path / 'member0'} was trained with another setting: " in message
    assert "use another dir= or remove the folder" in message


def test_an_interrupted_member_of_another_setting_is_refused(tmp_path, capsys):
    folder = tmp_path / "member1"
    folder.mkdir()
    (folder / "config.yaml").write_text(OmegaConf.to_yaml(binary_config(seed=1)))  # no COMPLETE: interrupted
    message = error_of(capsys, "data=digits", "members=2", f"dir={tmp_path}")
    assert f"{folder} was trained with another setting: " in message


def test_interrupted_members_are_trained_again_and_finished_ones_are_not(tmp_path):
    config = compose_member(["imb=50"])
    expected = resolve_member(config, tmp_path / "member0")
    for index in (0, 1):  # member0 finished, member1 interrupted after its first checkpoint
        folder = tmp_path / f"member{index}"
        folder.mkdir()
        (folder / "config.yaml").write_text(OmegaConf.to_yaml({**expected, "seed": index}))
    (tmp_path / "member0" / "COMPLETE").write_text("2026-01-01T00:00:00+00:00\n")
    (tmp_path / "member1" / "checkpoints").mkdir()
    (tmp_path / "member1" / "checkpoints" / "last.ckpt").write_bytes(b"")
    assert check_members(tmp_path, 3, expected) == [1, 2]


def test_selection_file_overrides_come_first(tmp_path):
    path = tmp_path / "selection.yaml"
    path.write_text(OmegaConf.to_yaml({"overrides": ["loss=bce", "alm.constraint.margin=0.0"]}))
    own, overrides = ensemble.split_arguments([f"selection={path}", "members=3", "imb=200"])
    assert own == {"selection": str(path), "members": "3"} and overrides == ["imb=200"]
    assert ensemble.read_selection(path) == ["loss=bce", "alm.constraint.margin=0.0"]


def test_a_selection_file_without_an_overrides_mapping_is_refused(tmp_path):
    for text in ("- loss=bce\n", "seed: 1\n"):  # a YAML list, a mapping without the key
        path = tmp_path / "selection.yaml"
        path.write_text(text)
        with pytest.raises(ValueError, match=f"^selection file {path} has no `overrides` list$"):
            ensemble.read_selection(path)


def test_command_line_overrides_replace_the_selections():
    merged = merge_overrides(["loss=bce", "alm.constraint.margin=0.0", "imb=100"], ["loss=s_ml", "imb=200"])
    assert merged == ["alm.constraint.margin=0.0", "loss=s_ml", "imb=200"]


def test_default_folder_is_the_same_for_the_same_setting():
    first = default_dir(compose_member(["loss=bce", "imb=50"]), ["loss=bce", "imb=50"])
    again = default_dir(compose_member(["imb=50", "loss=bce"]), ["imb=50", "loss=bce"])
    other = default_dir(compose_member(["loss=bce", "imb=60"]), ["loss=bce", "imb=60"])
    assert first == again != other
    assert first.parent.as_posix() == "outputs/ensembles" and first.name.startswith("digits_bce_binary_imb50_")


def test_a_member_trained_on_another_cohort_is_refused(tmp_path):
    """Members of ``data.root=cohortA`` are not members of cohort B (issue 13, item 1)."""
    config = compose_member(["data=mri", "data.root=cohortA"])
    (tmp_path / "member0").mkdir()
    (tmp_path / "member0" / "config.yaml").write_text(OmegaConf.to_yaml(resolve_member(config, tmp_path / "member0")))
    expected = resolve_member(compose_member(["data=mri", "data.root=cohortB"]), tmp_path / "member0")
    with pytest.raises(
        ValueError, match=r"member0 was trained with another setting: data.root \('cohortB' vs 'cohortA'\)"
    ):
        check_members(tmp_path, 1, expected)


def test_a_member_trained_on_changed_data_is_refused(tmp_path):
    """The files at data.root changed since member0 was trained: it is not reused (issue 13, item 1)."""
    config = compose_member(["imb=50"])
    expected = resolve_member(config, tmp_path / "member0")
    write_scored_run(tmp_path / "member0", expected, np.array([0.0, 1.0]), np.array([0, 1]))
    stored = DataFingerprint("a" * 64, {"digits.csv.gz": [1, "b" * 64]})
    write_fingerprint(tmp_path / "member0", stored)
    assert check_members(tmp_path, 2, expected, stored) == [1]
    current = DataFingerprint("c" * 64, {"digits.csv.gz": [1, "d" * 64]})
    with pytest.raises(ValueError) as error:
        check_members(tmp_path, 2, expected, current)
    assert str(error.value) == (
        f"{tmp_path / 'member0'} was trained on other data than this ensemble's data: data fingerprint aaaaaaaaaaaa "
        "(folder) vs cccccccccccc (digits.csv.gz changed); use another dir= or restore the data"
    )

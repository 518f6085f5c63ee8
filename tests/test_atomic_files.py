"""The one atomic writer: the umask's mode (not mkstemp's 0600), the old file kept and no temporary left on failure."""

import os
import stat

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from almlit.data.mri.cache import PreprocessCache
from almlit.plots.figures import save_figure
from almlit.runs.atomic_files import atomic_file, write_atomically
from almlit.runs.checkpoint_io import AtomicCheckpointIO
from almlit.runs.folder import write_scores

UMASKS = (0o022, 0o002, 0o077)


@pytest.fixture(params=UMASKS, ids=lambda umask: f"umask{umask:03o}")
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def expected_mode(umask):
    """What ``open(path, "w")`` gives a new file: 0666 less the umask's bits (POSIX)."""
    return 0o666 & ~umask


def test_a_new_file_gets_the_mode_of_the_umask(tmp_path, umask):
    write_atomically(tmp_path / "sub" / "metrics.json", "{}\n")
    assert (tmp_path / "sub" / "metrics.json").read_text() == "{}\n"
    assert mode(tmp_path / "sub" / "metrics.json") == expected_mode(umask)
    # the reference: a file written the ordinary way, under the same umask
    with open(tmp_path / "plain", "w") as stream:
        stream.write("x")
    assert mode(tmp_path / "plain") == expected_mode(umask)


def test_a_replaced_file_gets_the_mode_of_the_umask(tmp_path, umask):
    path = tmp_path / "COMPLETE"
    path.write_text("old\n")
    path.chmod(0o600)
    write_atomically(path, b"new\n")
    assert path.read_bytes() == b"new\n"
    assert mode(path) == expected_mode(umask)


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda path: write_atomically(path, "x"), id="text"),
        pytest.param(lambda path: write_scores(path, torch.zeros(2), torch.tensor([0, 1]), torch.arange(2)), id="csv"),
        pytest.param(lambda path: save_figure(Figure(), path.with_suffix(".png")), id="figure"),
        pytest.param(lambda path: AtomicCheckpointIO().save_checkpoint({"epoch": 1}, path), id="checkpoint"),
        pytest.param(lambda path: PreprocessCache(path.parent).save("ab" * 32, np.zeros(3)), id="mri-cache"),
    ],
)
def test_every_kind_of_result_file_gets_the_mode_of_the_umask(tmp_path, umask, write):
    write(tmp_path / "out" / "result")
    written = [path for path in (tmp_path / "out").rglob("*") if path.is_file()]
    assert written and {mode(path) for path in written} == {expected_mode(umask)}


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("error", [Interrupted, KeyboardInterrupt])
def test_a_failure_mid_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, error):
    path = tmp_path / "metrics.json"
    path.write_text("old\n")
    with pytest.raises(error), atomic_file(path) as stream:
        stream.write(b"half of the new ")
        stream.flush()
        assert len(list(tmp_path.iterdir())) == 2  # the temporary file is beside the target while it is written
        raise error()
    assert path.read_text() == "old\n"
    assert [child.name for child in tmp_path.iterdir()] == ["metrics.json"]


def test_a_failure_mid_write_of_a_new_file_leaves_nothing(tmp_path):
    figure = Figure()
    with pytest.raises(ValueError, match="Format 'nope' is not supported"):
        save_figure(figure, tmp_path / "roc.nope")
    assert list(tmp_path.iterdir()) == []


def test_the_temporary_file_is_hidden_beside_the_target_and_removed_after_the_rename(tmp_path):
    with atomic_file(tmp_path / "roc.png") as stream:
        stream.write(b"png")
        (temporary,) = list(tmp_path.iterdir())
        assert temporary.name.startswith(".roc.png.") and temporary.name.endswith(".partial")
    assert [path.name for path in tmp_path.iterdir()] == ["roc.png"]

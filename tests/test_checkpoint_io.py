"""Atomic checkpoints: a crash while saving leaves the previous file whole; an unreadable one is named in one line."""

import os
import re

import pytest
import torch

from almlit.runs import checkpoint_io
from almlit.runs.checkpoint_io import AtomicCheckpointIO
from tests.helpers.pickles import RunsCode


def test_save_then_load_gives_the_checkpoint_back(tmp_path):
    io = AtomicCheckpointIO()
    io.save_checkpoint({"epoch": 3, "weights": torch.arange(4.0)}, tmp_path / "checkpoints" / "last.ckpt")
    loaded = io.load_checkpoint(tmp_path / "checkpoints" / "last.ckpt")
    assert loaded["epoch"] == 3 and torch.equal(loaded["weights"], torch.arange(4.0))
    assert [path.name for path in (tmp_path / "checkpoints").iterdir()] == ["last.ckpt"]


def test_crash_in_the_middle_of_a_save_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    path = tmp_path / "last.ckpt"
    io.save_checkpoint({"epoch": 1}, path)
    before = path.read_bytes()

    def half_a_save(checkpoint, stream):
        stream.write(b"PK\x03\x04 the first bytes of a zip")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint_io.torch, "save", half_a_save)
    with pytest.raises(OSError, match="disk full"):
        io.save_checkpoint({"epoch": 2}, path)
    assert path.read_bytes() == before
    assert [child.name for child in tmp_path.iterdir()] == ["last.ckpt"]  # the partial file is gone
    monkeypatch.undo()
    assert io.load_checkpoint(path) == {"epoch": 1}


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", None])
def test_unreadable_checkpoint_is_named_in_one_line(tmp_path, content):
    path = tmp_path / "last.ckpt"
    if content is None:  # a real checkpoint cut short, as a copy or a full disk would leave it
        torch.save({"weights": torch.zeros(1000)}, path)
        content = path.read_bytes()[:1000]
    path.write_bytes(content)
    with pytest.raises(ValueError) as error:
        AtomicCheckpointIO().load_checkpoint(path)
    message = str(error.value)
    assert message.startswith(f"checkpoint {path} is truncated or corrupt (") and "\n" not in message
    assert message.endswith("delete it to train this run from the start, or pass ckpt_path=<an intact checkpoint>")


def test_missing_checkpoint_stays_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="Checkpoint file not found"):
        AtomicCheckpointIO().load_checkpoint(tmp_path / "absent.ckpt")


def test_storage_options_are_refused(tmp_path):
    with pytest.raises(TypeError, match="AtomicCheckpointIO takes no storage_options, got {'a': 1}"):
        AtomicCheckpointIO().save_checkpoint({}, tmp_path / "x.ckpt", storage_options={"a": 1})


def test_a_checkpoint_that_would_run_code_is_refused_even_when_torch_is_told_to_trust_files(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # makes torch.load(weights_only=None) unpickle anything
    marker = tmp_path / "marker"
    path = tmp_path / "last.ckpt"
    torch.save({"epoch": 3, "callbacks": RunsCode(f"touch {marker}")}, path)
    message = (
        f"checkpoint {path} names {os.system.__module__}.system, which a weights-only load refuses (reading it could"
        " run code); load only checkpoints that almlit wrote"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        AtomicCheckpointIO().load_checkpoint(path)
    assert not marker.exists()

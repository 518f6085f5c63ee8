"""CIFAR python-pickle files for tests that cannot download the data: a stand-in for torchvision's downloader and
changes of written files (the random files themselves: :func:`almlit.benchmark.synthetic.write_random_cifar`)."""

import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np

from almlit.benchmark.synthetic import write_random_cifar


def fake_torchvision_cifar(variant: str) -> type:
    """A stand-in for torchvision's CIFAR10 / CIFAR100 class that records its calls and "downloads" fake files.

    Args:
        variant: ``"cifar10"`` or ``"cifar100"``, the layout the fake writes.

    Returns:
        A class to monkeypatch over ``torchvision.datasets.CIFAR10`` / ``CIFAR100``; its ``calls`` attribute lists
        ``(root, train, download)`` per instantiation.
    """

    class FakeTorchvisionCIFAR:
        calls: list[tuple[str, bool, bool]] = []

        def __init__(self, root: str, train: bool, download: bool) -> None:
            self.calls.append((root, train, download))
            write_random_cifar(root, variant, train_per_class=1, test_per_class=1)

    return FakeTorchvisionCIFAR


def rewrite_cifar_file(path: Path, change: Callable[[dict], dict]) -> None:
    """Replace a (fake, trusted) CIFAR pickle file by ``change`` of its content dict."""
    path.write_bytes(pickle.dumps(change(pickle.loads(path.read_bytes(), encoding="bytes"))))


def without_class(class_id: int) -> Callable[[dict], dict]:
    """A ``rewrite_cifar_file`` change that drops every image of ``class_id`` (bytes keys, either label key)."""

    def change(content: dict) -> dict:
        label_key = b"labels" if b"labels" in content else b"fine_labels"
        keep = np.asarray(content[label_key]) != class_id
        kept = {key: np.asarray(value)[keep] for key, value in content.items() if key.endswith(b"labels")}
        return {**content, **{key: value.tolist() for key, value in kept.items()}, b"data": content[b"data"][keep]}

    return change


def with_str_keys(content: dict) -> dict:
    """A ``rewrite_cifar_file`` change that writes the keys as str, as Python 3 tools write CIFAR files."""
    return {key.decode(): value for key, value in content.items()}

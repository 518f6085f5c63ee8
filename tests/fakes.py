"""Small stand-ins for data sets that cannot be downloaded in tests."""

import os
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np

CIFAR_NUM_CLASSES = {"cifar10": 10, "cifar100": 100}
CIFAR10_TRAIN_BATCHES = 5


def _write_pickle(path: Path, content: dict) -> None:
    with path.open("wb") as file:
        pickle.dump(content, file)


def write_fake_cifar(root: str | Path, variant: str, train_per_class: int, test_per_class: int, seed: int = 0) -> Path:
    """Write random images in the python-pickle layout of CIFAR10 / CIFAR100.

    Labels are shuffled so that every class has exactly ``train_per_class`` training and ``test_per_class``
    test images. CIFAR10 spreads its training images over data_batch_1..5 like the real files; CIFAR100 writes
    ``train`` and ``test`` with fine labels and (arbitrary) coarse labels.

    Args:
        root: folder to write under; created if needed.
        variant: ``"cifar10"`` or ``"cifar100"``.
        train_per_class: training images per class.
        test_per_class: test images per class.
        seed: seed of the pixels and of the label order.

    Returns:
        The folder holding the files (``root/cifar-10-batches-py`` or ``root/cifar-100-python``).
    """
    generator = np.random.default_rng(seed)
    num_classes = CIFAR_NUM_CLASSES[variant]

    def random_split(per_class: int) -> tuple[np.ndarray, list[int]]:
        labels = generator.permutation(np.repeat(np.arange(num_classes), per_class))
        images = generator.integers(0, 256, size=(len(labels), 3 * 32 * 32), dtype=np.uint8)
        return images, labels.tolist()

    train_images, train_labels = random_split(train_per_class)
    test_images, test_labels = random_split(test_per_class)
    if variant == "cifar10":
        folder = Path(root) / "cifar-10-batches-py"
        folder.mkdir(parents=True, exist_ok=True)
        bounds = np.linspace(0, len(train_labels), CIFAR10_TRAIN_BATCHES + 1).astype(int)
        for number, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:], strict=True), start=1):
            batch = {b"data": train_images[start:stop], b"labels": train_labels[start:stop]}
            _write_pickle(folder / f"data_batch_{number}", batch)
        _write_pickle(folder / "test_batch", {b"data": test_images, b"labels": test_labels})
    else:
        folder = Path(root) / "cifar-100-python"
        folder.mkdir(parents=True, exist_ok=True)
        for name, images, labels in (("train", train_images, train_labels), ("test", test_images, test_labels)):
            coarse_labels = [label // 5 for label in labels]
            _write_pickle(folder / name, {b"data": images, b"fine_labels": labels, b"coarse_labels": coarse_labels})
    return folder


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
            write_fake_cifar(root, variant, train_per_class=1, test_per_class=1)

    return FakeTorchvisionCIFAR


def rewrite_cifar_file(path: Path, change: Callable[[dict], dict]) -> None:
    """Replace a (fake, trusted) CIFAR pickle file by ``change`` of its content dict."""
    _write_pickle(path, change(pickle.loads(path.read_bytes(), encoding="bytes")))


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


class RunsCode:
    """Unpickling this runs ``command`` in a shell (``os.system``): what a malicious data file or checkpoint does."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple:
        return os.system, (self.command,)

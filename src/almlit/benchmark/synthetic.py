"""Random-pixel CIFAR for benchmarking where the files are absent: the real split sizes, ids and batches.

Throughput does not depend on pixel values, only on how many images of which shape flow through. So when the
CIFAR files are missing, the benchmark writes random-pixel files in CIFAR's python-pickle layout (50000 training
and 10000 test images, the same number of each class, as in the real files: :func:`write_random_cifar`, which the
GPU check and the tests use at other sizes too) to a temporary folder and lets the
configured DataModule read them: the splits come out of the real code with the real sizes, whatever the data
config (binary, long-tailed, any classes or ratio).
"""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path

import numpy as np
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig

from almlit.data import BinaryCIFAR, ImageDataModule, LongTailCIFAR
from almlit.data.cifar_files import IMAGE_SHAPE, cifar_files_present, cifar_layout

CIFAR_DATA_MODULES = (BinaryCIFAR, LongTailCIFAR)
CIFAR10_TRAIN_FILES = 5
REAL_PER_CLASS = {"cifar10": (5000, 1000), "cifar100": (500, 100)}  # training and test images of each class


def write_random_cifar(
    root: str | Path,
    variant: str,
    train_per_class: int | None = None,
    test_per_class: int | None = None,
    seed: int = 0,
) -> Path:
    """Write random-pixel CIFAR10 / CIFAR100 under ``root``, in the python-pickle layout that torchvision downloads.

    Every class has exactly ``train_per_class`` training and ``test_per_class`` test images, in a shuffled label
    order. CIFAR10 spreads its training images over data_batch_1..5 like the real files; CIFAR100 writes ``train``
    and ``test`` with fine labels and (arbitrary) coarse labels. Benchmarks, the GPU check and the tests use it.

    Args:
        root: folder to write under; created if needed.
        variant: ``"cifar10"`` or ``"cifar100"``.
        train_per_class: training images per class; ``None``: the real files' (5000 for CIFAR10, 500 for CIFAR100).
        test_per_class: test images per class; ``None``: the real files' (1000 for CIFAR10, 100 for CIFAR100).
        seed: seed of the pixels and of the label order.

    Returns:
        The folder holding the files (``root/cifar-10-batches-py`` or ``root/cifar-100-python``).

    Raises:
        ValueError: for another variant.
    """
    layout = cifar_layout(variant)
    real_train, real_test = REAL_PER_CLASS[variant]
    generator = np.random.default_rng(seed)

    def random_split(per_class: int) -> tuple[np.ndarray, list[int]]:
        labels = generator.permutation(np.repeat(np.arange(layout.num_classes), per_class))
        images = generator.integers(0, 256, size=(len(labels), int(np.prod(IMAGE_SHAPE))), dtype=np.uint8)
        return images, labels.tolist()

    train_images, train_labels = random_split(real_train if train_per_class is None else train_per_class)
    test_images, test_labels = random_split(real_test if test_per_class is None else test_per_class)
    folder = Path(root) / layout.folder
    folder.mkdir(parents=True, exist_ok=True)
    if variant == "cifar10":
        bounds = np.linspace(0, len(train_labels), CIFAR10_TRAIN_FILES + 1).astype(int)
        for name, start, stop in zip(layout.train_files, bounds[:-1], bounds[1:], strict=True):
            _write_pickle(folder / name, {b"data": train_images[start:stop], b"labels": train_labels[start:stop]})
        _write_pickle(folder / "test_batch", {b"data": test_images, b"labels": test_labels})
    else:
        for name, images, labels in (("train", train_images, train_labels), ("test", test_images, test_labels)):
            coarse_labels = [label // 5 for label in labels]
            _write_pickle(folder / name, {b"data": images, b"fine_labels": labels, b"coarse_labels": coarse_labels})
    return folder


def _write_pickle(path: Path, content: dict) -> None:
    with path.open("wb") as file:
        pickle.dump(content, file, protocol=pickle.HIGHEST_PROTOCOL)


def wants_synthetic(data_config: DictConfig, synthetic: str) -> bool:
    """Whether to benchmark on random pixels.

    Args:
        data_config: the ``data`` node of the composed config.
        synthetic: ``"true"``, ``"false"``, or ``"auto"``: synthetic exactly when the data is CIFAR and its files
            are absent under ``data.root``.

    Raises:
        ValueError: ``synthetic="true"`` for data that is not read from CIFAR files.
    """
    is_cifar = issubclass(get_class(data_config._target_), CIFAR_DATA_MODULES)
    if synthetic == "true" and not is_cifar:
        raise ValueError(
            f"bench.synthetic=true replaces the CIFAR files with random pixels, but data is {data_config._target_};"
            " use bench.synthetic=auto or false"
        )
    if synthetic == "auto":
        return is_cifar and not cifar_files_present(data_config.root, data_config.variant)
    return synthetic == "true"


def build_datamodule(data_config: DictConfig, synthetic: bool, **overrides: object) -> ImageDataModule:
    """Instantiate the configured DataModule and set it up, from random-pixel CIFAR files when ``synthetic``.

    Nothing is downloaded. The random files live in a temporary folder only while the datasets are built.

    Args:
        data_config: the ``data`` node of the composed config.
        synthetic: read random-pixel CIFAR files of the configured variant instead of ``data.root``.
        overrides: arguments replacing the config's (e.g. ``batch_size``).
    """
    if not synthetic:
        datamodule = instantiate(data_config, **overrides)
        datamodule.setup("fit")
        return datamodule
    with tempfile.TemporaryDirectory(prefix="almlit-bench-") as root:
        write_random_cifar(root, data_config.variant)
        datamodule = instantiate(data_config, root=root, download=False, **overrides)
        datamodule.setup("fit")
    return datamodule

"""Random-pixel CIFAR for benchmarking where the files are absent: the real split sizes, ids and batches.

Throughput does not depend on pixel values, only on how many images of which shape flow through. So when the
CIFAR files are missing, the benchmark writes random-pixel files in CIFAR's python-pickle layout (50000 training
and 10000 test images, the same number of each class, as in the real files) to a temporary folder and lets the
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
CIFAR_IMAGES = {"train": 50000, "test": 10000}


def write_random_cifar(root: str | Path, variant: str, seed: int = 0) -> None:
    """Write CIFAR10 / CIFAR100 with random pixels under ``root``, in the layout that torchvision downloads.

    Every file holds the same number of images of each class (so the whole split does too), classes interleaved.

    Args:
        root: destination; ``root/cifar-10-batches-py`` or ``root/cifar-100-python`` is created.
        variant: ``"cifar10"`` or ``"cifar100"``.
        seed: seed of the pixels.
    """
    layout = cifar_layout(variant)
    folder = Path(root) / layout.folder
    folder.mkdir(parents=True, exist_ok=True)
    generator = np.random.default_rng(seed)
    for split, names in (("train", layout.train_files), ("test", layout.test_files)):
        per_file = CIFAR_IMAGES[split] // len(names)
        labels = np.tile(np.arange(layout.num_classes), per_file // layout.num_classes).tolist()
        for name in names:
            pixels = generator.integers(0, 256, size=(per_file, int(np.prod(IMAGE_SHAPE))), dtype=np.uint8)
            with (folder / name).open("wb") as file:
                pickle.dump({"data": pixels, layout.label_key: labels}, file, protocol=pickle.HIGHEST_PROTOCOL)


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

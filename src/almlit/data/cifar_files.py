"""Reading CIFAR10 / CIFAR100 from their python-pickle layout, and downloading it.

Reading goes straight from the pickle files to uint8 arrays (no torchvision, no PIL, no checksum pass), so
loading 50000 images takes a fraction of a second. Both kinds of file are read: the original ones, written by
Python 2, whose keys are bytes (``b"data"``), and those that Python 3 tools write, whose keys are str (``"data"``).
A pickle can name any Python function to call while it is read; the files are read by :class:`CifarUnpickler`,
which builds only what CIFAR files hold (dicts, lists, numpy arrays), so a data file can never run code.
Downloading uses torchvision, which writes that same layout under ``root``.
"""

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torchvision import datasets

IMAGE_SHAPE = (3, 32, 32)


@dataclass(frozen=True)
class CifarLayout:
    """Where a CIFAR variant keeps its files and how they store the labels.

    ``name`` is also the torchvision dataset class that downloads the variant.
    """

    name: str
    folder: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    files_pattern: str
    label_key: str
    num_classes: int


LAYOUTS = {
    "cifar10": CifarLayout(
        name="CIFAR10",
        folder="cifar-10-batches-py",
        train_files=tuple(f"data_batch_{number}" for number in range(1, 6)),
        test_files=("test_batch",),
        files_pattern="{data_batch_1..5,test_batch}",
        label_key="labels",
        num_classes=10,
    ),
    "cifar100": CifarLayout(
        name="CIFAR100",
        folder="cifar-100-python",
        train_files=("train",),
        test_files=("test",),
        files_pattern="{train,test}",
        label_key="fine_labels",
        num_classes=100,
    ),
}


def cifar_layout(variant: str) -> CifarLayout:
    """The file layout of a CIFAR variant.

    Args:
        variant: ``"cifar10"`` or ``"cifar100"``.

    Raises:
        ValueError: for any other variant.
    """
    if variant not in LAYOUTS:
        raise ValueError(f"variant must be one of {sorted(LAYOUTS)}, got {variant!r}")
    return LAYOUTS[variant]


def cifar_files_present(root: str | Path, variant: str) -> bool:
    """Whether every file of both splits of ``variant`` exists under ``root``."""
    layout = cifar_layout(variant)
    folder = Path(root) / layout.folder
    return all((folder / name).is_file() for name in layout.train_files + layout.test_files)


# (module, name) of everything a CIFAR pickle may name: numpy's array and scalar reconstruction (numpy 1 writes
# numpy.core, numpy 2 numpy._core; protocol 5 rebuilds arrays with _frombuffer), and what protocols < 4 use for
# bytes and sets, under their Python 3 and Python 2 module names.
ALLOWED_GLOBALS = frozenset(
    [
        *[
            (f"{package}.multiarray", name)
            for package in ("numpy.core", "numpy._core")
            for name in ("_reconstruct", "scalar")
        ],
        *[(f"{package}.numeric", "_frombuffer") for package in ("numpy.core", "numpy._core")],
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
        *[(module, name) for module in ("builtins", "__builtin__") for name in ("bytearray", "set", "frozenset")],
    ]
)


class CifarUnpickler(pickle.Unpickler):
    """An unpickler that builds only containers and numpy arrays: a pickle that names anything else is refused.

    A pickle rebuilds objects by calling the functions it names (``os.system`` as readily as ``numpy.dtype``);
    this one looks up only :data:`ALLOWED_GLOBALS`, what numpy arrays and Python 2 / 3 pickles of CIFAR need.
    """

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f"it names {module}.{name}, which is refused (a CIFAR file holds only dicts, lists and numpy arrays;"
                " reading it could run code)"
            )
        return super().find_class(module, name)


def read_pickle(path: Path) -> object:
    """Unpickle a file with :class:`CifarUnpickler`; Python 2 strings become bytes (as the CIFAR page reads them)."""
    with path.open("rb") as file:
        return CifarUnpickler(file, encoding="bytes").load()


def read_cifar_file(path: Path, label_key: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR pickle file, whose keys may be bytes (Python 2, the original files) or str (Python 3).

    Args:
        path: the file.
        label_key: ``"labels"`` (CIFAR10) or ``"fine_labels"`` (CIFAR100), as str or bytes in the file.
        num_classes: labels must lie in [0, num_classes).

    Returns:
        uint8 images [N, 3, 32, 32] and int64 labels [N].

    Raises:
        ValueError: if the file is not a CIFAR python-pickle file, or names a function a CIFAR file never needs.
    """

    def not_cifar(reason: str) -> ValueError:
        return ValueError(f"{path} is not a CIFAR python-pickle file: {reason}")

    try:
        content = read_pickle(path)
    # Arbitrary bytes make the unpickler fail in many ways (UnpicklingError, EOFError, KeyError, ...).
    except Exception as error:
        raise not_cifar(f"{type(error).__name__}: {error}") from error
    if not isinstance(content, dict):
        raise not_cifar(f"it holds a {type(content).__name__}, not a dict")
    content = {key.decode("latin-1") if isinstance(key, bytes) else key: value for key, value in content.items()}
    for key in ("data", label_key):
        if key not in content:
            raise not_cifar(f"key {key!r} (str or bytes) is missing; it has {sorted(map(str, content))}")
    data = np.asarray(content["data"])
    row_length = int(np.prod(IMAGE_SHAPE))
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != row_length:
        raise not_cifar(f"'data' is {data.dtype} of shape {data.shape}, expected uint8 [N, {row_length}]")
    labels = np.asarray(content[label_key], dtype=np.int64)
    if labels.shape != (len(data),):
        raise not_cifar(f"{label_key!r} has shape {labels.shape}, expected ({len(data)},)")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise not_cifar(f"{label_key!r} holds values outside 0..{num_classes - 1}")
    return data.reshape(-1, *IMAGE_SHAPE), labels


def load_cifar_split(root: str | Path, variant: str, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """Load the training or test split of CIFAR10 / CIFAR100, in file order.

    Args:
        root: folder holding ``cifar-10-batches-py/`` or ``cifar-100-python/``.
        variant: ``"cifar10"`` or ``"cifar100"``.
        train: the training split (else the test split).

    Returns:
        uint8 images [N, 3, 32, 32] and int64 labels [N]; for CIFAR10 training, the five batches concatenated.

    Raises:
        FileNotFoundError: if a file of the split is absent.
        ValueError: if the variant is unknown or a file is not a CIFAR pickle.
    """
    layout = cifar_layout(variant)
    folder = Path(root) / layout.folder
    paths = [folder / name for name in (layout.train_files if train else layout.test_files)]
    if not all(path.is_file() for path in paths):
        raise FileNotFoundError(
            f"{layout.name} not found under {root}: expected {folder}/{layout.files_pattern} (the python-pickle"
            " layout); set data.download=true to fetch it or data.root to where it is"
        )
    parts = [read_cifar_file(path, layout.label_key, layout.num_classes) for path in paths]
    return np.concatenate([images for images, _ in parts]), np.concatenate([labels for _, labels in parts])


def download_cifar(root: str | Path, variant: str) -> None:
    """Download and extract both splits of ``variant`` into ``root`` with torchvision.

    Args:
        root: destination folder; the python-pickle layout is extracted below it.
        variant: ``"cifar10"`` or ``"cifar100"``.
    """
    dataset_class = getattr(datasets, cifar_layout(variant).name)
    for train in (True, False):
        dataset_class(root=str(root), train=train, download=True)


class CIFARFiles:
    """Mixin of the DataModules that read one CIFAR variant from ``root`` (set ``root``, ``variant``, ``download``).

    Provides Lightning's ``prepare_data`` (download only when allowed and the files are absent) and the reader.
    """

    root: Path
    variant: str
    download: bool

    def prepare_data(self) -> None:
        """Download CIFAR when ``download`` is set and its files are absent."""
        if self.download and not cifar_files_present(self.root, self.variant):
            download_cifar(self.root, self.variant)

    def source_files(self) -> dict[str, Path]:
        """The files both splits are read from, by name under ``root`` (the run's data fingerprint covers them)."""
        layout = cifar_layout(self.variant)
        names = layout.train_files + layout.test_files
        return {f"{layout.folder}/{name}": Path(self.root) / layout.folder / name for name in names}

    @property
    def description(self) -> str:
        """``"<CIFAR10|CIFAR100> under <root>"``, as messages name the data set."""
        return f"{cifar_layout(self.variant).name} under {self.root}"

    def load_split(self, train: bool) -> tuple[np.ndarray, np.ndarray]:
        """The training or test split as ``(uint8 images [N, 3, 32, 32], int64 labels [N])``."""
        return load_cifar_split(self.root, self.variant, train=train)

"""Where the Hydra configuration lives, and the resolvers it uses (kept free of heavy imports, so light entry points
stay fast)."""

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

CONFIG_DIR = str(Path(__file__).resolve().parent / "conf")  # shipped inside the package: a wheel runs anywhere


def network_suffix(name: str | None) -> str:
    """``_<name>`` for a network chosen by name (``model=torchvision model.name=resnet18``), else nothing.

    ``run_name`` uses it (``${almlit.network:...}``) so a run of a library network is named after it, while the
    names of runs of almlit's own networks stay as they were.
    """
    return f"_{name}" if name else ""


OmegaConf.register_new_resolver("almlit.network", network_suffix, replace=True)

IMAGE_DATA_TARGET = (
    "almlit.data.images.ImageFolderData"  # data=images, data=images_multiclass and configs built on them
)
MAX_DATA_NAME = 100  # characters of a data name's source and classes (a longer name is cut; see data_name)
NAME_UNSAFE = re.compile(r"[^A-Za-z0-9.+-]+")  # in a folder or class name, runs of anything else become "-"


def data_name(choice: str, data: Mapping[str, Any]) -> str:
    """The data part of ``run_name``: the data config's name and, for image data, what sets one data set apart.

    Image data (``_target_`` :data:`IMAGE_DATA_TARGET`) add the source (the root folder's name, or the manifest's
    folder and file name), the class names of the task (``data.positive_classes`` binary, ``data.critical_classes``
    multi-class; joined by ``+``) and the fold (``fold<k>of<K>``), e.g. ``images_xray_pneumonia``,
    ``images_derm-labels_melanoma_fold2of5``: two cohorts, tasks or folds train into two folders under the default
    run name. Other data keep their config's name (``digits``, ``mri``), with the fold when one is set
    (``mri_fold1of5``). Names that still meet (two roots of one name,
    a name cut at :data:`MAX_DATA_NAME` characters) are told apart by the run's identity check, which refuses the
    second one in one line (:func:`almlit.runs.resume.check_same_run`).

    Args:
        choice: the data config chosen (``hydra:runtime.choices.data``).
        data: the ``data`` node.
    """
    parts = []
    if data.get("_target_") == IMAGE_DATA_TARGET:
        manifest, root = data.get("manifest"), data.get("root")
        if manifest is not None:
            path = Path(str(manifest)).resolve()
            source = f"{path.parent.name}-{path.stem}"
        else:
            source = Path(str(root)).resolve().name if root is not None else ""
        classes = data.get("critical_classes") or data.get("positive_classes") or []
        parts = [source, "+".join(str(name) for name in classes)]
    if data.get("folds") is not None and data.get("fold") is not None:
        parts.append(f"fold{data.get('fold')}of{data.get('folds')}")
    name = "_".join(NAME_UNSAFE.sub("-", part).strip("-") for part in parts if part)
    return f"{choice}_{name[:MAX_DATA_NAME]}" if name else choice


OmegaConf.register_new_resolver("almlit.data_name", data_name, replace=True)


def spatial_dims(shape: list[int] | None) -> int:
    """The spatial dimensions of a data set's ``data.shape``: 3 for MRI's ``[D, H, W]``, else 2 (also when unset)."""
    return 2 if shape is None else len(shape)


OmegaConf.register_new_resolver("almlit.spatial_dims", spatial_dims, replace=True)

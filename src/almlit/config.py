"""Where the Hydra configuration lives, and the resolvers it uses (kept free of heavy imports, so light entry points
stay fast)."""

from pathlib import Path

from omegaconf import OmegaConf

CONFIG_DIR = str(Path(__file__).resolve().parent / "conf")  # shipped inside the package: a wheel runs anywhere


def network_suffix(name: str | None) -> str:
    """``_<name>`` for a network chosen by name (``model=torchvision model.name=resnet18``), else nothing.

    ``run_name`` uses it (``${almlit.network:...}``) so a run of a library network is named after it, while the
    names of runs of almlit's own networks stay as they were.
    """
    return f"_{name}" if name else ""


OmegaConf.register_new_resolver("almlit.network", network_suffix, replace=True)


def spatial_dims(shape: list[int] | None) -> int:
    """The spatial dimensions of a data set's ``data.shape``: 3 for MRI's ``[D, H, W]``, else 2 (also when unset)."""
    return 2 if shape is None else len(shape)


OmegaConf.register_new_resolver("almlit.spatial_dims", spatial_dims, replace=True)

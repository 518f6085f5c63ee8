"""save_roc_figure writes a readable image atomically and leaves nothing behind on failure."""

import matplotlib.image
import pytest
import torch

from almlit.plots import save_roc_figure

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def separated_scores(size: int = 200) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    targets = (torch.rand(size, generator=generator) < 0.2).long()
    targets[:2] = torch.tensor([0, 1])
    return torch.randn(size, generator=generator, dtype=torch.float64) + 2 * targets, targets


@pytest.mark.parametrize(("title", "label"), [("", None), ("CIFAR10 1:100", "BCE + ALM")], ids=["plain", "labelled"])
def test_png_is_written(tmp_path, title: str, label: str | None) -> None:
    path = tmp_path / "run" / "roc.png"
    returned = save_roc_figure(*separated_scores(), path, title=title, label=label)

    assert returned == path
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 0
    height, width, channels = matplotlib.image.imread(path).shape
    assert height > 200 and width > height and channels in (3, 4)
    assert [entry.name for entry in path.parent.iterdir()] == ["roc.png"]


def test_failed_write_leaves_no_file(tmp_path) -> None:
    with pytest.raises(ValueError, match="not supported"):
        save_roc_figure(*separated_scores(), tmp_path / "roc.unknown")
    assert list(tmp_path.iterdir()) == []

"""The training images of a stack, held once: every member indexes its own rows by sample id."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from almlit.data.indexed import TensorImageDataset


def shared_images(datasets: Sequence[TensorImageDataset], num_samples: int) -> Tensor:
    """One tensor ``[num_samples, C, H, W]`` whose row ``i`` is the image of sample id ``i`` in ``datasets``.

    The members' training and validation sets are rows of one source split (sample id = row of that split), so a
    stack needs each image once, whatever its members' splits; rows no dataset holds stay zero.

    Args:
        datasets: the members' training and validation datasets.
        num_samples: 1 + the largest sample id (the multiplier bank's size, ``num_train_samples``).

    Raises:
        ValueError: if two datasets give one sample id different images (they do not come from one source split).
    """
    first = datasets[0].images
    images = torch.zeros((num_samples, *first.shape[1:]), dtype=first.dtype)
    filled = torch.zeros(num_samples, dtype=torch.bool)
    for dataset in datasets:
        ids = dataset.sample_ids
        seen = filled[ids]
        if not torch.equal(images[ids[seen]], dataset.images[seen]):
            raise ValueError(
                "stacked members must draw their images from one source split: a sample id names two images"
            )
        images[ids] = dataset.images
        filled[ids] = True
    return images

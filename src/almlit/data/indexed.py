"""A dataset of uint8 images held in one tensor, yielding ``(image, label, sample_id)``.

The sample id is what the multiplier bank (one lambda per training sample) is indexed with, so it is kept
next to every image. Batches are fetched with one indexing operation per tensor through ``__getitems__``,
which torch's DataLoader calls with the whole list of a batch's indices; ``collate_batch`` then passes the
already-batched tuple through unchanged.
"""

from collections.abc import Sequence

import torch
from torch.utils.data import Dataset

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
# The label of a sample whose class is not known (data given to ``python -m almlit.predict`` without labels).
UNKNOWN_LABEL = -1


def collate_batch(batch: Batch) -> Batch:
    """DataLoader ``collate_fn`` for :class:`TensorImageDataset`: the batch is already stacked, return it.

    Args:
        batch: ``(images, labels, sample_ids)`` as returned by ``TensorImageDataset.__getitems__``.

    Returns:
        The same tuple.
    """
    return batch


class TensorImageDataset(Dataset):
    """Images, labels and sample ids as three aligned tensors.

    Args:
        images: uint8 images [N, C, H, W], or float32 volumes [N, C, D, H, W] (preprocessed MRI).
        labels: torch.long tensor [N]; :data:`UNKNOWN_LABEL` for a sample whose class is not known.
        sample_ids: torch.long tensor [N] of distinct ids.

    Raises:
        ValueError: if a tensor has the wrong dtype or shape, the lengths differ, or an id repeats.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, sample_ids: torch.Tensor) -> None:
        if (images.dtype, images.dim()) not in ((torch.uint8, 4), (torch.float32, 5)):
            raise ValueError(
                "images must be a torch.uint8 tensor [N, C, H, W] or torch.float32 volumes [N, C, D, H, W], "
                f"got {images.dtype} of shape {tuple(images.shape)}"
            )
        for name, values in (("labels", labels), ("sample_ids", sample_ids)):
            if values.dtype != torch.long:
                raise ValueError(f"{name} must be torch.long, got {values.dtype}")
            if values.shape != (len(images),):
                raise ValueError(f"{name} must have shape [{len(images)}] like images, got {tuple(values.shape)}")
        distinct, counts = torch.unique(sample_ids, return_counts=True)
        if len(distinct) != len(sample_ids):
            repeated = distinct[counts > 1]
            raise ValueError(f"sample_ids must be distinct, these repeat: {repeated[:10].tolist()}")
        self.images = images
        self.labels = labels
        self.sample_ids = sample_ids

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device: torch.device | str) -> "TensorImageDataset":
        """Move the three tensors to ``device`` in place (a no-op when they are there) and return the dataset."""
        self.images, self.labels, self.sample_ids = (
            tensor.to(device) for tensor in (self.images, self.labels, self.sample_ids)
        )
        return self

    def __getitem__(self, index: int) -> Batch:
        return self.images[index], self.labels[index], self.sample_ids[index]

    def __getitems__(self, indices: Sequence[int]) -> Batch:
        """Fetch a whole batch at once.

        Args:
            indices: positions in the dataset.

        Returns:
            ``(images [B, C, H, W] uint8, labels [B] long, sample_ids [B] long)``.
        """
        index = torch.as_tensor(indices, dtype=torch.long)
        return self.images[index], self.labels[index], self.sample_ids[index]

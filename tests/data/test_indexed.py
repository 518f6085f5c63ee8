import pytest
import torch
from torch.utils.data import DataLoader

from almlit.data.indexed import TensorImageDataset, collate_batch


def make_dataset(num_images: int = 10) -> TensorImageDataset:
    images = torch.randint(0, 256, (num_images, 3, 4, 5), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(num_images) % 2
    sample_ids = torch.arange(num_images) * 7 + 100
    return TensorImageDataset(images, labels, sample_ids)


def test_getitem_returns_image_label_and_id():
    dataset = make_dataset()
    image, label, sample_id = dataset[3]
    assert torch.equal(image, dataset.images[3])
    assert (label.item(), sample_id.item()) == (1, 121)


def test_getitems_matches_getitem():
    dataset = make_dataset()
    indices = [7, 0, 3, 3]
    images, labels, sample_ids = dataset.__getitems__(indices)
    expected = [dataset[index] for index in indices]
    for position, batched in enumerate((images, labels, sample_ids)):
        assert torch.equal(batched, torch.stack([sample[position] for sample in expected]))


def test_dataloader_yields_every_sample_once_with_its_id():
    dataset = make_dataset()
    loader = DataLoader(dataset, batch_size=4, shuffle=True, collate_fn=collate_batch)
    seen = []
    for images, labels, sample_ids in loader:
        assert images.shape[1:] == (3, 4, 5) and labels.dtype == sample_ids.dtype == torch.long
        positions = (sample_ids - 100) // 7
        assert torch.equal(images, dataset.images[positions]) and torch.equal(labels, positions % 2)
        seen += sample_ids.tolist()
    assert sorted(seen) == dataset.sample_ids.tolist()


@pytest.mark.parametrize(
    ("images", "labels", "sample_ids", "message"),
    [
        (torch.zeros(2, 1, 2, 2), torch.zeros(2, dtype=torch.long), torch.arange(2), r"images must be a torch.uint8"),
        (torch.zeros(2, 2, 2, dtype=torch.uint8), torch.zeros(2, dtype=torch.long), torch.arange(2), "images must be"),
        (
            torch.zeros(2, 1, 2, 2, dtype=torch.uint8),
            torch.zeros(2, dtype=torch.long),
            torch.arange(2, dtype=torch.int32),
            "sample_ids must be torch.long, got torch.int32",
        ),
        (
            torch.zeros(2, 1, 2, 2, dtype=torch.uint8),
            torch.zeros(2),
            torch.arange(2),
            "labels must be torch.long, got torch.float32",
        ),
        (
            torch.zeros(2, 1, 2, 2, dtype=torch.uint8),
            torch.zeros(2, dtype=torch.long),
            torch.arange(3),
            r"sample_ids must have shape \[2\] like images, got \(3,\)",
        ),
        (
            torch.zeros(3, 1, 2, 2, dtype=torch.uint8),
            torch.zeros(3, dtype=torch.long),
            torch.tensor([4, 5, 4]),
            r"sample_ids must be distinct, these repeat: \[4\]",
        ),
    ],
)
def test_rejects_bad_tensors(images, labels, sample_ids, message):
    with pytest.raises(ValueError, match=message):
        TensorImageDataset(images, labels, sample_ids)

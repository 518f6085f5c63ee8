"""TensorDataModule: datasets follow the Trainer's device; batches come whole; the order is fixed by (seed, epoch)."""

from types import SimpleNamespace

import torch

from almlit.data.indexed import TensorImageDataset
from almlit.data.loaders import TensorDataModule


class ThreeSplits(TensorDataModule):
    critical_classes = (1,)

    def __init__(self) -> None:
        super().__init__(batch_size=4, eval_batch_size=8, seed=5)
        self.train_dataset, self.val_dataset, self.test_dataset = (
            TensorImageDataset(
                torch.zeros(10, 1, 2, 2, dtype=torch.uint8), torch.zeros(10, dtype=torch.long), torch.arange(10) + start
            )
            for start in (0, 100, 200)
        )


def test_datasets_move_to_the_trainers_device():
    datamodule = ThreeSplits()
    datamodule.trainer = SimpleNamespace(strategy=SimpleNamespace(root_device=torch.device("meta")))
    loaders = (datamodule.train_dataloader(), datamodule.val_dataloader(), datamodule.test_dataloader())
    for dataset in (datamodule.train_dataset, datamodule.val_dataset, datamodule.test_dataset):
        assert {dataset.images.device.type, dataset.labels.device.type, dataset.sample_ids.device.type} == {"meta"}
    assert [loader.batch_size for loader in loaders] == [4, 8, 8]


def test_training_order_depends_on_seed_and_epoch_only():
    datamodule = ThreeSplits()
    loader = datamodule.train_dataloader()
    loader.sampler.set_epoch(3)
    first = torch.cat([ids for _, _, ids in loader]).tolist()
    other = ThreeSplits().train_dataloader()
    other.sampler.set_epoch(3)
    assert torch.cat([ids for _, _, ids in other]).tolist() == first
    assert sorted(first) == list(range(10))

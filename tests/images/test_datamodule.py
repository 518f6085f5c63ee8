"""ImageFolderData on real digit images written to PNG: ids, labels, splits, normalisation, batches."""

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from almlit.config import CONFIG_DIR
from almlit.data.images import ImageFolderData
from tests.helpers.image_folders import digit_images, write_digit_folder, write_manifest

CLASSES = {"eight": 40, "seven": 60, "three": 100}
DIGIT_OF = {"eight": 8, "seven": 7, "three": 3}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("digits")
    return root, write_digit_folder(root, CLASSES, DIGIT_OF)


def test_binary_ids_labels_and_images_follow_the_sorted_files(folder):
    root, files = folder
    data = ImageFolderData(root=root, positive_classes=["eight"], channels=1, cache_dir=None)
    data.setup()
    images, targets = digit_images()
    by_file = {path: images[int(path.stem)] for path in files}  # the file name is the digit's index in load_digits
    everything = [data.train_dataset, data.val_dataset, data.test_dataset]
    ids = torch.cat([dataset.sample_ids for dataset in everything])
    assert sorted(ids.tolist()) == list(range(len(files))) and data.num_train_samples == len(files)
    for dataset in everything:
        for image, label, sample_id in zip(dataset.images, dataset.labels, dataset.sample_ids, strict=True):
            path = files[int(sample_id)]
            np.testing.assert_array_equal(image[0].numpy(), by_file[path])
            assert int(label) == (path.parent.name == "eight")
    assert data.num_classes == 2 and data.num_outputs == 1 and data.critical_classes == (1,)
    assert data.class_counts == (int((data.train_dataset.labels == 0).sum()), int(data.train_dataset.labels.sum()))


def test_normalisation_uses_the_training_split(folder):
    root, _ = folder
    data = ImageFolderData(root=root, positive_classes=["eight"], channels=1, crop_padding=0)
    data.setup()
    pixels = data.train_dataset.images.numpy() / 255
    batch = data.on_after_batch_transfer((data.train_dataset.images, data.train_dataset.labels, None), 0)[0]
    np.testing.assert_allclose(batch.numpy(), (pixels - pixels.mean()) / pixels.std(), rtol=1e-4, atol=1e-5)
    given = ImageFolderData(root=root, positive_classes=["eight"], channels=1, mean=[0.5], std=[0.25])
    given.setup()
    batch = given.on_after_batch_transfer((given.test_dataset.images, given.test_dataset.labels, None), 0)[0]
    np.testing.assert_allclose(batch.numpy(), (given.test_dataset.images.numpy() / 255 - 0.5) / 0.25, atol=1e-5)


def test_negative_classes_select_and_multiclass_names_critical_classes(folder):
    root, files = folder
    data = ImageFolderData(root=root, positive_classes=["eight"], negative_classes=["three"], channels=1)
    data.setup()
    ids = torch.cat([data.train_dataset.sample_ids, data.val_dataset.sample_ids, data.test_dataset.sample_ids])
    assert {files[int(index)].parent.name for index in ids} == {"eight", "three"}
    multi = ImageFolderData(root=root, critical_classes=["eight", "seven"], num_classes=3, channels=1)
    multi.setup()
    assert multi.critical_classes == (0, 1) and multi.num_outputs == 3
    assert multi.class_counts == tuple(int((multi.train_dataset.labels == c).sum()) for c in range(3))


def test_a_manifest_with_groups_keeps_each_patient_on_one_side(folder, tmp_path):
    root, files = folder
    rows = [
        {"path": str(path.relative_to(root)), "label": path.parent.name, "patient": f"{path.parent.name}{i // 3}"}
        for i, path in enumerate(files)
    ]
    manifest = write_manifest(root / "labels.csv", rows)
    folds = []
    for fold in range(3):
        data = ImageFolderData(
            manifest=manifest, positive_classes=["eight"], group_column="patient", folds=3, fold=fold, channels=1
        )
        data.setup()
        sides = {}
        for name, dataset in (("train", data.train_dataset), ("val", data.val_dataset), ("test", data.test_dataset)):
            for sample_id in dataset.sample_ids.tolist():
                sides.setdefault(rows[sample_id]["patient"], set()).add(name)
        assert all(len(names) == 1 for names in sides.values())
        folds.append(set(data.val_dataset.sample_ids.tolist()))
    assert not (folds[0] & folds[1]) and not (folds[1] & folds[2])
    # the run's data fingerprint covers the manifest and every image it lists, named under the manifest's folder
    assert data.source_files() == {"labels.csv": manifest, **{row["path"]: root / row["path"] for row in rows}}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"positive_classes": ["nine"]}, r"data.positive_classes names unknown class\(es\) \['nine'\]"),
        ({}, "needs exactly one of data.positive_classes"),
        ({"critical_classes": ["eight"]}, r"the data has 3 classes \['eight', 'seven', 'three'\] but the run is set"),
        ({"positive_classes": ["eight"], "negative_classes": ["eight"]}, "must be disjoint, both hold"),
        ({"positive_classes": ["eight"], "group_column": "patient"}, "data.group_column=patient needs data.manifest"),
        ({"positive_classes": ["eight"], "mean": [0.5, 0.5], "std": [1, 1]}, "one value per channel .1."),
    ],
)
def test_settings_are_refused_with_their_name(folder, arguments, message):
    root, _ = folder
    with pytest.raises(ValueError, match=message):
        ImageFolderData(root=root, channels=1, num_classes=2, **arguments)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["data=images", "data.positive_classes=[eight]"], (2, 1, "val/auc", "almlit.models.resnet10")),
        (
            ["data=images_multiclass", "experiment=multiclass", "num_classes=3", "data.critical_classes=[seven]"]
            + ["model=small_cnn"],
            (3, 3, "val/accuracy", "almlit.models.SmallCNN"),
        ),
    ],
)
def test_the_shipped_configs_compose_into_data_and_a_network_that_fit(folder, tmp_path, overrides, expected):
    root, _ = folder
    common = [f"data.root={root}", f"data.cache_dir={tmp_path}", "data.channels=1", "model.in_channels=1"]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        config = compose("train", overrides=[*overrides, *common])
    data = instantiate(config.data)
    data.setup("fit")
    assert (data.num_classes, config.num_outputs, config.monitor, config.model._target_) == expected
    network = instantiate(config.model)
    images = data.on_after_batch_transfer(next(iter(data.val_dataloader())), 0)[0]  # as Lightning hands it on
    assert network(images).shape == (len(images), data.num_outputs)
    assert (data.seed, data.split_seed) == (config.seed, config.seed)


def test_a_split_without_a_class_is_refused_before_decoding(tmp_path, monkeypatch):
    write_digit_folder(tmp_path / "few", {"eight": 3, "three": 40}, {"eight": 8, "three": 3})
    monkeypatch.setattr("almlit.data.images.datamodule.load_images", lambda *args: pytest.fail("images decoded"))
    with pytest.warns(UserWarning, match="least populated class"):  # scikit-learn's own warning about 3 < 5 folds
        with pytest.raises(ValueError, match=r"the image folder .*few, validation split: positive class \['eight'\]"):
            ImageFolderData(root=tmp_path / "few", positive_classes=["eight"], channels=1)

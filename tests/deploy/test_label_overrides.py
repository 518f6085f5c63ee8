"""``almlit.predict`` keeps the labels the model was trained with: a ``data.*`` override that changes them is refused.

The operating points of a run are thresholds chosen for its labels (which classes are positive or critical);
predictions scored against other labels would be judged by thresholds chosen for another task.
"""

import pytest

from almlit.deploy.data import LABEL_KEYS, apply_data_overrides
from almlit.report.ensemble_members import compose_member, resolve_member


def trained(*overrides):
    return resolve_member(compose_member(list(overrides)), "run")


@pytest.mark.parametrize(
    ("run", "override", "message"),
    [
        (
            (),
            "data.positive_classes=[3]",
            "data.positive_classes=[3] changes the labels: the model was trained with data.positive_classes=[8], and "
            "its operating points were chosen for those labels; leave data.positive_classes out (predict keeps the "
            "trained labels)",
        ),
        (
            (),
            "data.negative_classes=[0,1]",
            "data.negative_classes=[0,1] changes the labels: the model was trained with "
            "data.negative_classes=[0,1,2,3,4,5,6,7,9], and",
        ),
        (
            ("data=images_multiclass", "data.root=derm", "num_classes=7", "data.critical_classes=[melanoma]"),
            "data.critical_classes=[nevus,melanoma]",
            "data.critical_classes=[nevus,melanoma] changes the labels: the model was trained with "
            "data.critical_classes=[melanoma], and",
        ),
        (
            ("data=images_multiclass", "data.root=derm", "num_classes=7", "data.critical_classes=[melanoma]"),
            "data.num_classes=8",
            "data.num_classes=8 changes the labels: the model was trained with data.num_classes=7, and",
        ),
        (
            ("data=images", "data.root=xray", "data.positive_classes=[pneumonia]"),
            "data.critical_classes=[pneumonia]",
            "data.critical_classes=[pneumonia] changes the labels: the model was trained with "
            "data.critical_classes=null, and",
        ),
        (
            ("data=cifar10",),
            "data.variant=cifar100",
            "data.variant=cifar100 changes the labels: the model was trained with data.variant=cifar10, and",
        ),
    ],
)
def test_an_override_that_changes_the_labels_is_refused_naming_both_values(run, override, message):
    with pytest.raises(ValueError) as refused:
        apply_data_overrides(trained(*run), ["data.eval_batch_size=8", override])
    assert str(refused.value).startswith(message)


def test_the_trained_labels_repeated_and_other_data_keys_pass():
    config = trained("data=images", "data.root=xray", "data.positive_classes=[pneumonia]")
    overrides = ["data.root=/new/xray", "data.positive_classes=[pneumonia]", "data.critical_classes=null"]
    data = apply_data_overrides(config, [*overrides, "data.folds=5", "data.fold=1", "data.group_column=patient"])
    assert (data["data"]["root"], data["data"]["positive_classes"]) == ("/new/xray", ["pneumonia"])
    assert (data["data"]["folds"], data["data"]["fold"], data["data"]["group_column"]) == (5, 1, "patient")
    assert config["data"]["root"] == "xray"  # the run's configuration itself is left as it was


def test_every_label_key_is_a_key_of_some_data_config():
    keys = {
        key
        for kind in ("digits", "cifar10", "cifar10_lt", "images_multiclass")
        for key in trained(f"data={kind}")["data"]
    }
    assert set(LABEL_KEYS) <= keys


def test_a_class_named_as_a_number_or_as_text_is_the_same_class():
    """An image folder named ``8`` is class "8" whether the override writes [8] or ["8"]."""
    config = trained("data=images", "data.root=digits", "data.positive_classes=[8]")
    data = apply_data_overrides(config, ['data.positive_classes=["8"]'])
    assert data["data"]["positive_classes"] == ["8"]


@pytest.mark.parametrize("kind", ["images", "images_multiclass"])
def test_the_data_choice_of_the_trained_kind_is_accepted_also_when_it_inherits_its_target(kind):
    """data/images_multiclass.yaml takes its _target_ from data/images.yaml through its defaults list."""
    config = trained(f"data={kind}", "data.root=derm")
    assert apply_data_overrides(config, [f"data={kind}"])["data"] == config["data"]
    with pytest.raises(ValueError, match=r"^data=digits \(almlit\.data\.BinaryDigits\) is not the kind of data"):
        apply_data_overrides(config, ["data=digits"])

"""The default run name of image data: two cohorts, tasks or folds get two folders; a real collision is refused.

The expected names are written out by hand from the rule of :func:`almlit.config.data_name`.
"""

import pytest
import yaml

from almlit.config import IMAGE_DATA_TARGET, MAX_DATA_NAME, data_name
from almlit.report.ensemble_members import compose_member, resolve_member
from almlit.runs.folder import CONFIG_FILE
from almlit.runs.resume import plan_start
from tests.helpers.image_folders import DIGIT_FOLDER_RUN, write_digit_folder


def image_data(**keys):
    return {"_target_": IMAGE_DATA_TARGET, "root": None, "manifest": None, "folds": None, "fold": None, **keys}


@pytest.mark.parametrize(
    ("choice", "data", "expected"),
    [
        ("images", image_data(root="/data/xray", positive_classes=["pneumonia"]), "images_xray_pneumonia"),
        ("images", image_data(root="/data/xray/", positive_classes=["a", "b"]), "images_xray_a+b"),
        (
            "images",
            image_data(manifest="/data/derm/labels.csv", positive_classes=["melanoma"], folds=5, fold=2),
            "images_derm-labels_melanoma_fold2of5",
        ),
        (
            "images_multiclass",
            image_data(root="/data/derm", critical_classes=["melanoma"], positive_classes=None),
            "images_multiclass_derm_melanoma",
        ),
        ("images", image_data(root="/data/chest x-ray", positive_classes=["covid/19"]), "images_chest-x-ray_covid-19"),
        ("images", image_data(positive_classes=["pneumonia"]), "images_pneumonia"),  # no source: refused later
        ("mri", {"_target_": "almlit.data.mri.MRIData", "root": "/data/cohortA"}, "mri"),
        ("mri", {"_target_": "almlit.data.mri.MRIData", "folds": 5, "fold": 1}, "mri_fold1of5"),
        ("mri", {"_target_": "almlit.data.mri.MRIData", "folds": 5, "fold": None}, "mri"),
        ("digits", {"_target_": "almlit.data.BinaryDigits", "positive_classes": [8]}, "digits"),
    ],
)
def test_the_data_part_of_a_run_name(choice, data, expected):
    assert data_name(choice, data) == expected


def test_a_long_data_name_is_cut():
    classes = [f"class{index:02d}" for index in range(30)]  # 30 * 8 characters and 29 "+"
    name = data_name("images", image_data(root="/data/derm", positive_classes=classes))
    assert name == "images_" + ("derm_" + "+".join(classes))[:MAX_DATA_NAME] and len(name) == 7 + MAX_DATA_NAME


def run_name(*overrides):
    return resolve_member(compose_member(list(overrides)), "run")["run_name"]


def test_default_run_names_tell_cohorts_tasks_and_folds_apart():
    binary = ["data=images", "data.positive_classes=[pneumonia]"]
    assert run_name(*binary, "data.root=cohortA") == "images_cohortA_pneumonia_bce_binary_imb100_seed0"
    assert run_name(*binary, "data.root=cohortB") == "images_cohortB_pneumonia_bce_binary_imb100_seed0"
    assert run_name("data=images", "data.root=cohortA", "data.positive_classes=[covid]").startswith(
        "images_cohortA_covid_"
    )
    folds = [*binary, "data.manifest=derm/labels.csv", "data.folds=5"]
    assert run_name(*folds, "data.fold=2") == "images_derm-labels_pneumonia_fold2of5_bce_binary_imb100_seed0"
    assert run_name(*folds, "data.fold=3") == "images_derm-labels_pneumonia_fold3of5_bce_binary_imb100_seed0"
    multiclass = ["data=images_multiclass", "data.root=derm", "data.critical_classes=[melanoma]", "loss=ce", "alm=m1"]
    assert run_name(*multiclass) == "images_multiclass_derm_melanoma_ce_m1_imb100_seed0"
    network = [*binary, "data.root=xray", "model=torchvision", "model.name=resnet18"]
    assert run_name(*network) == "images_xray_pneumonia_resnet18_bce_binary_imb100_seed0"
    assert run_name() == "digits_bce_binary_imb100_seed0"  # other data keep their names
    assert run_name("data=mri", "data.root=cohortA") == "mri_bce_binary_imb100_seed0"
    assert run_name("data=mri", "data.folds=5", "data.fold=4") == "mri_fold4of5_bce_binary_imb100_seed0"


def test_two_roots_of_one_name_still_meet_and_the_second_is_refused(tmp_path):
    first = ["data=images", "data.root=site1/xray", "data.positive_classes=[pneumonia]"]
    second = ["data=images", "data.root=site2/xray", "data.positive_classes=[pneumonia]"]
    assert run_name(*first) == run_name(*second) == "images_xray_pneumonia_bce_binary_imb100_seed0"
    run_dir = tmp_path / run_name(*first)
    run_dir.mkdir()
    (run_dir / CONFIG_FILE).write_text(yaml.safe_dump(resolve_member(compose_member(first), run_dir)))
    with pytest.raises(ValueError, match=r"another configuration .*data.root \('site1/xray' vs 'site2/xray'\)"):
        plan_start(run_dir, resolve_member(compose_member(second), run_dir))


@pytest.mark.slow
def test_two_cohorts_train_into_two_folders_under_the_default_name(train, tmp_path):
    for cohort, digit in (("cohortA", 3), ("cohortB", 5)):
        write_digit_folder(tmp_path / cohort, {"eight": 40, "other": 80}, {"eight": 8, "other": digit})
    write_digit_folder(tmp_path / "site2" / "cohortA", {"eight": 40, "other": 80}, {"eight": 8, "other": 7})
    settings = [override for override in DIGIT_FOLDER_RUN if not override.startswith("data.root=")]
    quick = [*settings, "trainer.max_epochs=1", "data.shape=[8,8]"]
    for cohort in ("cohortA", "cohortB"):
        result = train(*quick, f"data.root={cohort}")
        assert result.returncode == 0, result.stderr
    runs = tmp_path / "outputs" / "runs"
    names = ["images_cohortA_eight_bce_binary_imb100_seed0", "images_cohortB_eight_bce_binary_imb100_seed0"]
    assert sorted(path.name for path in runs.iterdir()) == names
    result = train(*quick, "data.root=site2/cohortA")  # the same name as the first: the same folder, refused
    assert result.returncode == 2
    refusal = f"almlit: error: {runs / names[0]} holds a finished run with another configuration"
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"{refusal} (folder vs this command): data.root ('cohortA' vs 'site2/cohortA')")
    )

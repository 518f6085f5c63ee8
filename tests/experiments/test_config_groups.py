"""Config options stay in their own group, and every table row and recipe resolves as it did before they did.

configs_on_main.json holds the resolved configs (flattened ``key: value``) that main's configs gave at commit c2ad181,
before the experiment/ and debug/ groups: every row of every experiments/*.yaml file (``common``: the setting's
alphabetically first row as a difference from ``python -m almlit.train`` without overrides; ``rows``: each row as a
difference from that one) and the recipes below, each composed with the overrides of that day (the first entry of
:data:`RECIPES`). They were composed and resolved into ``/RUN`` as the members of a table are (``compose_member``
and ``resolve_member``, now in :mod:`almlit.report.ensemble_members`). A run folder written by main holds such a
resolved config, so equal values mean that folder is found and accepted as the same run. A ``_target_`` compares
by what it names, as run identity does (:mod:`almlit.runs.moved_targets`): classes moved since c2ad181 are the same.
"""

import json
import shutil
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from almlit.config import CONFIG_DIR
from almlit.report.ensemble_members import compose_member, resolve_member
from almlit.report.experiments import load_experiment
from almlit.runs.identity import PRESENTATION_KEYS, comparable, differences, resolved_targets
from almlit.runs.resume import job_folder_name
from tests.helpers.commands import REPO_ROOT

ON_MAIN = json.loads((Path(__file__).parent / "configs_on_main.json").read_text())
ABSENT = "<absent>"
SMOKE_BEFORE = "data.root=outputs/smoke/cifar data.download=false model.width=4 trainer.max_epochs=1 "
SMOKE_BEFORE += "trainer.enable_progress_bar=false trainer.enable_model_summary=false"
SMOKE = ["data.root=outputs/smoke/cifar", "data.download=false", "debug=smoke"]
# name: (the command on main, the same run's overrides today)
RECIPES = {
    "binary_ce": ("loss=ce", ["loss=ce", "num_outputs=2"]),
    "binary_ldam": ("loss=ldam", ["loss=ldam", "model.normed_head=true", "num_outputs=2"]),
    "binary_focal_cifar10": ("data=cifar10 loss=focal", ["data=cifar10", "loss=focal", "num_outputs=2"]),
    "binary_cb_ce": ("loss=cb_ce", ["loss=cb_ce", "num_outputs=2"]),
    "lt10_ce_m1": ("data=cifar10_lt imb=100 loss=ce alm=m1", ["experiment=cifar10_lt", "imb=100", "loss=ce", "alm=m1"]),
    "lt100_ldam_m2": (
        "data=cifar100_lt imb=200 loss=ldam alm=m2 data.critical_classes=[99]",
        ["experiment=cifar100_lt", "imb=200", "loss=ldam", "model.normed_head=true", "alm=m2"]
        + ["data.critical_classes=[99]"],
    ),
    "lt10_cb_ce_m2": (
        "data=cifar10_lt imb=100 loss=cb_ce alm=m2 data.critical_classes=[8,9]",
        ["experiment=cifar10_lt", "imb=100", "loss=cb_ce", "alm=m2", "data.critical_classes=[8,9]"],
    ),
    "lt10_ldam_drw_m1": (
        "data=cifar10_lt loss=ldam_drw alm=m1",
        ["experiment=cifar10_lt", "loss=ldam", "model.normed_head=true", "callbacks=deferred_reweighting", "alm=m1"],
    ),
    "lt100_ldam_drw_none": (
        "data=cifar100_lt loss=ldam_drw alm=none",
        ["experiment=cifar100_lt", "loss=ldam", "model.normed_head=true", "callbacks=deferred_reweighting", "alm=none"],
    ),
    "binary_ldam_drw": (
        "data=cifar10 loss=ldam_drw alm=none",
        ["data=cifar10", "loss=ldam", "model.normed_head=true", "num_outputs=2", "callbacks=deferred_reweighting"]
        + ["alm=none"],
    ),
    "lt10_balanced_softmax_m1": (
        "data=cifar10_lt imb=100 loss=balanced_softmax alm=m1",
        ["experiment=cifar10_lt", "imb=100", "loss=balanced_softmax", "alm=m1"],
    ),
    "lt10_focal_m1_resnet10": (
        "data=cifar10_lt loss=focal alm=m1 model=resnet10",
        ["experiment=cifar10_lt", "loss=focal", "alm=m1", "model=resnet10"],
    ),
    "images_multiclass": (
        "data=images_multiclass data.root=/data/derm num_classes=7 data.critical_classes=[melanoma] loss=ce alm=m1",
        ["data=images_multiclass", "experiment=multiclass", "data.root=/data/derm", "num_classes=7"]
        + ["data.critical_classes=[melanoma]", "loss=ce", "alm=m1"],
    ),
    "images_multiclass_small_cnn": (
        "data=images_multiclass num_classes=3 data.critical_classes=[seven] model=small_cnn",
        ["data=images_multiclass", "experiment=multiclass", "num_classes=3", "data.critical_classes=[seven]"]
        + ["model=small_cnn"],
    ),
    "aucm_pesg": (
        "data=cifar10 imb=100 loss=aucm optim=pesg",
        ["data=cifar10", "imb=100", "loss=aucm", "optim=pesg", "callbacks=pesg_stages"],
    ),
    "aucm_libauc_pesg": (
        "data=cifar10 imb=100 loss=aucm_libauc optim=pesg",
        ["data=cifar10", "imb=100", "loss=aucm_libauc", "optim=pesg", "callbacks=pesg_stages"],
    ),
    "digits_aucm_pesg": ("loss=aucm optim=pesg", ["loss=aucm", "optim=pesg", "callbacks=pesg_stages"]),
    "bce_pesg": ("loss=bce optim=pesg", ["loss=bce", "optim=pesg", "callbacks=pesg_stages"]),
    "mri": ("data=mri data.root=data/mri-demo", ["data=mri", "data.root=data/mri-demo"]),
    "images": (
        "data=images data.root=/data/xray data.positive_classes=[pneumonia] data.shape=[224,224]",
        ["data=images", "data.root=/data/xray", "data.positive_classes=[pneumonia]", "data.shape=[224,224]"],
    ),
    "smoke_table1_bce": (
        f"data=cifar10 imb=100 loss=bce alm=none {SMOKE_BEFORE}",
        ["data=cifar10", "imb=100", "loss=bce", "alm=none", *SMOKE],
    ),
    "smoke_table4_ldam_m1": (
        f"data=cifar10_lt imb=200 loss=ldam alm=m1 {SMOKE_BEFORE} data.val_per_class=20",
        ["experiment=cifar10_lt", "imb=200", "loss=ldam", "model.normed_head=true", "alm=m1", *SMOKE]
        + ["data.val_per_class=20"],
    ),
    "m1_margin": (
        "data=cifar10_lt loss=ce alm=m1 alm.constraint.margin=0.3",
        ["experiment=cifar10_lt", "loss=ce", "alm=m1", "alm.constraint.margin=0.3"],
    ),
    "m2_logit": (
        "data=cifar10_lt loss=ce alm=m2 alm.constraint.score=logit",
        ["experiment=cifar10_lt", "loss=ce", "alm=m2", "alm.constraint.score=logit"],
    ),
}
# loss=ldam_drw is gone (its callback is callbacks=deferred_reweighting): the run is the same, its name says loss=ldam
RENAMED = {"lt10_ldam_drw_m1", "lt100_ldam_drw_none", "binary_ldam_drw"}
# one of each kind of change, for the fast suite; every row and recipe runs in the slow one
FAST_RECIPES = ("binary_ldam", "lt100_ldam_m2", "lt10_ldam_drw_m1", "images_multiclass", "aucm_pesg")
FAST_ROWS = (("table4_cifar10_lt_imb100", "ALM-m2 + LDAM"), ("table1_cifar10_imb200", "ALM + LDAM"))
EXPERIMENT_FILES = sorted((REPO_ROOT / "experiments").glob("*.yaml"))
ROWS = [
    (path.stem, row) for path in EXPERIMENT_FILES for row in load_experiment(path).rows
]  # fmt: skip
# groups whose options are recipes over several groups (package _global_): the rest set only their own group
GLOBAL_GROUPS = {"experiment", "debug", "sweep"}


def flat(node, prefix=""):
    """A nested config as ``{"a.b.c": leaf}`` (an empty mapping is a leaf)."""
    if isinstance(node, dict) and node:
        return {key: value for name, child in node.items() for key, value in flat(child, f"{prefix}{name}.").items()}
    return {prefix[:-1]: node}


def patched(base, difference):
    return {key: value for key, value in {**base, **difference}.items() if value != ABSENT}


def row_on_main(setting, row):
    recorded = ON_MAIN["settings"][setting]
    return patched(patched(ON_MAIN["default"], recorded["common"]), recorded["rows"][row])


def resolved(overrides, config_dir=CONFIG_DIR):
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        config = compose("train", overrides=[*overrides, "seed=0"], return_hydra_config=True)
    return flat(resolve_member(config, Path("/RUN")))


def same(key, expected, got):
    """Equal values, every ``_target_`` in them (a list of plugins holds some) as what it names: moved is the same."""
    leaf = key.rsplit(".", 1)[-1]
    return resolved_targets({leaf: expected}) == resolved_targets({leaf: got})


def changed(expected, got):
    return {key: (expected.get(key, ABSENT), got.get(key, ABSENT)) for key in set(expected) | set(got)
            if not same(key, expected.get(key, ABSENT), got.get(key, ABSENT))}  # fmt: skip


def check_row(setting, row):
    experiment = load_experiment(REPO_ROOT / "experiments" / f"{setting}.yaml")
    assert changed(row_on_main(setting, row), resolved([*experiment.common, *experiment.rows[row]])) == {}


# Image data's default run name holds its source, classes and fold since (almlit.config.data_name): the data part
# of these recipes' run names grew, nothing else changed.
NAMED_BY_DATA = {
    "images": ("images_", "images_xray_pneumonia_"),
    "images_multiclass": ("images_multiclass_", "images_multiclass_derm_melanoma_"),
    "images_multiclass_small_cnn": ("images_multiclass_", "images_multiclass_seven_"),
}


def check_recipe(name):
    got = resolved(RECIPES[name][1])
    expected = patched(ON_MAIN["default"], ON_MAIN["recipes"][name])
    difference = changed(expected, got)
    if name in RENAMED:
        assert difference == {"run_name": (expected["run_name"], expected["run_name"].replace("ldam_drw", "ldam"))}
    elif name in NAMED_BY_DATA:
        assert difference == {"run_name": (expected["run_name"], expected["run_name"].replace(*NAMED_BY_DATA[name], 1))}
    else:
        assert difference == {}


def test_the_reference_covers_every_row_and_recipe():
    assert sorted(ON_MAIN["recipes"]) == sorted(RECIPES)
    assert {setting: sorted(rows["rows"]) for setting, rows in ON_MAIN["settings"].items()} == {
        path.stem: sorted(load_experiment(path).rows) for path in EXPERIMENT_FILES
    }


@pytest.mark.parametrize("name", FAST_RECIPES)
def test_recipes_of_each_kind_resolve_as_on_main(name):
    check_recipe(name)


@pytest.mark.parametrize(("setting", "row"), FAST_ROWS)
def test_rows_of_each_kind_resolve_as_on_main(setting, row):
    check_row(setting, row)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_recipe_resolves_as_on_main(name):
    check_recipe(name)


@pytest.mark.slow
@pytest.mark.parametrize(("setting", "row"), ROWS, ids=[f"{setting}-{row}" for setting, row in ROWS])
def test_every_table_row_resolves_as_on_main(setting, row):
    check_row(setting, row)


def test_a_member_written_by_main_is_the_same_run():
    """The comparison a run folder's config goes through (almlit.runs.resume.check_same_run): no difference."""
    on_main = row_on_main("table4_cifar10_lt_imb100", "ALM-m1 + LDAM")
    experiment = load_experiment(REPO_ROOT / "experiments" / "table4_cifar10_lt_imb100.yaml")
    today = resolved([*experiment.common, *experiment.rows["ALM-m1 + LDAM"]])

    def nested(flattened):
        config = {}
        for key, value in flattened.items():
            *parents, leaf = key.split(".")
            node = config
            for parent in parents:
                node = node.setdefault(parent, {})
            node[leaf] = value
        return config

    assert differences(comparable(nested(on_main), keep_seeds=True), comparable(nested(today), keep_seeds=True)) == []
    # and a changed value is still told apart
    assert differences(comparable(nested(on_main)), comparable(nested({**today, "optim.lr": 0.2}))) == [
        "optim.lr (0.1 vs 0.2)"
    ]


def group_options():
    root = Path(CONFIG_DIR)
    return sorted(
        path.relative_to(root) for path in root.glob("*/*.yaml") if path.parent.name not in GLOBAL_GROUPS | {"hydra"}
    )


@pytest.mark.parametrize("option", group_options(), ids=str)
def test_a_group_option_writes_only_its_own_group(option):
    """No package header, and a defaults list naming only options of its own group (or, for a data option, the
    network the data is usually trained with)."""
    text = (Path(CONFIG_DIR) / option).read_text()
    assert "@package" not in text
    group = option.parent.name
    for entry in (yaml.safe_load(text) or {}).get("defaults", []):
        if isinstance(entry, dict):
            ((key, _),) = entry.items()
            assert group == "data" and key == "override /model@_global_.model", entry
        else:
            assert entry == "_self_" or (Path(CONFIG_DIR) / group / f"{entry}.yaml").is_file(), entry


@pytest.mark.slow
@pytest.mark.parametrize("option", group_options(), ids=str)
def test_a_group_option_changes_only_its_own_keys(option):
    """Composed, not resolved: an interpolation that reads the option's keys (``data.sampler: ${sampler}``) is
    the reader's own setting."""
    group, name = option.parent.name, option.stem
    choice = [f"{group}={name}"] + (["model=small_cnn"] if group == "data" else [])
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        default, chosen = (flat(OmegaConf.to_container(compose("train", overrides=o))) for o in ([], choice))
    assert {key.split(".")[0] for key in changed(default, chosen)} <= {group}


@pytest.mark.parametrize("name", ["lt100_ldam_m2", "aucm_pesg"])
def test_the_order_of_the_groups_carries_no_meaning(tmp_path, name):
    """train.yaml's groups listed backwards and its own keys after them (the data option still after the model it
    picks, experiment and debug last: they are recipes over the groups) compose the same run."""
    config_dir = shutil.copytree(CONFIG_DIR, tmp_path / "conf")
    train = yaml.safe_load((config_dir / "train.yaml").read_text())
    groups = [entry for entry in train["defaults"] if isinstance(entry, dict)]
    recipes = [entry for entry in groups if next(iter(entry)) in ("experiment", "debug")]
    backwards = [entry for entry in reversed(groups) if entry not in recipes]
    data, model = (next(entry for entry in backwards if group in entry) for group in ("data", "model"))
    backwards.remove(data)
    backwards.insert(backwards.index(model) + 1, data)
    assert backwards != groups[: len(backwards)]
    train["defaults"] = [*backwards, "_self_", *recipes]  # _self_ after the groups: none writes a top-level key
    (config_dir / "train.yaml").write_text(yaml.safe_dump(train))
    overrides = RECIPES[name][1]
    assert changed(resolved(overrides), resolved(overrides, config_dir)) == {}


def test_alm_m2_is_m1_with_the_other_variant():
    m1, m2 = resolved(["experiment=cifar10_lt", "alm=m1"]), resolved(["experiment=cifar10_lt", "alm=m2"])
    assert changed(m1, m2) == {
        "alm.constraint.variant": ("m1", "m2"),
        "run_name": ("cifar10_lt_bce_m1_imb100_seed0", "cifar10_lt_bce_m2_imb100_seed0"),
    }


def test_debug_smoke_is_the_makefiles_old_smoke_set():
    assert changed(resolved(["data=cifar10", *SMOKE_BEFORE.split()]), resolved(["data=cifar10", *SMOKE])) == {}


def test_a_smoke_run_has_its_own_folder_beside_the_real_runs():
    """A smoke check must not take (and then block) the folder of the real run of the same name."""
    folders = []
    for extra in ([], ["debug=smoke"]):
        config = compose_member(extra)
        HydraConfig.instance().set_config(config)  # the run's own choices, for run_name
        folders.append(config.hydra.run.dir)
    assert folders == [
        "outputs/runs/digits_bce_binary_imb100_seed0",
        "outputs/smoke/runs/digits_bce_binary_imb100_seed0",
    ]


def test_debug_quiet_sets_presentation_keys_only_and_names_no_folder():
    """debug=quiet is left out of a sweep job's folder name, as the keys it sets are (they change nothing trained)."""
    quiet = changed(resolved([]), resolved(["debug=quiet"]))
    assert set(quiet) == {"trainer.enable_progress_bar", "trainer.enable_model_summary"} <= PRESENTATION_KEYS
    assert job_folder_name(["debug=quiet", "alm.penalty_init=1e-05"]) == "alm.penalty_init=1e-05"
    assert job_folder_name(["debug=smoke", "alm.penalty_init=1e-05"]) == "alm.penalty_init=1e-05,debug=smoke"

"""A command line Hydra cannot compose: one line, exit status 2, nothing written (almlit/bad_overrides.py).

The catalogue (tests/catalogue/cases.py) runs train and ensemble on such command lines; here: the pure parts against
hand-made configs, the commands the catalogue does not run (bench, cost's and report's ``compose_member``), a sweep,
and ``HYDRA_FULL_ERROR=1``.
"""

import os
import sys
from unittest import mock

import pytest
from hydra.errors import ConfigCompositionException, MissingConfigException

from almlit.bad_overrides import BadOverride, closest_keys, explain_composition, flat_keys, unknown_key_message
from almlit.ensemble import OWN_KEYS
from almlit.report.ensemble_members import compose_member
from almlit.train import check_trainer_types
from tests.helpers.commands import HYDRA_IN_PROCESS

KEYS = ["trainer", "trainer.max_epochs", "trainer.devices", "data", "data.batch_size", "data.eval_batch_size"]


def test_flat_keys_names_inner_nodes_and_leaves_but_not_list_items():
    config = {"trainer": {"max_epochs": 3, "plugins": [{"a": 1}]}, "seed": 0}
    assert flat_keys(config) == ["trainer", "trainer.max_epochs", "trainer.plugins", "seed"]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("trainer.max_epoch", ["trainer.max_epochs"]),  # a typo of the whole key
        ("max_epochs", ["trainer.max_epochs"]),  # the right key under the wrong node
        ("data.batchsize", ["data.batch_size", "data.eval_batch_size"]),  # ratios 2*14/29 and 2*14/34, >= 0.8
        ("trainer.zzz", []),  # nothing close; the node that holds it is no suggestion
        ("dat", ["data"]),
    ],
)
def test_closest_keys(key, expected):
    assert closest_keys(key, KEYS) == expected


def test_an_unknown_option_without_options_keeps_hydra_s_message_in_one_line():
    error = MissingConfigException("Cannot find primary config 'trian'.\nCheck that it is in your config path")
    assert explain_composition(error, [], "train") == (
        "Cannot find primary config 'trian'. Check that it is in your config path"
    )


def test_another_composition_error_is_hydra_s_message_in_one_line():
    with pytest.raises(BadOverride) as caught:
        compose_member(["+trainer.max_epochs=3"])
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("Could not append to config. An item is already at 'trainer.max_epochs'.")


def test_no_composition_error_is_not_explained():
    with pytest.raises(TypeError, match="not a composition error"):
        explain_composition(ValueError("x"), [], "train")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["alm=m3"], "alm=m3 is no option of the group alm; choose one of binary, m1, m2, none"),
        (
            ["data.batchsize=8"],
            "unknown key data.batchsize in data.batchsize=8; closest keys: data.batch_size, bench.batch_size, "
            "data.eval_batch_size; to add a new key write +data.batchsize=8",
        ),
        (
            ["hydra/job_logging=nope"],
            "hydra/job_logging=nope is no option of the group hydra/job_logging; "
            "choose one of default, disabled, none, stdout",
        ),
    ],
)
def test_compose_member_as_cost_and_report_set_use_it(overrides, message):
    with pytest.raises(BadOverride) as caught:
        compose_member(overrides, config_name="bench")
    assert str(caught.value) == message


def hydra_command(module: str, arguments: list[str], capsys) -> tuple[int | str | None, str]:
    """Run ``python -m <module> <arguments>`` in process; the exit status and stderr."""
    main = __import__(module, fromlist=["main"]).main
    with mock.patch.object(sys, "argv", [module, *arguments, *HYDRA_IN_PROCESS]), pytest.raises(SystemExit) as exit_:
        main()
    return exit_.value.code, capsys.readouterr().err


def test_bench_refuses_an_unknown_key_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    code, stderr = hydra_command("almlit.bench", ["bench.warmup_step=1", "hydra.run.dir=run"], capsys)
    assert code == 2
    assert (
        stderr.strip()
        .splitlines()[-1]
        .startswith(
            "almlit: error: unknown key bench.warmup_step in bench.warmup_step=1; closest keys: bench.warmup_steps"
        )
    )
    assert list(tmp_path.iterdir()) == []
    assert "HYDRA_FULL_ERROR" not in os.environ


def test_a_sweep_over_an_unknown_key_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    code, stderr = hydra_command("almlit.train", ["-m", "trainer.max_epoch=1,2", "hydra.sweep.dir=sweep"], capsys)
    assert code == 2
    assert stderr.strip().splitlines()[-1] == (
        "almlit: error: unknown key trainer.max_epoch in trainer.max_epoch=1,2; closest keys: trainer.max_epochs; "
        "to add a new key write +trainer.max_epoch=1,2"
    )


def test_hydra_full_error_keeps_hydra_s_exception(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    from almlit.train import main

    arguments = ["almlit.train", "trainer.max_epoch=3", *HYDRA_IN_PROCESS]
    with mock.patch.object(sys, "argv", arguments), pytest.raises(ConfigCompositionException, match="max_epoch"):
        main()
    assert os.environ["HYDRA_FULL_ERROR"] == "1"


@pytest.mark.parametrize(
    ("trainer", "message"),
    [
        ({"max_epochs": "abc"}, "trainer.max_epochs must be an integer or null, got 'abc'"),
        ({"max_epochs": 2.5}, "trainer.max_epochs must be an integer or null, got 2.5"),
        ({"num_nodes": True}, "trainer.num_nodes must be an integer, got True"),  # a bool is no count
        ({"num_nodes": None}, "trainer.num_nodes must be an integer, got None"),
        ({"sync_batchnorm": "yes"}, "trainer.sync_batchnorm must be true or false, got 'yes'"),
        ({"enable_progress_bar": 1}, "trainer.enable_progress_bar must be true, false or null, got 1"),
    ],
)
def test_a_trainer_value_of_another_type_than_lightning_declares_is_refused(trainer, message):
    with pytest.raises(ValueError) as caught:
        check_trainer_types(trainer)
    assert str(caught.value) == message


def test_trainer_values_of_the_declared_types_pass():
    check_trainer_types(
        {"max_epochs": None, "num_nodes": 2, "enable_progress_bar": None, "devices": "auto", "precision": "bf16-mixed"}
    )


def test_an_unknown_parent_node_names_the_whole_override_and_the_corrected_key():
    assert unknown_key_message("traner", ["seed=1", "traner.max_epochs=3"], "train") == (
        "unknown key traner in traner.max_epochs=3; closest keys: trainer.max_epochs; "
        "to add a new key write +traner.max_epochs=3"
    )


def test_a_command_s_own_keys_are_suggested_for_an_unknown_key():
    assert unknown_key_message("selectoin", ["selectoin=x.yaml"], "train", own_keys=OWN_KEYS) == (
        "unknown key selectoin in selectoin=x.yaml; closest keys: selection; to add a new key write +selectoin=x.yaml"
    )


def test_an_unknown_choice_in_a_list_of_choices_names_the_group_s_options():
    error = MissingConfigException("In 'train': Could not load 'logger/wandbb'.", missing_cfg_file="logger/wandbb")
    assert error.options is None  # Hydra names no options for a list of choices; they are read from the group
    assert explain_composition(error, ["logger=[mlflow,wandbb]"], "train") == (
        "logger=wandbb is no option of the group logger; choose one of csv, mlflow, tensorboard, wandb"
    )


def test_ensemble_help_prints_its_usage(capsys):
    from almlit import ensemble

    ensemble.main(["--help"])
    assert capsys.readouterr().out.strip() == ensemble.__doc__.strip()


@pytest.mark.parametrize(
    "module", ["almlit.select", "almlit.report", "almlit.cost", "almlit.predict", "almlit.export", "almlit.demo"]
)
def test_argparse_commands_print_their_usage_for_help(module, capsys):
    package = module == "almlit.report"  # python -m runs its __main__
    main = __import__(f"{module}.__main__" if package else module, fromlist=["main"]).main
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: python -m {module} [-h]")


@pytest.mark.parametrize("module", ["almlit.train", "almlit.bench"])
def test_hydra_commands_print_their_help(module, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    main = __import__(module, fromlist=["main"]).main
    with mock.patch.object(sys, "argv", [module, "--help"]), pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code in (0, None)
    assert f"{module.rpartition('.')[2]} is powered by Hydra." in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_ensemble_names_a_misspelt_override_of_its_selection_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "selection.yaml").write_text("overrides:\n  - trainer.max_epoch=2\n")
    from almlit import ensemble

    with pytest.raises(SystemExit) as exit_:
        ensemble.main(["selection=selection.yaml", "membres=3"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "almlit: error: unknown key trainer.max_epoch in trainer.max_epoch=2; closest keys: trainer.max_epochs; "
        "to add a new key write +trainer.max_epoch=2"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["selection.yaml"]

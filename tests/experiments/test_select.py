"""The two-stage choice on fabricated sweep folders whose best choices are known."""

import numpy as np
import pytest
from omegaconf import OmegaConf

from almlit import select
from almlit.select import two_stage_choice
from tests.helpers.scored_runs import binary_config, write_scored_run

LABELS = np.array([0, 1, 0, 1])
SCORES = np.array([0.0, 1.0, 0.5, 2.0])

# (mu0, rho, delta) -> validation AUC. The best of the whole grid, (1e-3, 3, 1.0), is not the two-stage choice:
# at the stage-1 delta 0.25 the best (mu0, rho) is (1e-5, 2), and with it delta 0 is best.
GRID = {
    (1e-5, 2.0, 0.25): 0.90,
    (1e-3, 3.0, 0.25): 0.85,
    (1e-5, 3.0, 0.25): 0.80,
    (1e-5, 2.0, 0.0): 0.93,
    (1e-5, 2.0, 1.0): 0.88,
    (1e-3, 3.0, 1.0): 0.99,
    (1e-3, 3.0, 0.0): 0.70,
}


def fabricate_sweep(folder, grid=GRID, seeds=(0,)):
    number = 0
    for (penalty, growth, margin), value in grid.items():
        for seed in seeds:
            overrides = [
                "+sweep=alm_grid",
                "loss=bce",
                "data=digits",
                f"seed={seed}",
                f"alm.penalty_init={penalty}",
                f"alm.schedule.growth={growth}",
                f"alm.constraint.margin={margin}",
            ]
            config = binary_config(seed=seed, margin=margin, penalty=penalty, growth=growth)
            write_scored_run(
                folder / f"{number}_run", config, SCORES, LABELS, best_val=value + 0.01 * seed, overrides=overrides
            )
            number += 1
    return folder


def test_two_stage_choice_fixes_mu_and_rho_before_delta():
    results = [
        ({"alm.penalty_init": mu, "alm.schedule.growth": rho, "alm.constraint.margin": delta}, value)
        for (mu, rho, delta), value in GRID.items()
    ]
    choice = two_stage_choice(results, stage1_margin=0.25)
    assert choice.chosen == {"alm.penalty_init": 1e-5, "alm.schedule.growth": 2.0, "alm.constraint.margin": 0.0}
    first, second = choice.stages
    assert len(first.points) == 3 and first.fixed == (("alm.constraint.margin", 0.25),)
    assert [point[0][1] for point in second.points] == [0.0, 0.25, 1.0]


def test_stage_one_at_another_delta_changes_the_choice():
    results = [
        ({"alm.penalty_init": mu, "alm.schedule.growth": rho, "alm.constraint.margin": delta}, value)
        for (mu, rho, delta), value in GRID.items()
    ]
    choice = two_stage_choice(results, stage1_margin=1.0)
    assert choice.chosen == {"alm.penalty_init": 1e-3, "alm.schedule.growth": 3.0, "alm.constraint.margin": 1.0}


def test_baseline_sweep_has_one_stage_and_ties_go_to_the_smallest_value():
    results = [({"loss.margin": margin}, value) for margin, value in ((4.0, 0.8), (0.5, 0.8), (2.0, 0.7))]
    choice = two_stage_choice(results)
    assert len(choice.stages) == 1 and choice.chosen == {"loss.margin": 0.5}


def test_select_command_on_a_fabricated_sweep_folder(tmp_path, capsys):
    sweep = fabricate_sweep(tmp_path / "sweep", seeds=(0, 1))
    select.main([str(sweep)])
    printed = capsys.readouterr().out
    assert "14 finished runs, validation metric val/auc" in printed
    assert "chosen: alm.penalty_init=1e-05 alm.schedule.growth=2.0 alm.constraint.margin=0.0" in printed
    saved = OmegaConf.load(sweep / "selection.yaml")
    # the winning run's overrides, without the sweep and the seed: what almlit.ensemble trains
    assert list(saved.overrides) == [
        "loss=bce",
        "data=digits",
        "alm.penalty_init=1e-05",
        "alm.schedule.growth=2.0",
        "alm.constraint.margin=0.0",
    ]
    assert saved.value == pytest.approx(0.935)  # mean of seeds 0 and 1
    assert (sweep / "selection.yaml").read_text().startswith("# python -m almlit.ensemble selection=")


def test_stage_one_and_stage_two_folders_combine(tmp_path, capsys):
    stage1 = {key: value for key, value in GRID.items() if key[2] == 0.25}
    stage2 = {key: value for key, value in GRID.items() if key[:2] == (1e-5, 2.0) and key[2] != 0.25}
    select.main([str(fabricate_sweep(tmp_path / "one", stage1)), str(fabricate_sweep(tmp_path / "two", stage2))])
    assert "alm.constraint.margin=0.0" in capsys.readouterr().out.splitlines()[-3]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda folder: folder.mkdir(), "no finished run (a folder with a COMPLETE marker) under"),
        (
            lambda folder: fabricate_sweep(
                folder, {(1e-5, 2.0, 0.0): 0.9, (1e-5, 2.0, 1.0): 0.8, (1e-3, 2.0, 1.0): 0.7}
            ),
            "stage 1 compares runs at alm.constraint.margin=0.25, but the sweep has none; it has [0.0, 1.0]",
        ),
    ],
)
def test_bad_sweep_folders_get_one_line_and_exit_2(tmp_path, capsys, make, message):
    make(tmp_path / "sweep")
    with pytest.raises(SystemExit) as exit_info:
        select.main([str(tmp_path / "sweep")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("almlit: error: ") and message in error and "\n" not in error

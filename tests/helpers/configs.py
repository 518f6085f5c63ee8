"""The conf/ tree as the tests compose it, and what its sweep configs must give (the paper's grids)."""

from hydra import compose, initialize_config_dir

from almlit.train import CONFIG_DIR

# the number of jobs each sweep config (conf/sweep/<name>.yaml, `+sweep=<name>`) launches
SWEEP_RUNS = {
    "alm_grid": 50,
    "alm_grid_code": 40,
    "alm_stage1": 10,
    "alm_stage2": 5,
    "baseline_s_ml": 3,
    "baseline_a_ml": 3,
    "baseline_s_fl": 3,
    "baseline_a_fl": 3,
    "baseline_w_bce": 3,
    "baseline_cb_bce": 3,
}


# A benchmark of seconds: the small CNN of width 4 on digits, one timed step, few repeats, stacks of 1 and 3
TINY_BENCH = ["data=digits", "model.width=4", "bench.device=cpu", "bench.steps=1", "bench.warmup_steps=1"]
TINY_BENCH += ["bench.step_repeats=3", "bench.repeats=2", "bench.matmul_size=128", "bench.stack=[1,3]"]


def compose_bench(*overrides):
    """conf/bench.yaml composed with ``overrides`` (no Hydra run)."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="bench", overrides=list(overrides))

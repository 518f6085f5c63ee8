"""Every ``key=value`` that a message, a docstring or the README suggests can be set as written (no ``+``).

The suggestions are found by scanning, so a new message is covered without a new test: every string literal and
f-string in ``src/`` and every line of README.md and docs/*.md (not the wrong commands of bad_inputs.md) is
searched for ``<group>.<key>=`` (or ``<=``, ``>=``), and each key is looked up in configurations composed through
Hydra's compose API with the real ``conf/`` tree: the default, then the default with one group choice
(``data=cifar10``, ``model=cnn3d``, ``hydra/launcher=joblib``, ...), or ``bench`` for the ``bench.*`` keys. A value
written out must compose too.
"""

import ast
import functools
import re
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from almlit.config import CONFIG_DIR
from almlit.errors import TrainingFailure, out_of_memory_advice
from tests.helpers.commands import REPO_ROOT
from tests.helpers.image_folders import write_digit_folder

GROUPS = ("data", "trainer", "model", "loss", "alm", "optim", "scheduler", "callbacks", "metrics", "module")
GROUPS += ("sampler", "logger", "paths", "hydra", "bench")
VALUE = r"\[(?:[^\[\]]|\[[^\]]*\])*\]|[^\s,;`'\")\]]*"  # a list (nested once) or a plain value
# <group>.<key>=<value>, not preceded by "+" (adds a key) or "~" (deletes one), nor part of a longer name
SUGGESTION = re.compile(rf"(?<![\w.+~/${{])({'|'.join(GROUPS)})\.([A-Za-z_][\w.]*?)\s*(=|<=|>=)({VALUE})")
# docs/bad_inputs.md lists wrong commands on purpose; the messages it shows are scanned in src/
DOCUMENTS = [
    REPO_ROOT / "README.md",
    *(path for path in sorted((REPO_ROOT / "docs").glob("*.md")) if path.name != "bad_inputs.md"),
]
DATA_CONFIGS = sorted(path.stem for path in (Path(CONFIG_DIR) / "data").glob("*.yaml"))
IMAGE_CONFIGS = [name for name in DATA_CONFIGS if name != "mri"]
TASK_KEYS = {"images": "data.positive_classes=[eight]", "images_multiclass": "data.critical_classes=[eight]"}


def texts_of_source(path):
    """The string literals of a Python file; an f-string's fields become ``{}``."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.JoinedStr):
            yield "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


def is_literal(value):
    """A value written out, not a placeholder (``{}`` of an f-string, ``<n>``, ``[d,h,w]``, empty)."""
    return bool(value) and not re.search(r"[{<]|\[[a-z](,[a-z])*\]", value)


def suggestions():
    """``(where, key, value)`` of every suggestion; ``value`` is ``None`` where it is a placeholder."""
    found = {}
    sources = [(path, texts_of_source(path)) for path in sorted((REPO_ROOT / "src").rglob("*.py"))]
    sources += [(path, path.read_text().splitlines()) for path in DOCUMENTS]
    for path, texts in sources:
        for text in texts:
            for group, key, sign, value in SUGGESTION.findall(text):
                literal = value if sign == "=" and is_literal(value) else ""
                found.setdefault((f"{group}.{key}", literal), path.relative_to(REPO_ROOT).as_posix())
    return [(where, key, value or None) for where, key, value in sorted((w, k, v) for (k, v), w in found.items())]


def compose_config(config_name, overrides):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name, overrides=list(overrides), return_hydra_config=True)


def composes(config_name, overrides):
    """Whether ``config_name`` composes with ``overrides`` (Hydra's and OmegaConf's errors: it does not)."""
    try:
        compose_config(config_name, overrides)
    except (HydraException, OmegaConfBaseException):
        return False
    return True


@functools.cache
def group_choices():
    """Every single group choice Hydra knows (conf/ and its plugins, e.g. ``hydra/launcher=joblib``), no sweeps."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        groups, pending = [], [""]
        while pending:
            parent = pending.pop(0)
            children = [f"{parent}/{name}" if parent else name for name in loader.list_groups(parent)]
            groups += children
            pending += children
        return [
            f"{group}={option}" for group in groups if group != "sweep" for option in loader.get_group_options(group)
        ]


@functools.cache
def composed(config_name, choice):
    """The config with one group choice (``None``: the default); ``None`` when that choice cannot stand alone."""
    try:
        return compose_config(config_name, () if choice is None else (choice,))
    except (HydraException, OmegaConfBaseException):
        return None  # e.g. hydra/output=default: a second entry of a group already in the defaults list


def has_key(config, key):
    """Whether ``config`` has the dotted ``key`` (its value is not resolved: ``${now:...}`` needs Hydra's run)."""
    *parents, leaf = key.split(".")
    node = config
    for parent in parents:
        node = node.get(parent) if isinstance(node, DictConfig) else None
    return isinstance(node, DictConfig) and leaf in OmegaConf.to_container(node, resolve=False)


def context_with(config_name, key):
    """The default (``()``) or the first single group choice whose config has ``key``, related groups first;
    ``None`` when no configuration has it."""
    choices = [] if config_name == "bench" else group_choices()
    top = key.split(".")[0]
    related = sorted(choices, key=lambda choice: not choice.startswith(top))  # stable: keeps Hydra's order
    for choice in [None, *related]:
        config = composed(config_name, choice)
        if config is None:
            continue
        if has_key(config, key):
            return () if choice is None else (choice,)
    return None


SUGGESTIONS = suggestions()


def test_the_scan_finds_the_known_suggestions():
    keys = {key for _, key, _ in SUGGESTIONS}
    assert {"data.download", "data.val_per_class", "trainer.precision", "sampler.positive_rate"} <= keys
    assert {"callbacks.pesg_stages.decay_factor", "model.in_channels", "bench.device", "hydra.run.dir"} <= keys


@pytest.mark.parametrize(("where", "key", "value"), SUGGESTIONS, ids=lambda item: str(item))
def test_every_suggested_key_is_settable_as_written(where, key, value):
    config_name = "bench" if key.startswith("bench.") else "train"
    context = context_with(config_name, key)
    assert context is not None, f"{where} suggests {key}=..., but no configuration has {key}: it would need '+'"
    if value is not None:  # a value written out composes as it is
        assert composes(config_name, (*context, f"{key}={value}")), f"{where}: {key}={value} does not compose"


def advised_overrides(stage, batch_sizes):
    """The ``key=value`` pairs of the out-of-memory advice, as the user reads them."""
    with pytest.raises(TrainingFailure) as failure, out_of_memory_advice(stage, batch_sizes):
        raise torch.OutOfMemoryError("CUDA out of memory")
    advice = str(failure.value).split("; try ", 1)[1]
    return [item for item in re.split(r",\s*|\s+or\s+", advice) if "=" in item]


@pytest.mark.parametrize("data", DATA_CONFIGS)
def test_the_out_of_memory_advice_is_settable_for_every_data_config(data):
    # the batch-size keys almlit.train passes: fit reports both, test the evaluation one
    advice = advised_overrides("fit", {"batch_size": 64, "eval_batch_size": 1024})
    advice += advised_overrides("test", {"eval_batch_size": 1024})
    assert "data.eval_batch_size=512" in advice and "trainer.precision=bf16-mixed" in advice
    assert composes("train", (f"data={data}", *dict.fromkeys(advice))), f"data={data} does not take all of {advice}"


@pytest.mark.parametrize("data", IMAGE_CONFIGS)
def test_the_exposed_keys_reach_the_data_module(data, tmp_path):
    task = ()
    if data in TASK_KEYS:  # the own-image configs need a folder and a task to be built at all
        write_digit_folder(tmp_path, {"eight": 10, "three": 10}, {"eight": 8, "three": 3})
        task = (f"data.root={tmp_path}", TASK_KEYS[data])
    config = compose_config(
        "train", (f"data={data}", *task, "data.eval_batch_size=256", "data.crop_padding=2", "data.hflip=true")
    )
    datamodule = instantiate(config.data)
    assert (datamodule.eval_batch_size, datamodule.augment.crop_padding, datamodule.augment.hflip) == (256, 2, True)


@pytest.mark.parametrize("data", IMAGE_CONFIGS)
def test_every_image_data_config_exposes_the_loader_and_augmentation_keys(data):
    config = compose_config(
        "train", (f"data={data}", "data.eval_batch_size=256", "data.crop_padding=0", "data.hflip=false")
    )
    assert (config.data.eval_batch_size, config.data.crop_padding, config.data.hflip) == (256, 0, False)

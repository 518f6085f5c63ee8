"""One clear line for a command line that Hydra cannot compose into a config.

Hydra refuses an unknown group choice (``data=imagenet``), an unknown key (``trainer.max_epoch``) and a malformed
override (an unclosed list ``[1``) with several lines of its own and exit status 1. almlit's commands turn these
into a :class:`BadOverride` (a ``ValueError``) whose one-line message names the override, what is wrong and what is
allowed, read from the fields of Hydra's exceptions (``MissingConfigException.options``, ``OverrideParseException
.override``, the ``full_key`` of the OmegaConf error behind a failed override) and from the config composed without
the bad override (the closest keys, by :func:`difflib.get_close_matches`). The entry points print it through
:func:`almlit.errors.one_line_errors` with exit status 2.

The check runs only after Hydra has refused a command line, so a command that composes costs nothing more.
``HYDRA_FULL_ERROR=1`` keeps Hydra's own behaviour (the full traceback) for developers.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from almlit.config import CONFIG_DIR
from almlit.errors import one_line_errors

GRAMMAR = "https://hydra.cc/docs/1.3/advanced/override_grammar/basic/"
COMPOSITION_ERRORS = (ConfigCompositionException, OverrideParseException)  # MissingConfigException is the first's
SUGGESTIONS = 3  # closest keys named for an unknown key
RUNTIME = ("hydra.runtime", "hydra.overrides", "hydra.job.override_dirname")  # what Hydra fills in, not a setting
CLOSE = 0.8  # the least similarity ratio of a suggested key
# Keys that are no setting of a run, with what to write instead: a sweep's jobs are stacked by its launcher
# (docs/stacking.md); almlit.train reads sweep.stack itself (stacked_sweep_overrides), other commands refuse it
SWEEP_STACK = "sweep.stack"
MOVED_KEYS = {
    SWEEP_STACK: "a sweep's jobs train as stacks with python -m almlit.train -m ... sweep.stack=true",
    "ensemble.stack": "an ensemble's members train as stacks with python -m almlit.ensemble ... ensemble.stack=K",
}
MULTIRUN_FLAGS = frozenset({"-m", "--multirun", "hydra.mode=MULTIRUN"})


class BadOverride(ValueError):
    """A command-line override that Hydra cannot compose into a config; the message is one line."""


def flat_keys(node: Any, prefix: str = "") -> list[str]:
    """Every dotted key of a config's mappings, inner nodes included (``trainer``, ``trainer.max_epochs``).

    Lists are not entered: an override names a list as a whole.
    """
    if not isinstance(node, dict):
        return []
    keys = []
    for key, value in node.items():
        path = f"{prefix}{key}"
        keys += [path, *flat_keys(value, f"{path}.")]
    return keys


def config_keys(config: DictConfig) -> list[str]:
    """:func:`flat_keys` of ``config`` without resolving interpolations or requiring mandatory values."""
    return flat_keys(OmegaConf.to_container(config, resolve=False))


def group_options(group: str) -> list[str]:
    """The options of the config group ``group`` (``logger``: ``csv, mlflow, ...``), sorted, as Hydra finds them."""
    with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        return sorted(GlobalHydra.instance().config_loader().get_group_options(group))


def compose_keys(config_name: str, overrides: Sequence[str]) -> list[str]:
    """The dotted keys of ``config_name`` composed with ``overrides`` (with its ``hydra`` node), or of the default
    config when these overrides do not compose either."""
    for attempt in (list(overrides), []):
        with contextlib.suppress(*COMPOSITION_ERRORS), initialize_config_dir(CONFIG_DIR, version_base="1.3"):
            keys = config_keys(compose(config_name, overrides=attempt, return_hydra_config=True))
            return [key for key in keys if not key.startswith(RUNTIME)]
    return []


def closest_keys(key: str, keys: Sequence[str]) -> list[str]:
    """Up to :data:`SUGGESTIONS` of ``keys`` that ``key`` may be a misspelling of, closest first.

    A key is close when the dotted keys are (a typo: ``trainer.max_epoch``, ``trainer.max_epochs``) or their last
    parts are (a key under the wrong node: ``max_epochs``, ``trainer.max_epochs``); close means a
    :class:`difflib.SequenceMatcher` ratio of at least :data:`CLOSE`. The nodes that hold ``key`` are left out.
    """
    leaf = key.rpartition(".")[2]
    scored = []
    for name in keys:
        if key.startswith(f"{name}."):
            continue
        whole = difflib.SequenceMatcher(None, key, name).ratio()
        last = difflib.SequenceMatcher(None, leaf, name.rpartition(".")[2]).ratio()
        if max(whole, last) >= CLOSE:
            scored.append((-max(whole, last), name))
    return [name for _, name in sorted(scored)[:SUGGESTIONS]]


def unknown_key_message(key: str, overrides: Sequence[str], config_name: str, own_keys: Sequence[str] = ()) -> str:
    """``unknown key <key> in <override>``, the closest existing keys (or the keys beside it), and the ``+`` form.

    The override is the one whose key is ``key`` or lies under it (``traner.max_epochs=3`` for the unknown node
    ``traner``); the suggestions are the keys closest to the override's whole key (``trainer.max_epochs``).

    Args:
        key: the dotted key that is no key of the composed config (``trainer.max_epoch``, ``traner``).
        overrides: the command line's overrides (Hydra's grammar).
        config_name: the primary config (``train``, ``bench``).
        own_keys: keys the command reads itself besides the config's (``almlit.ensemble``'s ``members``).
    """
    parsed = OverridesParser.create().parse_overrides(list(overrides))
    under = (
        override for override in parsed if override.key_or_group == key or override.key_or_group.startswith(f"{key}.")
    )
    bad = next(under, None)
    full_key = bad.key_or_group if bad is not None else key
    written = bad.input_line if bad is not None and bad.input_line else key
    value = written.partition("=")[2] or "VALUE"  # as typed: a sweep (a,b) has no single value
    keys = [*compose_keys(config_name, [override for override in overrides if override != written]), *own_keys]
    closest = closest_keys(full_key, keys)
    if closest:
        known = f"closest keys: {', '.join(closest)}"
    else:
        parent = key.rpartition(".")[0]
        beside = [name for name in keys if name.rpartition(".")[0] == parent]
        known = f"the keys of {parent or 'the config'} are {', '.join(beside)}"
    return f"unknown key {key} in {written}; {known}; to add a new key write +{full_key}={value}"


def unknown_option_message(error: MissingConfigException) -> str:
    """``<group>=<option> is no option of the group <group>; choose one of ...``, or Hydra's message in one line
    when the missing config is no option of a group (a missing primary config)."""
    group, _, option = (error.missing_cfg_file or "").rpartition("/")
    options = error.options or (group_options(group) if group else [])  # Hydra names none for a list of choices
    if not options:
        return " ".join(str(error).split())
    return f"{group}={option} is no option of the group {group}; choose one of {', '.join(options)}"


def explain_composition(
    error: Exception, overrides: Sequence[str], config_name: str, own_keys: Sequence[str] = ()
) -> str:
    """One line for an error Hydra raised while composing ``config_name`` with ``overrides``.

    ``own_keys``: keys the command reads itself, suggested for an unknown key too (:func:`unknown_key_message`).

    Raises:
        TypeError: when ``error`` is no composition error (it is not ours to explain).
    """
    if isinstance(error, OverrideParseException):
        reason = error.message.splitlines()[0] if error.message else "it does not parse"
        return f"malformed override {error.override}: {reason} (the grammar: {GRAMMAR})"
    if isinstance(error, MissingConfigException):
        return unknown_option_message(error)
    if not isinstance(error, ConfigCompositionException):
        raise TypeError(f"not a composition error: {error!r}")
    refuse_moved_keys(overrides)
    cause = error.__cause__
    if isinstance(cause, OmegaConfBaseException) and cause.full_key and str(error).startswith("Could not override"):
        return unknown_key_message(cause.full_key, overrides, config_name, own_keys)
    return " ".join(str(error).split())


def refuse_moved_keys(overrides: Sequence[str]) -> None:
    """Refuse an override of a key that is no setting of a run (:data:`MOVED_KEYS`), also when written with ``+`` (which
    Hydra would add to the config as a key that nothing reads).

    Raises:
        BadOverride: ``<override> is no setting of a run: <what does it>``.
    """
    for override in overrides:
        key = override.lstrip("+").partition("=")[0]
        if key in MOVED_KEYS:
            raise BadOverride(f"{override} is no setting of a run: {MOVED_KEYS[key]}")


def stacked_sweep_overrides(arguments: Sequence[str]) -> list[str]:
    """``almlit.train``'s command line with issue 18's spelling of a stacked sweep turned into the launcher's overrides.

    ``sweep.stack=true`` becomes ``hydra/launcher=stacked`` (stacks of the launcher's default size),
    ``sweep.stack=K`` becomes ``hydra/launcher=stacked hydra.launcher.stack=K``, ``sweep.stack=false`` is dropped;
    a ``+`` or ``++`` before the key is allowed. Nothing enters the jobs' configs or folder names: a grid run with
    ``sweep.stack=true`` finds the folders of the same grid run job by job, and the reverse.

    Raises:
        BadOverride: a value other than true, false or an integer >= 1, or ``sweep.stack`` without ``-m`` (a single
            run has no jobs to stack).
    """
    result, stacked = [], False
    for argument in arguments:
        key, equals, value = argument.lstrip("+").partition("=")
        if key != SWEEP_STACK or not equals:
            result.append(argument)
            continue
        text = value.strip().lower()
        if text == "false":
            continue
        if text != "true" and not (text.isdigit() and int(text) >= 1):
            raise BadOverride(
                f"{SWEEP_STACK} must be true, false or the jobs per stack (an integer >= 1), got {value!r}"
            )
        result += ["hydra/launcher=stacked"] + ([] if text == "true" else [f"hydra.launcher.stack={int(text)}"])
        stacked = True
    if stacked and not MULTIRUN_FLAGS.intersection(arguments):
        raise BadOverride(f"{SWEEP_STACK} stacks the jobs of a sweep: add -m (python -m almlit.train -m ...)")
    others = [
        argument
        for argument in result
        if argument.lstrip("+").startswith("hydra/launcher=") and argument.lstrip("+") != "hydra/launcher=stacked"
    ]
    if stacked and others:
        raise BadOverride(f"{SWEEP_STACK} chooses hydra/launcher=stacked; leave out {', '.join(others)}")
    refuse_moved_keys(result)
    return result


@contextlib.contextmanager
def explained_composition(overrides: Sequence[str], config_name: str) -> Iterator[None]:
    """Turn Hydra's composition errors raised in the block into a :class:`BadOverride` with one line."""
    try:
        yield
    except COMPOSITION_ERRORS as error:
        raise BadOverride(explain_composition(error, overrides, config_name)) from error


@contextlib.contextmanager
def own_keys_suggested(own_keys: Sequence[str], overrides: Sequence[str], config_name: str) -> Iterator[None]:
    """Explain again, with ``own_keys`` among the suggestions, a :class:`BadOverride` raised in the block.

    For a command that reads some ``key=value`` arguments itself (``almlit.ensemble``'s ``members=3``), so that
    ``membres=3`` is told ``closest keys: members``.
    """
    try:
        yield
    except BadOverride as refusal:
        error = refusal.__cause__
        if not isinstance(error, COMPOSITION_ERRORS):
            raise
        raise BadOverride(explain_composition(error, overrides, config_name, own_keys)) from error


def command_line_overrides(arguments: Sequence[str], config_name: str) -> tuple[list[str], str]:
    """The overrides and the primary config name of a ``@hydra.main`` command line, parsed as Hydra parses it."""
    from hydra._internal.utils import get_args_parser  # Hydra's own parser of the command line (no public name)

    args, _ = get_args_parser().parse_known_args(list(arguments))
    return list(args.overrides), args.config_name or config_name


def run_hydra_main(hydra_main: Callable[[], Any], config_name: str) -> None:
    """Run a ``@hydra.main`` function; a command line Hydra cannot compose exits with one line and status 2.

    Hydra prints composition errors itself unless ``HYDRA_FULL_ERROR=1``; with it set for the call, they reach
    here and become a :class:`BadOverride`. When the user set ``HYDRA_FULL_ERROR=1``, Hydra's full traceback stays.
    """
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        hydra_main()
        return
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        with one_line_errors((BadOverride,)):
            try:
                hydra_main()
            except COMPOSITION_ERRORS as error:
                overrides, name = command_line_overrides(sys.argv[1:], config_name)
                raise BadOverride(explain_composition(error, overrides, name)) from error
    finally:
        os.environ.pop("HYDRA_FULL_ERROR", None)

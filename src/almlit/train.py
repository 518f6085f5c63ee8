"""Hydra entry point: ``python -m almlit.train [group=choice ...] [key=value ...]``.

seed -> data -> loss, model, constraint -> ALMClassifier -> fit -> test on the best-validation-AUC
checkpoint -> one run folder (see :mod:`almlit.run_folder`).
"""

from __future__ import annotations

import functools
import shutil
import time
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig

from almlit.config import CONFIG_DIR
from almlit.errors import one_line_errors
from almlit.module import ALMClassifier
from almlit.run_folder import write_run_folder


def instantiate_with_data(config: DictConfig | None, **data_facts: Any) -> Any:
    """Instantiate a node; a ``_partial_`` node receives what only the set-up data knows (``data_facts``)."""
    built = instantiate(config)
    return built(**data_facts) if isinstance(built, functools.partial) else built


def build_module(cfg: DictConfig, datamodule: L.LightningDataModule) -> ALMClassifier:
    constraint = instantiate_with_data(cfg.alm.constraint, critical_classes=tuple(datamodule.critical_classes))
    if constraint is not None:
        constraint.check_compatible(datamodule.num_classes)
    return ALMClassifier(
        network=instantiate(cfg.model),
        loss=instantiate_with_data(cfg.loss, class_counts=datamodule.class_counts),
        optimizer=instantiate(cfg.optim),
        constraint=constraint,
        num_train_samples=datamodule.num_train_samples,
        penalty_init=cfg.alm.penalty_init,
        multiplier_init=cfg.alm.multiplier_init,
        scheduler=instantiate(cfg.scheduler),
        num_classes=datamodule.num_classes,
        critical_classes=tuple(datamodule.critical_classes),
        tpr_levels=tuple(cfg.metrics.tpr_levels),
        false_negatives=tuple(cfg.metrics.false_negatives),
        channels_last=cfg.module.channels_last,
        compile=cfg.module.compile,
        input_dims=1 + len(datamodule.input_shape),
    )


def build_callbacks(cfg: DictConfig) -> list[L.Callback]:
    nodes = [node for node in cfg.callbacks.values() if node is not None]
    if cfg.alm.schedule is not None:
        nodes.append(cfg.alm.schedule)
    return [instantiate(node) for node in nodes]


def run(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """Train and test one configuration; returns the metrics written to ``metrics.json``."""
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    module = build_module(cfg, datamodule)
    callbacks = build_callbacks(cfg)
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=instantiate(cfg.logger))
    started = time.perf_counter()
    trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
    train_seconds = time.perf_counter() - started
    final_penalty = float(module.penalty)  # before the best checkpoint's state is loaded for the test
    checkpoint = trainer.checkpoint_callback
    test_results = trainer.test(module, datamodule=datamodule, ckpt_path="best", verbose=False)[0]
    metrics = {
        "test": {key.removeprefix("test/"): value for key, value in test_results.items()},
        "best_val": {cfg.monitor: float(checkpoint.best_model_score)},
        "critical_classes": list(datamodule.critical_classes),
        "best_checkpoint": str(Path(checkpoint.best_model_path).relative_to(run_dir.resolve())),
        "epochs_trained": trainer.current_epoch,
        "train_seconds": round(train_seconds, 2),
        "final_penalty": final_penalty,
        "class_counts": {"train": list(datamodule.class_counts)},
    }
    headline = cfg.monitor.removeprefix("val/")
    title = f"{cfg.run_name} (test {headline} {metrics['test'][headline]:.3f})"
    critical_classes = tuple(datamodule.critical_classes)
    tpr_levels = tuple(cfg.metrics.tpr_levels)
    write_run_folder(run_dir, cfg, metrics, module.test_scores(), critical_classes, title, tpr_levels)
    return metrics


def print_summary(metrics: dict[str, Any], run_dir: Path) -> None:
    test = "  ".join(f"{name}={value:.4f}" for name, value in metrics["test"].items())
    print(f"test: {test}\nrun folder: {run_dir}")


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def main(cfg: DictConfig) -> None:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    with one_line_errors(cleanup=lambda: shutil.rmtree(run_dir, ignore_errors=True)):
        metrics = run(cfg, run_dir)
    print_summary(metrics, run_dir)


if __name__ == "__main__":
    main()

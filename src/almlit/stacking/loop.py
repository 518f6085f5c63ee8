"""The training loop of a stack: every epoch, each active member's batches go through one batched forward pass,
each member steps its own optimiser, validates, and takes its own decisions (best checkpoint, mu, early stopping).

It reproduces what Lightning's fit loop and almlit's callbacks do for a run trained alone: the order of an epoch
comes from the member's sampler at ``(seed, epoch)``, its augmentation from its generator at ``(seed, epoch)``, one
optimiser step per batch, validation after the epoch's last batch, then (``on_train_epoch_end``, in Lightning's
callback order) early stopping, the mu schedule, the best checkpoint and the learning-rate schedule. A member that
stopped leaves the active set: nothing touches its state again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from almlit.data.epoch_seeding import AUGMENT_STREAM, epoch_generator
from almlit.module import ALMClassifier
from almlit.stacking.checkpoints import write_epoch_end, write_training_log
from almlit.stacking.decisions import as_logged, checkpoint_improves
from almlit.stacking.forward import StackedForward
from almlit.stacking.members import StackMember
from almlit.stacking.optimizer_steps import step_optimizers


def epoch_batches(member: StackMember, epoch: int, batch_size: int) -> list[tuple[Tensor, Tensor]]:
    """The member's training batches of ``epoch`` in its sampler's order: ``(sample_ids, labels)`` per batch (the last
    batch may be shorter)."""
    member.sampler.set_epoch(epoch)
    positions = torch.as_tensor(list(iter(member.sampler)), dtype=torch.long, device=member.train_ids.device)
    ids, labels = member.train_ids[positions], member.train_labels[positions]
    return list(zip(ids.split(batch_size), labels.split(batch_size), strict=True))


def logged_values(results: Sequence[tuple[Tensor, dict[str, Tensor]]]) -> Tensor:
    """Every member's loss and terms of one step, detached, in one tensor (member after member, loss first)."""
    values = []
    for loss, terms in results:
        values += [loss.detach(), *(term.detach().reshape(()) for term in terms.values())]
    return torch.stack(values)


def summed_in_order(values: Sequence[float]) -> float:
    """The float64 sum of ``values`` added one after another (the order fixes the rounding)."""
    total = 0.0
    for value in values:
        total += value
    return total


def stacked_step(
    modules: Sequence[ALMClassifier],
    optimizers: Sequence[torch.optim.Optimizer],
    forward: StackedForward,
    images: Tensor,
    targets: Sequence[Tensor],
    sample_ids: Sequence[Tensor],
) -> list[tuple[Tensor, dict[str, Tensor]]]:
    """One optimisation step of K members on their K batches: one batched forward pass, each member's objective
    (Eq. 5, and its multiplier update), one backward pass of the K losses, the members' optimiser steps
    (:func:`~almlit.stacking.optimizer_steps.step_optimizers`: one ``foreach`` step for SGDs of equal settings).

    Args:
        modules: the members' modules; ``optimizers``: their optimisers, in the same order.
        forward: the stack's batched forward pass.
        images: ``[K, B, C, H, W]``, member k's batch at ``k``; ``targets``, ``sample_ids``: K tensors ``[B]``.

    Returns:
        Each member's loss and named terms.
    """
    outputs = forward([module.network for module in modules], images)
    results = [
        module.objective(outputs[index], targets[index], sample_ids[index]) for index, module in enumerate(modules)
    ]
    for optimizer in optimizers:
        optimizer.zero_grad()
    torch.autograd.backward([loss for loss, _ in results])  # member k's leaves get member k's gradient only
    step_optimizers(optimizers)
    return results


def train_epoch(
    members: Sequence[StackMember],
    forward: StackedForward,
    images: Tensor,
    epoch: int,
    batch_size: int,
    after_step: Callable[[], None] | None = None,
) -> None:
    """One epoch of the ``members`` (all active, with epochs of equal length) through the batched forward pass;
    ``after_step`` is called after every step (the signal check of :func:`fit_stack`).

    A member whose loss or a term of it became NaN or inf in this epoch gets its ``failure`` (the line a run trained
    alone stops with) and no history row: it leaves the stack (its own parameters only were touched by its NaN), the
    others go on.
    """
    device = images.device
    batches = [epoch_batches(member, epoch, batch_size) for member in members]
    generators = [epoch_generator(member.seed, epoch, AUGMENT_STREAM, device) for member in members]
    modules = [member.module for member in members]
    optimizers = [member.optimizer for member in members]
    steps = len(batches[0])
    records = []  # per step: every member's loss and terms (logged_values), read once at the epoch's end
    for member in members:
        member.module.train()
    for step in range(steps):
        inputs, targets, sample_ids = [], [], []
        for member, member_batches, generator in zip(members, batches, generators, strict=True):
            ids, labels = member_batches[step]
            inputs.append(member.augment(images[ids], train=True, generator=generator))
            targets.append(labels)
            sample_ids.append(ids)
        results = stacked_step(modules, optimizers, forward, torch.stack(inputs), targets, sample_ids)
        records.append(logged_values(results))
        for member in members:
            member.global_step += 1
        if after_step is not None:
            after_step()
    widths = [1 + len(terms) for _, terms in results]  # each member's loss and its terms
    table = torch.stack(records)  # [steps, sum(widths)]
    finite = torch.isfinite(table).all(dim=0).tolist()
    losses = table.double().T.tolist()
    first = 0
    for member, width in zip(members, widths, strict=True):
        if all(finite[first : first + width]):
            member.history.append({"epoch": epoch, "train/loss": summed_in_order(losses[first]) / steps})
        else:
            member.failure = (
                f"the training loss of stacked member {member.run_dir} became NaN or inf in epoch {epoch}; "
                "lower its optim.lr or alm.penalty_init"
            )
        first += width


@torch.no_grad()
def validate(member: StackMember, images: Tensor, eval_batch_size: int) -> dict[str, float]:
    """The member's validation metrics (float64) on its own validation images, its network in eval mode."""
    module = member.module
    module.eval()
    for start in range(0, len(member.val_ids), eval_batch_size):
        ids = member.val_ids[start : start + eval_batch_size]
        scores = module.evaluation_scores(member.augment(images[ids], train=False))
        module.val_metrics.update(scores, member.val_labels[start : start + eval_batch_size])
    computed = {name: value.item() for name, value in module.val_metrics.compute().items()}
    module.val_metrics.reset()
    module.computed["val"] = computed
    module.train()
    return computed


def end_epoch(member: StackMember, epoch: int, computed: dict[str, float]) -> None:
    """The member's decisions after its validation, in the order of its callbacks in a run trained alone."""
    metric = as_logged(computed[member.monitor.removeprefix("val/")])
    early_stopping = member.early_stopping
    should_stop, reason = early_stopping._evaluate_stopping_criteria(torch.tensor(metric))  # Lightning's rule
    if should_stop:  # as EarlyStopping._run_early_stopping_check records it (its checkpoint state)
        early_stopping.stopped_epoch, early_stopping.stopping_reason_message = epoch, reason
    if member.module.pair_coverage is not None:
        member.module.pair_coverage.reset()
    if member.schedule is not None:
        member.schedule.update(member.module, metric)
    best = None if member.best is None else member.best.score
    if checkpoint_improves(metric, best, member.checkpoint.mode):
        member.keep_best(epoch, metric)
    if member.scheduler is not None:
        member.scheduler.step()
    member.epochs_trained = epoch + 1
    member.history[-1] |= {
        member.monitor: metric,
        "alm/mu": float(member.module.penalty),
        "step": member.global_step - 1,
    }
    member.stopped = bool(should_stop)


def fit_stack(
    members: Sequence[StackMember],
    images: Tensor,
    batch_size: int,
    eval_batch_size: int,
    report: Callable[[str], None] = print,
    after_step: Callable[[], None] | None = None,
) -> None:
    """Train the members until each has stopped early, failed or reached its own ``trainer.max_epochs``; each member
    writes its checkpoints at every epoch end (:func:`~almlit.stacking.checkpoints.write_epoch_end`) and its
    ``logs/metrics.csv``.

    A member resumed from a checkpoint (``epochs_trained`` > 0) joins the stack at its next epoch; a member whose loss
    became NaN or inf leaves it with its ``failure`` set and nothing of that epoch written (its last epoch-end
    checkpoint stays, as for a run trained alone).

    Args:
        members: the members, on the device of ``images``, with epochs of equal length.
        images: the shared training images ``[N, C, H, W]`` indexed by sample id (:func:`shared_images`).
        batch_size: the members' training batch size.
        eval_batch_size: their validation batch size.
        report: receives one progress line per epoch.
        after_step: called after every training step and every member's validation (it may raise to stop the stack,
            :class:`~almlit.callbacks.StopOnSignal`); ``None``: nothing.
    """
    forward = StackedForward(members[0].module.network)
    batches = math.ceil(len(members[0].sampler) / batch_size)
    epochs = max(member.max_epochs for member in members)
    for epoch in range(epochs):
        active = [member for member in members if member.trains_in(epoch)]
        if not active:
            continue  # members resumed at a later epoch join when the loop reaches it
        started = time.perf_counter()
        train_epoch(active, forward, images, epoch, batch_size, after_step)
        trained = [member for member in active if member.failure is None]
        for member in trained:
            end_epoch(member, epoch, validate(member, images, eval_batch_size))
            if after_step is not None:
                after_step()
        seconds = time.perf_counter() - started
        for member in trained:
            member.train_seconds += seconds
            write_training_log(member)
            write_epoch_end(member, batches, math.ceil(len(member.val_ids) / eval_batch_size))
        scores = " ".join(
            f"{member.history[-1][member.monitor]:.3f}" if member in trained else "-" for member in members
        )
        failed = sum(member.failure is not None for member in members)
        report(
            f"stack of {len(members)}: epoch {epoch + 1}/{epochs} ({seconds:.1f} s), "
            f"{members[0].monitor} {scores}, {sum(member.stopped for member in members)} stopped"
            + (f", {failed} failed (NaN or inf loss)" if failed else "")
        )

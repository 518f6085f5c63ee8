"""One forward pass before training: does the network take the data's batches and give the scores the loss needs?"""

from __future__ import annotations

import torch
from torch import nn

from almlit.data.loaders import TensorDataModule
from almlit.losses import LDAMLoss

CHECK_BATCH = 2  # images in the checking batch (BatchNorm runs in eval mode, so one would do; two shows the batch axis)


def first_batch(datamodule: TensorDataModule, size: int = CHECK_BATCH) -> torch.Tensor:
    """The first ``size`` training images, as the network receives them in evaluation (normalised, not augmented)."""
    dataset = datamodule.train_dataset
    batch = dataset.__getitems__(list(range(min(size, len(dataset)))))
    return datamodule.on_after_batch_transfer(batch, 0)[0]


def check_output_shape(network: nn.Module, images: torch.Tensor, num_outputs: int) -> None:
    """Run ``images`` through ``network`` (eval mode, no gradients) and compare its output with ``[B, num_outputs]``.

    Args:
        network: the network about to be trained; its mode is restored afterwards.
        images: a batch ``[B, C, H, W]`` (or ``[B, C, D, H, W]``) as the data module serves it.
        num_outputs: scores per sample the loss and metrics expect (1 for binary data, C for C classes).

    Raises:
        ValueError: if the network cannot take the batch (other input channels, images too small for its
            downsampling) or gives another shape.
    """
    was_training = network.training
    network.eval()
    try:
        with torch.no_grad():
            output = network(images)
    except RuntimeError as error:
        reason = str(error).strip().splitlines()[0]
        raise ValueError(
            f"the network cannot take a batch of shape {list(images.shape)} from the data (data.channels and"
            f" model.in_channels must agree, data.shape must suit the network's downsampling): {reason}"
        ) from error
    finally:
        network.train(was_training)
    expected = [len(images), num_outputs]
    if not isinstance(output, torch.Tensor) or list(output.shape) != expected:
        got = list(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
        raise ValueError(
            f"the network gives outputs of shape {got} for a batch of {len(images)} images; the loss needs"
            f" {expected} (num_outputs={num_outputs}: 1 logit for binary data, C scores for C classes)"
        )


def check_num_classes(num_classes: int, data_classes: int) -> None:
    """Refuse a config whose ``num_classes`` is not the data's (a multi-class data option without its experiment).

    Raises:
        ValueError: naming both numbers and the experiment that sets them.
    """
    if num_classes != data_classes:
        raise ValueError(
            f"num_classes={num_classes}, but the data has {data_classes} classes; add experiment=multiclass"
            f" num_classes={data_classes} (long-tailed CIFAR: experiment=cifar10_lt|cifar100_lt instead of data=...)"
        )


def check_task(num_classes: int, num_outputs: int, data_classes: int, loss: nn.Module, normed_head: bool) -> None:
    """Refuse a run whose task settings do not fit its data and loss.

    A data option sets only ``data`` and a loss option only ``loss``: the multi-class settings come with
    ``experiment=multiclass`` (or ``experiment=cifar10_lt|cifar100_lt``), a binary run of a loss on two outputs
    (CE, focal, CB-CE, LDAM) says ``num_outputs=2``, and LDAM (Cao et al. 2019: a scale of 30 on cosine similarities)
    says ``model.normed_head=true``.

    Args:
        num_classes: the config's ``num_classes``.
        num_outputs: the config's ``num_outputs``, the network's scores per sample.
        data_classes: the classes of the set-up data.
        loss: the built base loss; its ``num_outputs`` attribute is its head size on binary data (default 1).
        normed_head: the config's ``model.normed_head`` (False for a network without that option).

    Raises:
        ValueError: naming the setting, its value and the overrides that fit.
    """
    check_num_classes(num_classes, data_classes)
    loss_name = type(loss).__name__
    if data_classes > 2 and num_outputs != data_classes:
        raise ValueError(
            f"num_outputs={num_outputs}, but {loss_name} scores {data_classes}-class data with one output per class;"
            " add experiment=multiclass (num_outputs=${num_classes})"
        )
    ldam = isinstance(loss, LDAMLoss)
    expected = data_classes if data_classes > 2 else getattr(loss, "num_outputs", 1)
    fixes = [f"num_outputs={expected}"] if num_outputs != expected else []
    fixes += ["model.normed_head=true"] if ldam and not normed_head else []
    if fixes:
        head = " on the cosine head (its scale multiplies cosine similarities)" if ldam else ""
        raise ValueError(
            f"{loss_name} scores {data_classes}-class data with {expected} output(s){head}, but the config has"
            f" num_outputs={num_outputs}"
            + (f" and model.normed_head={str(normed_head).lower()}" if ldam else "")
            + f"; add {' '.join(fixes)}"
        )

"""One forward pass before training: does the network take the data's batches and give the scores the loss needs?"""

from __future__ import annotations

import torch
from torch import nn

from almlit.data.loaders import TensorDataModule

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

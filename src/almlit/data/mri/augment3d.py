"""Batched 3D augmentation of float volumes ``[N, S, D, H, W]`` on their device: intensity jitter, flips, shifts.

Per sample: every channel (sequence) is scaled by its own factor in [1 - a, 1 + a] and offset by its own value in
[-b, b] (volumes are already normalised, so these act on normalised intensities); then the volume is shifted by
a whole number of voxels, at most ``max_shift`` per axis, with zeros filling what enters the field of view, and
mirrored along each enabled axis with probability 0.5. Channels of a sample move together, so the sequences stay
aligned. The whole batch is one gather, not a Python loop over samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def shift_flip(
    volumes: torch.Tensor, shifts: torch.Tensor, flips: torch.Tensor, max_shift: Sequence[int]
) -> torch.Tensor:
    """Shift every volume by its own amounts, then mirror it along its own axes.

    Output voxel ``(d, h, w)`` of sample n is input voxel ``(d', h', w')`` with, per axis,
    ``x' = (size - 1 - x if flips[n, axis] else x) - shifts[n, axis]``, or 0 when that lies outside the volume.

    Args:
        volumes: tensor [N, C, D, H, W].
        shifts: long [N, 3], shifts along D, H, W, each within ``[-max_shift[axis], max_shift[axis]]``.
        flips: bool [N, 3], which axes to mirror per sample.
        max_shift: the largest shift per axis (the zero padding).

    Returns:
        Tensor [N, C, D, H, W] of the dtype of ``volumes``.
    """
    num_volumes, channels, *sizes = volumes.shape
    device = volumes.device
    pad = [amount for axis_pad in reversed(max_shift) for amount in (axis_pad, axis_pad)]
    padded = F.pad(volumes, pad)
    indices = []
    for axis, size in enumerate(sizes):
        positions = torch.arange(size, device=device).expand(num_volumes, size)
        positions = torch.where(flips[:, axis : axis + 1], positions.flip(1), positions)
        indices.append(positions - shifts[:, axis : axis + 1] + max_shift[axis])
    return padded[
        torch.arange(num_volumes, device=device)[:, None, None, None, None],
        torch.arange(channels, device=device)[None, :, None, None, None],
        indices[0][:, None, :, None, None],
        indices[1][:, None, None, :, None],
        indices[2][:, None, None, None, :],
    ]


class VolumeAugment(nn.Module):
    """Training-time 3D augmentation; the identity at evaluation.

    Args:
        flip_axes: axes that may be mirrored: 0 = D (inferior-superior), 1 = H (posterior-anterior),
            2 = W (left-right).
        max_shift: largest shift in voxels along D, H, W.
        intensity_scale: a, the largest relative change of a channel's scale.
        intensity_shift: b, the largest offset added to a channel.

    Raises:
        ValueError: naming the ``data.*`` setting for an unknown axis, a negative shift or a negative jitter.
    """

    flip_mask: torch.Tensor  # buffer [3] of bool

    def __init__(
        self,
        flip_axes: Sequence[int] = (2,),
        max_shift: Sequence[int] = (1, 4, 4),
        intensity_scale: float = 0.1,
        intensity_shift: float = 0.1,
    ) -> None:
        super().__init__()
        flip_axes, max_shift = tuple(flip_axes), tuple(max_shift)
        if not set(flip_axes) <= {0, 1, 2}:
            raise ValueError(f"data.flip_axes must hold axes 0 (D), 1 (H), 2 (W), got {list(flip_axes)}")
        if len(max_shift) != 3 or not all(isinstance(shift, int) and shift >= 0 for shift in max_shift):
            raise ValueError(f"data.max_shift must be three ints >= 0 [D, H, W], got {list(max_shift)}")
        for name, value in (("intensity_scale", intensity_scale), ("intensity_shift", intensity_shift)):
            if value < 0:
                raise ValueError(f"data.{name} must be >= 0, got {value}")
        self.register_buffer("flip_mask", torch.tensor([axis in flip_axes for axis in range(3)]), persistent=False)
        self.max_shift = max_shift
        self.intensity_scale = float(intensity_scale)
        self.intensity_shift = float(intensity_shift)

    def forward(self, volumes: torch.Tensor, train: bool, generator: torch.Generator | None = None) -> torch.Tensor:
        """Augment a batch when ``train``, else return it unchanged.

        Args:
            volumes: float [N, C, D, H, W] on the device of this module's buffer.
            train: whether to draw an augmentation.
            generator: optional source of randomness on the device of ``volumes``.

        Returns:
            float [N, C, D, H, W].
        """
        if not train:
            return volumes
        num_volumes, channels = volumes.shape[:2]
        device = volumes.device
        jitter = torch.rand(2, num_volumes, channels, 1, 1, 1, device=device, generator=generator) * 2 - 1
        volumes = volumes * (1 + self.intensity_scale * jitter[0]) + self.intensity_shift * jitter[1]
        flips = (torch.rand(num_volumes, 3, device=device, generator=generator) < 0.5) & self.flip_mask
        limits = torch.tensor(self.max_shift, device=device)
        shifts = torch.floor(torch.rand(num_volumes, 3, device=device, generator=generator) * (2 * limits + 1)).long()
        return shift_flip(volumes, shifts - limits, flips, self.max_shift)

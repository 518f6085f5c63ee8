"""The 3D CNN of the paper's prostate MRI experiments: stacked 3D convolution, ReLU and 3D max-pooling, one logit.

Section 5.2 describes "cascaded 3D convolution, 3D max-pooling, intermediate ReLU activation functions and Sigmoid
in the final output"; the sigmoid lives in the loss here, so the network returns the logit. Depth (number of
blocks) and width are set by ``widths``; BatchNorm after each convolution is an option the paper does not state.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from almlit.models.heads import check_positive_int, make_head

GLOBAL_POOLS = {"max": nn.AdaptiveMaxPool3d, "avg": nn.AdaptiveAvgPool3d}


def conv_relu_pool(in_channels: int, out_channels: int, kernel_size: int, batch_norm: bool) -> nn.Sequential:
    """Same-padding 3D convolution, optional BatchNorm, ReLU, then a 2x2x2 max-pool (ceil mode, so odd sizes keep
    their last voxel and a size of 1 stays 1)."""
    layers: list[nn.Module] = [
        nn.Conv3d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=not batch_norm)
    ]
    if batch_norm:
        layers.append(nn.BatchNorm3d(out_channels))
    layers += [nn.ReLU(inplace=True), nn.MaxPool3d(2, ceil_mode=True)]
    return nn.Sequential(*layers)


class CNN3D(nn.Module):
    """``len(widths)`` blocks of conv-(BN)-ReLU-maxpool, a global pool over the volume, and a linear head.

    Args:
        in_channels: channels of the input volumes (one per MRI sequence).
        num_outputs: number of output scores (1 logit; 2 with the LDAM head).
        widths: output channels of each block; its length is the depth.
        kernel_size: odd edge of the cubic convolution kernels.
        batch_norm: BatchNorm after every convolution.
        global_pool: ``"max"`` (suits a small, localised finding) or ``"avg"`` over the last feature map.
        normed_head: the cosine ``NormedLinear`` head (LDAM) instead of ``nn.Linear``.

    Raises:
        ValueError: naming the argument, for a non-positive size, an even kernel or an unknown pool.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_outputs: int = 1,
        widths: Sequence[int] = (16, 32, 64),
        kernel_size: int = 3,
        batch_norm: bool = True,
        global_pool: str = "max",
        normed_head: bool = False,
    ) -> None:
        super().__init__()
        check_positive_int("in_channels", in_channels)
        check_positive_int("num_outputs", num_outputs)
        check_positive_int("kernel_size", kernel_size)
        widths = list(widths)
        if not widths:
            raise ValueError("widths must list at least one block width, got []")
        for width in widths:
            check_positive_int("widths", width)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (same padding), got {kernel_size}")
        if global_pool not in GLOBAL_POOLS:
            raise ValueError(f"global_pool must be one of {list(GLOBAL_POOLS)}, got {global_pool!r}")
        self.in_channels = in_channels
        channels = [in_channels, *widths]
        self.features = nn.Sequential(
            *(conv_relu_pool(channels[i], channels[i + 1], kernel_size, batch_norm) for i in range(len(widths)))
        )
        self.pool = GLOBAL_POOLS[global_pool](1)
        self.head = make_head(widths[-1], num_outputs, normed_head)
        for module in self.modules():
            if isinstance(module, nn.Conv3d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        """Map volumes [B, in_channels, D, H, W] to scores [B, num_outputs]."""
        if x.dim() != 5 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"CNN3D expects volumes [B, {self.in_channels}, D, H, W] (model.in_channels={self.in_channels},"
                f" one channel per data.sequences entry), got shape {tuple(x.shape)}"
            )
        return self.head(torch.flatten(self.pool(self.features(x)), 1))

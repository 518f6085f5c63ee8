"""CIFAR-style residual networks (He et al., 2016) built from BasicBlocks: ResNet-10 and ResNet-32."""

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from almlit.models.heads import check_positive_int, make_head


def _conv_bn(in_channels: int, out_channels: int, kernel_size: int, stride: int) -> nn.Sequential:
    """Convolution without bias (the BatchNorm that follows has one) and BatchNorm."""
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(out_channels))


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with a residual connection: ``relu(F(x) + shortcut(x))``.

    The shortcut is the identity when the shape is unchanged and a 1x1 conv-BN projection otherwise.

    Args:
        in_channels: Channels of the input.
        out_channels: Channels of the output.
        stride: Stride of the first convolution (2 halves the spatial size).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.residual = nn.Sequential(
            _conv_bn(in_channels, out_channels, 3, stride),
            nn.ReLU(inplace=True),
            _conv_bn(out_channels, out_channels, 3, 1),
        )
        if stride == 1 and in_channels == out_channels:
            self.shortcut: nn.Module = nn.Identity()
        else:
            self.shortcut = _conv_bn(in_channels, out_channels, 1, stride)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block to a [B, C_in, H, W] tensor."""
        return self.relu(self.residual(x) + self.shortcut(x))


def _check_stage_lists(blocks_per_stage: Sequence[int], widths: Sequence[int]) -> None:
    """Validate the per-stage block counts and widths of ``CIFARResNet``."""
    if len(blocks_per_stage) == 0:
        raise ValueError(f"blocks_per_stage must list at least one stage, got {list(blocks_per_stage)!r}")
    if len(widths) != len(blocks_per_stage):
        raise ValueError(
            f"widths must have one entry per stage ({len(blocks_per_stage)}), got {len(widths)}: {list(widths)!r}"
        )
    for index, (blocks, width) in enumerate(zip(blocks_per_stage, widths, strict=True)):
        check_positive_int(f"blocks_per_stage[{index}]", blocks)
        check_positive_int(f"widths[{index}]", width)


class CIFARResNet(nn.Module):
    """ResNet for 32x32 images: 3x3 stem, stages of BasicBlocks, global average pool, head.

    The stem is a stride-1 3x3 conv-BN-ReLU with ``widths[0]`` channels and no max-pool. Stage ``i``
    has ``blocks_per_stage[i]`` blocks of ``widths[i]`` channels; every stage after the first halves
    the spatial size in its first block.

    Args:
        blocks_per_stage: Number of BasicBlocks in each stage.
        widths: Output channels of each stage (same length as ``blocks_per_stage``).
        in_channels: Channels of the input images.
        num_outputs: Number of output scores.
        normed_head: Use the cosine ``NormedLinear`` head (LDAM) instead of ``nn.Linear``.

    Raises:
        ValueError: If a count or width is not a positive int, or the two lists differ in length.
    """

    def __init__(
        self,
        blocks_per_stage: Sequence[int],
        widths: Sequence[int],
        in_channels: int = 3,
        num_outputs: int = 1,
        normed_head: bool = False,
    ) -> None:
        super().__init__()
        _check_stage_lists(blocks_per_stage, widths)
        check_positive_int("in_channels", in_channels)
        check_positive_int("num_outputs", num_outputs)
        self.stem = nn.Sequential(_conv_bn(in_channels, widths[0], 3, 1), nn.ReLU(inplace=True))
        stages = []
        channels = widths[0]
        for index, (blocks, width) in enumerate(zip(blocks_per_stage, widths, strict=True)):
            strides = [1 if index == 0 else 2] + [1] * (blocks - 1)
            layers = []
            for stride in strides:
                layers.append(BasicBlock(channels, width, stride))
                channels = width
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = make_head(channels, num_outputs, normed_head)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        """Map images [B, in_channels, H, W] to scores [B, num_outputs]."""
        features = self.pool(self.stages(self.stem(x)))
        return self.head(torch.flatten(features, 1))


def resnet10(width: int = 64, in_channels: int = 3, num_outputs: int = 1, normed_head: bool = False) -> CIFARResNet:
    """ResNet-10 of the binary CIFAR experiments: one BasicBlock per stage, widths w-2w-4w-8w.

    Args:
        width: Channels of the first stage (64 in the paper; smaller for quick CPU runs).
        in_channels: Channels of the input images.
        num_outputs: Number of output scores (1 logit; 2 with the normed head for LDAM).
        normed_head: Use the cosine ``NormedLinear`` head.

    Returns:
        The network.

    Raises:
        ValueError: If ``width`` (or another argument) is not a positive int.
    """
    check_positive_int("width", width)
    return CIFARResNet([1, 1, 1, 1], [width, 2 * width, 4 * width, 8 * width], in_channels, num_outputs, normed_head)


def resnet32(width: int = 16, in_channels: int = 3, num_outputs: int = 10, normed_head: bool = False) -> CIFARResNet:
    """ResNet-32 of He et al. (depth 6n+2 with n=5): three stages of five BasicBlocks, widths w-2w-4w.

    Args:
        width: Channels of the first stage (16 in He et al.).
        in_channels: Channels of the input images.
        num_outputs: Number of classes.
        normed_head: Use the cosine ``NormedLinear`` head (LDAM).

    Returns:
        The network.

    Raises:
        ValueError: If ``width`` (or another argument) is not a positive int.
    """
    check_positive_int("width", width)
    return CIFARResNet([5, 5, 5], [width, 2 * width, 4 * width], in_channels, num_outputs, normed_head)

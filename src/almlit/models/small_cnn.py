"""A small convolutional network for the 8x8 digit images (scikit-learn's embedded digits data set)."""

import torch
from torch import Tensor, nn

from almlit.models.heads import check_positive_int, make_head


def _conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 same-padding convolution (no bias, BatchNorm follows), BatchNorm and ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class SmallCNN(nn.Module):
    """Two conv-BN-ReLU blocks around one 2x2 max-pool, then global average pool and a head.

    On 8x8 inputs the first block works at 8x8 and the second at 4x4.

    Args:
        in_channels: Channels of the input images.
        num_outputs: Number of output scores.
        width: Channels of the first block; the second has ``2 * width``.
        normed_head: Use the cosine ``NormedLinear`` head (LDAM) instead of ``nn.Linear``.

    Raises:
        ValueError: If an argument is not a positive int.
    """

    def __init__(self, in_channels: int = 1, num_outputs: int = 1, width: int = 32, normed_head: bool = False) -> None:
        super().__init__()
        check_positive_int("in_channels", in_channels)
        check_positive_int("num_outputs", num_outputs)
        check_positive_int("width", width)
        self.features = nn.Sequential(
            _conv_bn_relu(in_channels, width),
            nn.MaxPool2d(2),
            _conv_bn_relu(width, 2 * width),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = make_head(2 * width, num_outputs, normed_head)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        """Map images [B, in_channels, H, W] to scores [B, num_outputs]."""
        return self.head(torch.flatten(self.pool(self.features(x)), 1))

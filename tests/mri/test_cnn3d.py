"""The paper's 3D CNN: shapes, depth and width from the arguments, clear errors."""

import pytest
import torch
from torch import nn

from almlit.models.cnn3d import CNN3D


@pytest.mark.parametrize("shape", [(8, 16, 16), (5, 7, 9), (1, 3, 3)])
def test_one_logit_per_volume_for_any_size(shape):
    network = CNN3D(in_channels=3, widths=(4, 8, 8))
    assert network(torch.randn(2, 3, *shape)).shape == (2, 1)


def test_widths_set_depth_and_channels():
    network = CNN3D(in_channels=2, widths=(4, 6, 8, 10), batch_norm=False)
    convolutions = [module for module in network.modules() if isinstance(module, nn.Conv3d)]
    assert [(conv.in_channels, conv.out_channels) for conv in convolutions] == [(2, 4), (4, 6), (6, 8), (8, 10)]
    assert sum(isinstance(module, nn.MaxPool3d) for module in network.modules()) == 4
    assert not any(isinstance(module, nn.BatchNorm3d) for module in network.modules())
    assert network.head.in_features == 10


def test_normed_head_gives_cosines():
    network = CNN3D(in_channels=1, num_outputs=2, widths=(4,), normed_head=True, global_pool="avg")
    outputs = network(torch.randn(3, 1, 4, 4, 4))
    assert outputs.shape == (3, 2) and outputs.abs().max() <= 1.0 + 1e-6


def test_gradients_reach_the_first_layer():
    network = CNN3D(in_channels=1, widths=(4, 8))
    network(torch.randn(2, 1, 4, 8, 8)).sum().backward()
    assert network.features[0][0].weight.grad.abs().sum() > 0


def test_wrong_channel_count_names_the_settings():
    with pytest.raises(
        ValueError, match=r"model.in_channels=3, one channel per data.sequences entry\), got shape \(2, 2"
    ):
        CNN3D(in_channels=3, widths=(4,))(torch.randn(2, 2, 4, 4, 4))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"widths": ()}, r"widths must list at least one block width, got \[\]"),
        ({"widths": (4, 0)}, r"widths must be a positive int \(>= 1\), got 0"),
        ({"kernel_size": 2}, r"kernel_size must be odd \(same padding\), got 2"),
        ({"global_pool": "sum"}, r"global_pool must be one of \['max', 'avg'\], got 'sum'"),
        ({"in_channels": 0}, r"in_channels must be a positive int"),
    ],
)
def test_bad_arguments_are_named(arguments, message):
    with pytest.raises(ValueError, match=message):
        CNN3D(**arguments)

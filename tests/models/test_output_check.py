"""The forward pass before training names a network that does not fit the data or the loss."""

import pytest
import torch

from almlit.models import SmallCNN
from almlit.models.output_check import check_output_shape


def test_a_fitting_network_passes_and_keeps_its_mode():
    network = SmallCNN(in_channels=1, num_outputs=1).train()
    check_output_shape(network, torch.zeros(2, 1, 8, 8), 1)
    assert network.training


def test_wrong_outputs_are_named():
    with pytest.raises(ValueError, match=r"outputs of shape \[2, 3\] for a batch of 2 images; the loss needs \[2, 1\]"):
        check_output_shape(SmallCNN(in_channels=1, num_outputs=3), torch.zeros(2, 1, 8, 8), 1)


def test_wrong_input_channels_are_named():
    with pytest.raises(ValueError, match=r"cannot take a batch of shape \[2, 1, 8, 8\] .*expected input.* 3 channels"):
        check_output_shape(SmallCNN(in_channels=3, num_outputs=1), torch.zeros(2, 1, 8, 8), 1)

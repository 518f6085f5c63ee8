"""The batched forward pass of a stack against each network run alone (a loop over the members)."""

import copy

import pytest
import torch

from almlit.models import SmallCNN
from almlit.stacking.forward import StackedForward


def networks(count=3):
    torch.manual_seed(0)
    return [SmallCNN(in_channels=1, num_outputs=1, width=4) for _ in range(count)]


MODES = ["vmap", "sequential"]


@pytest.mark.parametrize("mode", MODES)
def test_training_outputs_gradients_and_batchnorm_statistics_are_each_members_own(mode):
    stacked, alone = networks(), networks()
    images = torch.randn(3, 5, 1, 8, 8)
    outputs = StackedForward(stacked[0], mode)(stacked, images)
    expected = torch.stack([network(images[index]) for index, network in enumerate(alone)])
    torch.testing.assert_close(outputs, expected, rtol=1e-5, atol=1e-6)
    (outputs * torch.tensor([1.0, 2.0, 3.0])[:, None, None]).sum().backward()  # member k's loss is k+1 times its sum
    for index, network in enumerate(alone):
        ((index + 1) * network(images[index])).sum().backward()
    for mine, theirs in zip(stacked, alone, strict=True):
        for (name, parameter), reference in zip(mine.named_parameters(), theirs.parameters(), strict=True):
            torch.testing.assert_close(parameter.grad, reference.grad, rtol=1e-4, atol=1e-6, msg=name)
        for (name, buffer), reference in zip(mine.named_buffers(), theirs.buffers(), strict=True):
            # the loop above ran every network twice in training mode: compare after one update only
            if "num_batches_tracked" in name:
                assert int(buffer) == 1 and int(reference) == 2
    first_update = networks()
    for index, network in enumerate(first_update):
        network(images[index])
    for mine, theirs in zip(stacked, first_update, strict=True):
        for (name, buffer), reference in zip(mine.named_buffers(), theirs.buffers(), strict=True):
            torch.testing.assert_close(buffer, reference, rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.parametrize("mode", MODES)
def test_evaluation_uses_each_members_running_statistics_and_changes_none(mode):
    stacked = networks()
    for network in stacked:  # distinct running statistics per member
        network(torch.randn(7, 1, 8, 8) * (1 + len(list(network.parameters()))))
        network.eval()
    before = [copy.deepcopy(network.state_dict()) for network in stacked]
    images = torch.randn(3, 4, 1, 8, 8)
    with torch.no_grad():
        outputs = StackedForward(stacked[0], mode)(stacked, images)
        expected = torch.stack([network(images[index]) for index, network in enumerate(stacked)])
    torch.testing.assert_close(outputs, expected, rtol=1e-5, atol=1e-6)
    for network, state in zip(stacked, before, strict=True):
        for name, value in network.state_dict().items():
            assert torch.equal(value, state[name]), name


def test_auto_mode_is_vmap_on_cuda_and_sequential_elsewhere():
    forward = StackedForward(networks(1)[0])
    assert forward.resolved_mode(torch.device("cuda", 0)) == "vmap"
    assert forward.resolved_mode(torch.device("cpu")) == "sequential"
    assert StackedForward(networks(1)[0], "vmap").resolved_mode(torch.device("cpu")) == "vmap"


def test_an_unknown_mode_is_refused_with_the_allowed_ones():
    with pytest.raises(ValueError, match=r"one of auto, vmap, sequential; got 'batched'"):
        StackedForward(networks(1)[0], "batched")

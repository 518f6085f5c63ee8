"""``model=monai``: MONAI networks by name, 2D for images and 3D for MRI volumes, through the Hydra config."""

import pytest
import torch
from torch import nn

from almlit.models.library import monai_network
from almlit.models.output_check import check_output_shape
from almlit.report.ensemble_members import compose_member, resolve_member

pytestmark = pytest.mark.slow  # importing MONAI takes 5-10 s
monai = pytest.importorskip("monai")


def one_training_step(network: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """One SGD step on the binary cross-entropy; returns the largest change of a parameter."""
    before = [parameter.detach().clone() for parameter in network.parameters()]
    network.train()
    optimizer = torch.optim.SGD(network.parameters(), lr=0.1)
    loss = nn.functional.binary_cross_entropy_with_logits(network(images).reshape(-1), labels)
    assert torch.isfinite(loss)
    loss.backward()
    optimizer.step()
    return max((after - old).abs().max().item() for after, old in zip(network.parameters(), before, strict=True))


def test_densenet121_for_mri_volumes_is_3d_and_trains(tmp_path):
    config = resolve_member(compose_member(["data=mri", "model=monai", "model.name=DenseNet121"]), tmp_path)
    assert config["model"]["spatial_dims"] == 3 and config["run_name"].startswith("mri_DenseNet121_")
    sequences = len(config["data"]["sequences"])
    network = monai_network(config["model"]["name"], 1, spatial_dims=3, in_channels=sequences)
    assert isinstance(network, monai.networks.nets.DenseNet121)
    volumes = torch.randn(2, sequences, 32, 32, 32)  # [B, C, D, H, W]; DenseNet121 halves each axis 5 times
    check_output_shape(network, volumes, 1)
    assert one_training_step(network, volumes, torch.tensor([0.0, 1.0])) > 0


def test_images_get_a_2d_network_and_resnet_spells_its_sizes_otherwise(tmp_path):
    config = resolve_member(compose_member(["data=images", "model=monai", "model.name=ResNet"]), tmp_path)
    assert config["model"]["spatial_dims"] == 2
    network = monai_network(
        "ResNet", 3, spatial_dims=2, in_channels=1, block="basic", layers=[1, 1, 1, 1], block_inplanes=[8, 8, 8, 8]
    )
    assert network(torch.zeros(2, 1, 32, 32)).shape == (2, 3)  # n_input_channels=1, num_classes=3


def test_an_unknown_name_and_weights_that_do_not_fit_are_refused(tmp_path):
    with pytest.raises(ValueError, match="model.name=DenseNet7 is not a network of monai.networks.nets"):
        monai_network("DenseNet7", 1)
    trained = monai_network("DenseNet121", 2, in_channels=1)
    path = tmp_path / "densenet.pth"
    torch.save(trained.state_dict(), path)
    network = monai_network("DenseNet121", 2, weights=path, in_channels=1)
    torch.testing.assert_close(network.class_layers.out.weight, trained.class_layers.out.weight)
    message = r"densenet.pth does not fit DenseNet121: 0 missing keys \[\], 0 unexpected keys \[\], 2 of another shape"
    with pytest.raises(ValueError, match=message + r" \['class_layers.out.weight \[2, 1024\] vs \[1, 1024\]'"):
        monai_network("DenseNet121", 1, weights=path, in_channels=1)

"""Networks of torchvision, timm and MONAI by name: local weights, the replaced head, the optional-extra refusal."""

import sys

import pytest
import torch
from torch import nn

from almlit.models.library import monai_network, timm_network, torchvision_network


def saved(path, state):
    torch.save(state, path)
    return path


def test_torchvision_head_gives_num_outputs():
    network = torchvision_network("resnet18", 3)
    assert isinstance(network.fc, nn.Linear) and (network.fc.in_features, network.fc.out_features) == (512, 3)
    nested = torchvision_network("mobilenet_v3_small", 1)  # the head is the last layer of a Sequential
    assert nested.classifier[-1].out_features == 1 and nested(torch.zeros(2, 3, 32, 32)).shape == (2, 1)


def test_published_weights_load_before_the_head_is_replaced(tmp_path):
    import torchvision

    published = torchvision.models.mobilenet_v3_small()  # the layout torchvision publishes (1000 classes)
    path = saved(tmp_path / "mobilenet.pth", published.state_dict())
    network = torchvision_network("mobilenet_v3_small", 1, weights=path)
    torch.testing.assert_close(network.features[0][0].weight, published.features[0][0].weight)
    torch.testing.assert_close(network.classifier[0].weight, published.classifier[0].weight)
    assert network.classifier[-1].out_features == 1


def test_an_almlit_checkpoint_loads_with_its_head(tmp_path):
    trained = torchvision_network("mobilenet_v3_small", 2)
    checkpoint = {"epoch": 3, "state_dict": {f"network.{key}": value for key, value in trained.state_dict().items()}}
    checkpoint["state_dict"]["multipliers.values"] = torch.zeros(5)  # the module's other state is ignored
    network = torchvision_network("mobilenet_v3_small", 2, weights=saved(tmp_path / "best.ckpt", checkpoint))
    torch.testing.assert_close(network.classifier[-1].weight, trained.classifier[-1].weight)


def test_weights_that_do_not_fit_are_named(tmp_path):
    import torchvision

    other = saved(tmp_path / "squeezenet.pth", torchvision.models.squeezenet1_0().state_dict())
    with pytest.raises(ValueError, match=r"squeezenet.pth does not fit MobileNetV3: \d+ missing keys \['features.0.0"):
        torchvision_network("mobilenet_v3_small", 1, weights=other)
    two_outputs = {
        "state_dict": {
            f"network.{key}": value for key, value in torchvision_network("resnet18", 2).state_dict().items()
        }
    }
    with pytest.raises(
        ValueError, match=r"best.ckpt does not fit ResNet: .* 2 of another shape \['fc.weight \[2, 512\] vs \[1, 512\]"
    ):
        torchvision_network("resnet18", 1, weights=saved(tmp_path / "best.ckpt", two_outputs))
    with pytest.raises(FileNotFoundError, match="model.weights not found: .*none.pth"):
        torchvision_network("mobilenet_v3_small", 1, weights=tmp_path / "none.pth")
    (tmp_path / "text.pth").write_text("not a state dict")
    with pytest.raises(ValueError, match="text.pth is not a state dict or checkpoint torch can read"):
        torchvision_network("mobilenet_v3_small", 1, weights=tmp_path / "text.pth")
    with pytest.raises(ValueError, match="model.name=resnet19 is not a torchvision model"):
        torchvision_network("resnet19", 1)


@pytest.mark.slow  # importing timm takes 5-10 s
def test_timm_networks_reset_their_classifier(tmp_path):
    timm = pytest.importorskip("timm")
    published = timm.create_model("mobilenetv3_small_050", pretrained=False, in_chans=1)
    path = saved(tmp_path / "mobilenet.pth", published.state_dict())
    network = timm_network("mobilenetv3_small_050", 4, weights=path, in_channels=1)
    torch.testing.assert_close(network.conv_stem.weight, published.conv_stem.weight)
    assert network(torch.zeros(2, 1, 32, 32)).shape == (2, 4)
    with pytest.raises(ValueError, match="model.name=resnet_nine is not a timm model"):
        timm_network("resnet_nine", 1)


@pytest.mark.parametrize(("extra", "build"), [("timm", timm_network), ("monai", monai_network)])
def test_a_missing_extra_is_refused_naming_it(monkeypatch, extra, build):
    monkeypatch.setitem(sys.modules, extra, None)  # `import extra` now raises ModuleNotFoundError, as when absent
    expected = rf"^model={extra} needs the optional extra {extra}: pip install 'almlit\[{extra}\]' \({extra} is not"
    with pytest.raises(ValueError, match=expected):
        build("resnet18", 1)

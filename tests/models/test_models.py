"""Tests for the networks: shapes, heads, parameter counts, depth, downsampling, memory format, errors."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from almlit.models import CIFARResNet, NormedLinear, SmallCNN, make_head, resnet10, resnet32


def _conv(k: int, cin: int, cout: int) -> int:
    """Weights of a bias-free k x k convolution."""
    return k * k * cin * cout


def _bn(c: int) -> int:
    """Affine parameters (weight and bias) of a BatchNorm over c channels."""
    return 2 * c


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("normed", [False, True])
@pytest.mark.parametrize(
    ("build", "input_shape", "num_outputs"),
    [
        (lambda n, normed: resnet10(width=8, num_outputs=n, normed_head=normed), (3, 3, 32, 32), 1),
        (lambda n, normed: resnet10(width=8, num_outputs=n, normed_head=normed), (3, 3, 32, 32), 2),
        (lambda n, normed: resnet10(width=4, in_channels=1, num_outputs=n, normed_head=normed), (2, 1, 32, 32), 1),
        (lambda n, normed: resnet32(width=4, num_outputs=n, normed_head=normed), (3, 3, 32, 32), 10),
        (lambda n, normed: SmallCNN(num_outputs=n, width=8, normed_head=normed), (5, 1, 8, 8), 1),
        (lambda n, normed: SmallCNN(in_channels=3, num_outputs=n, width=8, normed_head=normed), (5, 3, 8, 8), 4),
    ],
    ids=["resnet10-1", "resnet10-2", "resnet10-gray", "resnet32-10", "smallcnn-1", "smallcnn-rgb-4"],
)
def test_output_shape_and_head_kind(build, input_shape, num_outputs, normed):
    model = build(num_outputs, normed)
    out = model(torch.randn(input_shape))
    assert out.shape == (input_shape[0], num_outputs)
    assert isinstance(model.head, NormedLinear if normed else nn.Linear)
    if normed:
        assert out.abs().max() <= 1.0 + 1e-6


def test_normed_linear_is_cosine_between_rows_and_columns():
    torch.manual_seed(0)
    layer = NormedLinear(6, 3)
    x = torch.randn(5, 6) * 10.0
    expected = torch.empty(5, 3)
    for row in range(5):
        for column in range(3):
            expected[row, column] = F.cosine_similarity(x[row], layer.weight[:, column], dim=0)
    out = layer(x)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    assert out.min() >= -1.0 and out.max() <= 1.0
    assert out.shape == (5, 3)
    assert _params(layer) == 6 * 3


@pytest.mark.parametrize(("normed", "kind", "count"), [(False, nn.Linear, 7 * 2 + 2), (True, NormedLinear, 7 * 2)])
def test_make_head_kind_and_size(normed, kind, count):
    head = make_head(7, 2, normed)
    assert isinstance(head, kind)
    assert _params(head) == count
    assert head(torch.randn(4, 7)).shape == (4, 2)


def test_resnet10_parameter_count():
    stem = _conv(3, 3, 64) + _bn(64)
    stage1 = 2 * _conv(3, 64, 64) + 2 * _bn(64)
    stage2 = _conv(3, 64, 128) + _conv(3, 128, 128) + 2 * _bn(128) + _conv(1, 64, 128) + _bn(128)
    stage3 = _conv(3, 128, 256) + _conv(3, 256, 256) + 2 * _bn(256) + _conv(1, 128, 256) + _bn(256)
    stage4 = _conv(3, 256, 512) + _conv(3, 512, 512) + 2 * _bn(512) + _conv(1, 256, 512) + _bn(512)
    linear = 512 * 1 + 1
    assert _params(resnet10(width=64)) == stem + stage1 + stage2 + stage3 + stage4 + linear
    normed = 512 * 2
    assert _params(resnet10(width=64, num_outputs=2, normed_head=True)) == (
        stem + stage1 + stage2 + stage3 + stage4 + normed
    )


def test_resnet32_parameter_count():
    stem = _conv(3, 3, 16) + _bn(16)
    stage1 = 5 * (2 * _conv(3, 16, 16) + 2 * _bn(16))
    stage2 = (_conv(3, 16, 32) + _conv(3, 32, 32) + 2 * _bn(32) + _conv(1, 16, 32) + _bn(32)) + 4 * (
        2 * _conv(3, 32, 32) + 2 * _bn(32)
    )
    stage3 = (_conv(3, 32, 64) + _conv(3, 64, 64) + 2 * _bn(64) + _conv(1, 32, 64) + _bn(64)) + 4 * (
        2 * _conv(3, 64, 64) + 2 * _bn(64)
    )
    linear = 64 * 10 + 10
    assert _params(resnet32()) == stem + stage1 + stage2 + stage3 + linear


@pytest.mark.parametrize(
    ("build", "main_convs", "projections"),
    [(resnet32, 6 * 5 + 1, 2), (lambda: resnet10(width=4), 2 * 4 + 1, 3)],
    ids=["resnet32", "resnet10"],
)
def test_depth_counts_main_path_convs(build, main_convs, projections):
    model = build()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    # Main-path convolutions are 3x3; projection shortcuts are the only 1x1 convolutions.
    assert sum(c.kernel_size == (3, 3) for c in convs) == main_convs
    assert sum(c.kernel_size == (1, 1) for c in convs) == projections
    assert len(convs) == main_convs + projections
    assert sum(isinstance(m, nn.Linear) for m in model.modules()) == 1


@pytest.mark.parametrize(
    ("build", "input_shape", "feature_shape"),
    [
        (lambda: resnet10(width=4), (2, 3, 32, 32), (2, 32, 4, 4)),
        (lambda: resnet32(width=4), (2, 3, 32, 32), (2, 16, 8, 8)),
        (lambda: SmallCNN(width=4), (2, 1, 8, 8), (2, 8, 4, 4)),
    ],
    ids=["resnet10", "resnet32", "smallcnn"],
)
def test_feature_map_size_before_pooling(build, input_shape, feature_shape):
    model = build()
    seen = []
    model.pool.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].shape))
    model(torch.randn(input_shape))
    assert seen == [torch.Size(feature_shape)]


@pytest.mark.parametrize(
    ("build", "input_shape"),
    [
        (lambda: resnet10(width=4), (3, 3, 32, 32)),
        (lambda: resnet32(width=4, normed_head=True), (3, 3, 32, 32)),
        (lambda: SmallCNN(in_channels=3, width=4), (3, 3, 8, 8)),
    ],
    ids=["resnet10", "resnet32-normed", "smallcnn"],
)
def test_channels_last_matches_contiguous(build, input_shape):
    torch.manual_seed(0)
    model = build()
    x = torch.randn(input_shape)
    model.train()
    # Run a training batch first so BatchNorm uses non-trivial running statistics in eval mode.
    model(x)
    model.eval()
    expected = model(x)
    model = model.to(memory_format=torch.channels_last)
    x_last = x.to(memory_format=torch.channels_last)
    assert not x_last.is_contiguous()
    out = model(x_last)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)


def test_small_cnn_backward_reaches_every_parameter():
    model = SmallCNN()
    out = model(torch.randn(64, 1, 8, 8))
    out.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: resnet10(width=0), "width must be a positive int .* got 0"),
        (lambda: resnet32(width=-3), "width must be a positive int .* got -3"),
        (lambda: SmallCNN(width=2.5), "width must be a positive int .* got 2.5"),
        (lambda: resnet10(num_outputs=0), r"num_outputs must be a positive int \(>= 1\), got 0"),
        (lambda: SmallCNN(num_outputs=True), r"num_outputs must be a positive int \(>= 1\), got True"),
        (lambda: resnet32(in_channels=0), "in_channels must be a positive int .* got 0"),
        (lambda: SmallCNN(in_channels=0), "in_channels must be a positive int .* got 0"),
        (lambda: CIFARResNet([], []), r"blocks_per_stage must list at least one stage, got \[\]"),
        (lambda: CIFARResNet([1, 1], [8]), r"widths must have one entry per stage \(2\), got 1: \[8\]"),
        (lambda: CIFARResNet([1, 0], [8, 16]), r"blocks_per_stage\[1\] must be a positive int .* got 0"),
        (lambda: CIFARResNet([1, 1], [8, -1]), r"widths\[1\] must be a positive int .* got -1"),
        (lambda: NormedLinear(0, 2), "in_features must be a positive int .* got 0"),
        (lambda: NormedLinear(4, 0), "out_features must be a positive int .* got 0"),
        (lambda: make_head(4, 0, normed=False), "num_outputs must be a positive int .* got 0"),
    ],
)
def test_invalid_arguments_raise(build, message):
    with pytest.raises(ValueError, match=message):
        build()

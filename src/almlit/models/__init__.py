"""Networks: CIFAR ResNets, a small CNN for 8x8 digits, and the linear / cosine heads."""

from almlit.models.heads import NormedLinear, make_head
from almlit.models.resnet_cifar import CIFARResNet, resnet10, resnet32
from almlit.models.small_cnn import SmallCNN

__all__ = ["CIFARResNet", "NormedLinear", "SmallCNN", "make_head", "resnet10", "resnet32"]

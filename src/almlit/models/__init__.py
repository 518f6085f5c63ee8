"""Networks: CIFAR ResNets, a small CNN for 8x8 digits, a 3D CNN for MRI volumes, and the linear / cosine heads."""

from almlit.models.cnn3d import CNN3D
from almlit.models.heads import NormedLinear, make_head
from almlit.models.resnet_cifar import CIFARResNet, resnet10, resnet32
from almlit.models.small_cnn import SmallCNN

__all__ = ["CIFARResNet", "CNN3D", "NormedLinear", "SmallCNN", "make_head", "resnet10", "resnet32"]

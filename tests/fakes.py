"""Small stand-ins for data sets that cannot be downloaded in tests."""

from almlit.benchmark.synthetic import write_random_cifar

# the package owns the generator (the GPU check uses it too); the tests call it by this name
write_fake_cifar = write_random_cifar


def fake_torchvision_cifar(variant: str) -> type:
    """A stand-in for torchvision's CIFAR10 / CIFAR100 class that records its calls and "downloads" fake files.

    Args:
        variant: ``"cifar10"`` or ``"cifar100"``, the layout the fake writes.

    Returns:
        A class to monkeypatch over ``torchvision.datasets.CIFAR10`` / ``CIFAR100``; its ``calls`` attribute lists
        ``(root, train, download)`` per instantiation.
    """

    class FakeTorchvisionCIFAR:
        calls: list[tuple[str, bool, bool]] = []

        def __init__(self, root: str, train: bool, download: bool) -> None:
            self.calls.append((root, train, download))
            write_fake_cifar(root, variant, train_per_class=1, test_per_class=1)

    return FakeTorchvisionCIFAR

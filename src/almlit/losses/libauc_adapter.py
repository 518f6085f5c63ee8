"""LibAUC's own ``AUCMLoss`` (``loss=aucm_libauc``), for comparison with :class:`almlit.losses.AUCMLoss`.

Needs the optional extra: ``pip install --no-deps libauc`` (its full dependency list pulls in large packages that
almlit never uses). The wrapper fixes p to the training prior (LibAUC's forward otherwise re-estimates it on every
batch) and declares alpha as the dual variable, so :class:`almlit.optim.PESG` ascends on it.
"""

from __future__ import annotations

from torch import Tensor, nn

from almlit.losses._checks import ClassCounts, check_binary_class_counts


class LibAUCAUCMLoss(nn.Module):
    """``libauc.losses.AUCMLoss`` (version v1) with p = n_positive / n_train from the training class counts.

    Args:
        class_counts: (n_negative, n_positive) of the training set.
        margin: m on sigmoid scores; 1.0 in the paper.
    """

    num_outputs = 1

    def __init__(self, class_counts: ClassCounts, margin: float = 1.0) -> None:
        super().__init__()
        try:
            from libauc.losses import AUCMLoss
        except ImportError as error:
            raise ValueError(
                f"loss=aucm_libauc needs the optional package libauc ({error}); install it with "
                "`pip install --no-deps libauc` or use loss=aucm"
            ) from None
        negatives, positives = check_binary_class_counts(class_counts)
        self.libauc_loss = AUCMLoss(margin=margin, imratio=positives / (negatives + positives), device="cpu")

    def dual_parameters(self) -> list[nn.Parameter]:
        """LibAUC's alpha, maximised over."""
        return [self.libauc_loss.alpha]

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return self.libauc_loss(outputs.sigmoid().reshape(-1, 1), targets.reshape(-1, 1), auto=False)

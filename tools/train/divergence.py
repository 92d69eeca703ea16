"""The one rule for the learning rate after a divergence (NaN/Inf loss or gradients).

Training runs at ``schedule(step) * lr_scale``. Each time the run diverges, the scale is lowered
by ``LR_BACKOFF``: inside the loop at a rollback to the last checkpoint, and across attempts when
the Reviewer sends an aborted run back to resume from its last good step
(``tools.review.checkpoint.lower_lr``). The scale is absolute: the trainer state stores it, and a
request's ``lr_scale`` replaces it; it is never multiplied by another scale.
"""

from __future__ import annotations

LR_BACKOFF = 0.5


def lowered(scale: float) -> float:
    """The LR scale to continue at after a divergence at ``scale``."""
    return scale * LR_BACKOFF

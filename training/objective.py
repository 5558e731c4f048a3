"""The training objective as one module: reconstruction loss + weight * LOOCC (paper Eq. 7).

Putting the whole loss inside one ``forward`` is what lets DistributedDataParallel wrap it: every
use of the networks (the training pass and LOOCC's cyclic encoding) happens inside the wrapped call.
"""

from __future__ import annotations

import torch
from torch import nn

from physdis_hub.losses import ReconstructionLoss
from physdis_hub.model import PhysDisModel

from .loocc import LooccConfig, Perturbation, loocc_loss


class TrainingObjective(nn.Module):
    """Loss terms for one batch.

    Args:
        model: the :class:`PhysDisModel` being trained.
        loocc: :class:`LooccConfig` (variant ``"none"`` disables the contrastive term).
        perceptual_weights: VGG16 weights when the model's loss has a perceptual term.
    """

    def __init__(self, model: PhysDisModel, loocc: LooccConfig, perceptual_weights: str | None = None) -> None:
        super().__init__()
        self.model = model
        self.loocc = loocc
        self.reconstruction = ReconstructionLoss(model.config, perceptual_weights)

    def forward(self, x: torch.Tensor, perturbation: Perturbation | None = None) -> dict[str, torch.Tensor]:
        """Loss terms.

        Args:
            x: ``(B, 3, S, S)`` images in [-1, 1].
            perturbation: LOOCC offsets for these ``B`` images (required iff LOOCC is enabled).

        Returns:
            The reconstruction terms (``l1``, ``l1_flip``, ... as :class:`ReconstructionLoss` names
            them), ``recon`` (their weighted sum), ``loocc`` (the unweighted contrastive term, when
            enabled), ``cycle`` (LOOCC's unweighted cycle term, when its weight is not 0) and
            ``total`` (what is minimised).
        """
        if self.loocc.enabled != (perturbation is not None):
            raise ValueError(
                f"perturbation: LOOCC variant {self.loocc.variant!r} "
                f"{'needs' if self.loocc.enabled else 'takes no'} perturbation"
            )
        out = self.model(x)
        terms = self.reconstruction(out, x)
        terms["recon"] = terms.pop("total")
        terms["total"] = terms["recon"]
        if perturbation is not None:
            contrastive = loocc_loss(self.model, out.scene, out.features, perturbation.to(x.device), self.loocc)
            terms["loocc"] = contrastive.loss
            terms["total"] = terms["recon"] + self.loocc.weight * contrastive.loss
            if contrastive.cycle is not None:
                terms["cycle"] = contrastive.cycle
                terms["total"] = terms["total"] + self.loocc.cycle_weight * contrastive.cycle
        return terms

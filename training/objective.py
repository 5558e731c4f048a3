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
from .shape_init import ShapeInitConfig, ellipsoid_depth, template_l1


class TrainingObjective(nn.Module):
    """Loss terms for one batch.

    Args:
        model: the :class:`PhysDisModel` being trained.
        loocc: :class:`LooccConfig` (variant ``"none"`` disables the contrastive term).
        perceptual_weights: VGG16 weights when the model's loss has a perceptual term.
        shape_init: :class:`ShapeInitConfig`; when enabled, the convex template is kept as a buffer.
    """

    def __init__(
        self,
        model: PhysDisModel,
        loocc: LooccConfig,
        perceptual_weights: str | None = None,
        shape_init: ShapeInitConfig | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.loocc = loocc
        self.reconstruction = ReconstructionLoss(model.config, perceptual_weights)
        self.template: torch.Tensor | None
        if shape_init is not None and shape_init.enabled:
            self.register_buffer("template", ellipsoid_depth(model.config.image_size, model.config.scene, shape_init))
        else:
            self.template = None

    def forward(
        self, x: torch.Tensor, perturbation: Perturbation | None = None, shape_init_weight: float = 0.0
    ) -> dict[str, torch.Tensor]:
        """Loss terms.

        Args:
            x: ``(B, 3, S, S)`` images in [-1, 1].
            perturbation: LOOCC offsets for these ``B`` images (required iff LOOCC is enabled).
            shape_init_weight: weight of the pull towards the convex template at this step
                (:meth:`ShapeInitConfig.weight_at`); needs ``shape_init`` enabled when not 0.

        Returns:
            The reconstruction terms (``l1``, ``l1_flip``, ... as :class:`ReconstructionLoss` names
            them), ``recon`` (their weighted sum), ``loocc`` (the unweighted contrastive term, when
            enabled), ``cycle`` (LOOCC's unweighted cycle term, when its weight is not 0),
            ``shape_init`` (the unweighted template pull, whenever ``shape_init`` is enabled, so
            that every step logs the same terms) and ``total`` (what is minimised).
        """
        if self.loocc.enabled != (perturbation is not None):
            raise ValueError(
                f"perturbation: LOOCC variant {self.loocc.variant!r} "
                f"{'needs' if self.loocc.enabled else 'takes no'} perturbation"
            )
        if shape_init_weight and self.template is None:
            raise ValueError(f"shape_init_weight: {shape_init_weight} given, but no shape_init was configured")
        out = self.model(x)
        terms = self.reconstruction(out, x)
        terms["recon"] = terms.pop("total")
        terms["total"] = terms["recon"]
        if self.template is not None:
            terms["shape_init"] = template_l1(out.scene.depth, self.template)
            terms["total"] = terms["total"] + shape_init_weight * terms["shape_init"]
        if perturbation is not None:
            contrastive = loocc_loss(
                self.model, out.scene, out.features, perturbation.to(x.device), self.loocc, rendering=out.rendering
            )
            terms["loocc"] = contrastive.loss
            terms["total"] = terms["total"] + self.loocc.weight * contrastive.loss
            if contrastive.cycle is not None:
                terms["cycle"] = contrastive.cycle
                terms["total"] = terms["total"] + self.loocc.cycle_weight * contrastive.cycle
        return terms

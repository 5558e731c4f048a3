"""A convex start for the canonical depth: which side of the hollow-face ambiguity training takes.

Lambertian shading under an unknown light cannot tell a surface from its depth-inverted twin lit
from the mirrored direction, and a nearly orthographic view (10 degree field of view) barely tells
them apart when the object turns: the inverted face seen with the opposite yaw and pitch warps the
same way. Which of the two a run converges to is decided in its first few hundred steps, and on the
CPU faces recipe it is a coin toss: of three runs with identical settings but the LOOCC variant,
two learned a hollow face (canonical depth correlation with the truth -0.86 and -0.51 after
500-750 steps, light x and view yaw correlations negative), one a convex face (+0.86).

The fix follows GAN2Shape (Pan et al. 2021), which starts its depth from an ellipsoid: for the first
:attr:`ShapeInitConfig.steps` training steps, an L1 pull of the canonical depth towards a convex
ellipsoid (:func:`ellipsoid_depth`), with a weight that falls linearly to 0, so the final shape is
the objective's alone. The template is a category prior (faces bulge towards the camera); it is not
used for cars.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from physdis_hub.config import SceneConfig
from physdis_hub.configbase import ConfigBase
from physdis_hub.scene import depth_interior


@dataclass(frozen=True)
class ShapeInitConfig(ConfigBase):
    """The convex start; off unless ``steps > 0``."""

    steps: int = 0
    """Training steps during which the depth is pulled towards the template (0: never)."""
    weight: float = 1.0
    """Weight of the pull at step 1; it falls linearly to 0 at step ``steps``."""
    semi_axes: tuple[float, float] = (0.75, 0.9)
    """Half-width and half-height of the ellipsoid, as fractions of the image's half side."""
    bulge: float = 0.6
    """Depth of the ellipsoid's apex in front of the border, as a fraction of ``max_depth - min_depth``."""

    def __post_init__(self) -> None:
        if not isinstance(self.steps, int) or self.steps < 0:
            raise ValueError(f"ShapeInitConfig.steps: expected an int >= 0, got {self.steps!r}")
        if self.weight < 0:
            raise ValueError(f"ShapeInitConfig.weight: expected >= 0, got {self.weight}")
        if len(self.semi_axes) != 2 or not all(0 < a <= 1 for a in self.semi_axes):
            raise ValueError(f"ShapeInitConfig.semi_axes: expected two values in (0, 1], got {self.semi_axes}")
        if not 0 < self.bulge <= 1:
            raise ValueError(f"ShapeInitConfig.bulge: expected a value in (0, 1], got {self.bulge}")

    @property
    def enabled(self) -> bool:
        return self.steps > 0 and self.weight > 0

    def weight_at(self, step: int) -> float:
        """Weight of the pull at training step ``step`` (1-based): ``weight * (1 - (step - 1) / steps)``, 0 after."""
        if step < 1:
            raise ValueError(f"step: expected a training step >= 1, got {step}")
        return self.weight * max(0.0, 1.0 - (step - 1) / self.steps) if self.enabled else 0.0


def ellipsoid_depth(size: int, scene: SceneConfig, config: ShapeInitConfig) -> torch.Tensor:
    """The convex template: ``(size, size)`` canonical depth, ``border_depth`` outside the ellipse and
    ``border_depth - bulge * (max_depth - min_depth) * sqrt(1 - r^2)`` inside (``r``: elliptic radius).

    Every value lies in the decoder's range [min_depth, max_depth], so the network can express it.
    """
    r = torch.linspace(-1, 1, size)
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    ax, ay = config.semi_axes
    inside = (1 - (xx / ax) ** 2 - (yy / ay) ** 2).clamp(min=0).sqrt()
    depth = scene.border_depth - config.bulge * (scene.max_depth - scene.min_depth) * inside
    return depth.clamp(scene.min_depth, scene.max_depth)


def template_l1(depth: torch.Tensor, template: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between canonical depths ``(B, S, S)`` and ``template (S, S)``, border excluded."""
    return (depth_interior(depth) - depth_interior(template)).abs().mean()

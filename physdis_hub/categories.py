"""Category profiles as data: what differs between faces, cars and cats, stated once.

A :class:`CategoryProfile` holds the settings Unsup3d and the PDR paper train a category with
(scene ranges, whether the confidence network is used, the loss weights, the batch size) and the
data set the paper trains it on. The model (:meth:`PhysDisModel.for_category`), the training
presets and the converter of official checkpoints read them from :data:`CATEGORIES`; a new
category is one new entry there.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, get_args

from .config import LossConfig, ModelConfig, NetConfig, SceneConfig
from .errors import lookup

Widths = Literal["paper", "cpu"]
"""Network width presets: ``"paper"`` (the paper's, 256-d features) or ``"cpu"`` (nf 16, 128-d)."""

WIDTHS: dict[str, NetConfig] = {
    "paper": NetConfig(),
    "cpu": NetConfig(depth_nf=16, albedo_nf=16, light_nf=16, view_nf=16, conf_nf=16, zdim=128, conf_zdim=64),
}
"""Network widths by :data:`Widths` name (``use_conf`` comes from the category)."""


@dataclass(frozen=True)
class CategoryProfile:
    """How one object category is modelled and trained (Unsup3d's and the paper's settings)."""

    name: str
    """Category name, as in :attr:`ModelConfig.category`."""
    scene: SceneConfig
    """Scene ranges the networks decode into."""
    use_conf: bool
    """Whether the confidence network is used (off: the losses use unit confidence)."""
    loss: LossConfig
    """The paper's loss weights (``lam_perc`` included: it needs VGG16 weights to train)."""
    batch_size: int
    """The paper's training batch size."""
    dataset: str = ""
    """Registry name of the real data set the paper trains on (:func:`physdis_hub.data.load_dataset`);
    empty when no loader for it ships here."""
    dataset_options: tuple[tuple[str, Any], ...] = ()
    """Options the paper's split of :attr:`dataset` needs (pairs, so the profile stays hashable)."""
    training_data: str = ""
    """What the real data set is, for model cards."""
    data_license: str = "other"
    """Licence id of weights trained on the real data set (its terms)."""
    data_source: str = ""
    """Where to get the real data set and under what terms (shown when it is missing)."""
    align_faces: bool = False
    """Whether photographs are searched for faces and cropped as Unsup3d's demo does (human faces)."""

    def __post_init__(self) -> None:
        if not isinstance(self.batch_size, int) or self.batch_size <= 0:
            raise ValueError(f"CategoryProfile.batch_size: expected a positive int, got {self.batch_size!r}")

    def model_config(self, widths: Widths = "paper", **changes: Any) -> ModelConfig:
        """The :class:`ModelConfig` of an untrained model of this category.

        Args:
            widths: ``"paper"`` or ``"cpu"`` (see :data:`WIDTHS`).
            **changes: other :class:`ModelConfig` fields (e.g. ``variant``, ``loss``).
        """
        if widths not in WIDTHS:
            raise ValueError(f"widths: expected one of {list(get_args(Widths))}, got {widths!r}")
        nets = dataclasses.replace(WIDTHS[widths], use_conf=self.use_conf)
        fields = {"nets": nets, "scene": self.scene, "loss": self.loss, "category": self.name, **changes}
        return ModelConfig(**fields)


_FACES_LOSS = LossConfig(lam_flip=0.5, lam_perc=1.0)

CATEGORIES: dict[str, CategoryProfile] = {
    p.name: p
    for p in (
        CategoryProfile(
            name="faces",
            scene=SceneConfig(),
            use_conf=True,
            loss=_FACES_LOSS,
            batch_size=64,
            dataset="utkface",
            dataset_options=(("split_seed", 0),),
            training_data="UTKFace (aligned & cropped faces)",
            data_source=(
                "download UTKFace (the 'Aligned&Cropped Faces' archive, https://susanqq.github.io/UTKFace/; "
                "non-commercial research use), unpack it"
            ),
            align_faces=True,
        ),
        CategoryProfile(
            name="cars",
            scene=SceneConfig(border_depth=1.08, diff_range=(0.5, 1.0)),
            use_conf=False,
            loss=LossConfig(lam_flip=1.0, lam_perc=0.01, lam_depth_smooth=0.1),
            batch_size=256,
            dataset="syncar",
            training_data="ShapeNet cars rendered by unsup3d (syncar)",
            data_source=(
                "download ShapeNet syncar with unsup3d's script (https://github.com/elliottwu/unsup3d: "
                "`sh data/download_syncar.sh`; ShapeNet terms apply)"
            ),
        ),
        CategoryProfile(
            name="cat",
            scene=SceneConfig(z_translation_range=0.1),
            use_conf=True,
            loss=_FACES_LOSS,
            batch_size=64,
            training_data="Cat Head Dataset + Oxford-IIIT Pet (Unsup3d's cat_combined)",
        ),
    )
}
"""Every category profile by name: faces and cars (the paper's), cat (Unsup3d's cat faces)."""


def get_category(name: str) -> CategoryProfile:
    """The profile of category ``name``.

    Raises:
        UnknownNameError: naming close matches and the known categories.
    """
    return lookup(CATEGORIES, name, what="category")

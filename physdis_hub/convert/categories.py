"""How each official model was trained, as data: its category profile (scene ranges, confidence
network, loss weights), training data, where the released file comes from and what inputs it expects.

The scene ranges, confidence network and loss weights are those of the training configurations
(Unsup3d ``experiments/train_*.yml``; PDR ``experiments/train_{utkface,syncar}.yml``) with the code
defaults they leave unset (Unsup3d ``unsup3d/model.py``); they are the category profiles of
:mod:`physdis_hub.categories` (faces, cars, cat), stated there once. The border depth is the test
configurations' (:attr:`OfficialCategory.scene`), and the depth border and normals follow the
official code (see ``docs/official-parity.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..categories import CATEGORIES
from ..config import LossConfig, SceneConfig

UNSUP3D_REPO = "https://github.com/elliottwu/unsup3d"
UNSUP3D_DATA_URL = "https://www.robots.ox.ac.uk/~vgg/research/unsup3d/data"
PDR_REPO = "https://github.com/tzofi/physically-disentangled-representations"


@dataclass(frozen=True)
class OfficialCategory:
    """One category of official checkpoints."""

    name: str
    """Name on the command line (``--category``)."""
    category: str
    """Its profile in :data:`physdis_hub.categories.CATEGORIES`, and :attr:`ModelConfig.category` of
    the converted model."""
    training_config: str
    """The official training configuration these settings come from (path in its repository)."""
    training_data: str
    """Data set the weights were trained on."""
    inputs: str
    """What an input image must look like: the training data's crop and how to prepare photos."""
    released: str = ""
    """Released file (``pretrained_<name>/checkpointNNN.pth``, unpacked from
    ``pretrained_<name>.zip``, which Unsup3d's ``pretrained/download_pretrained_<name>.sh``
    downloads); empty when the authors released no weights."""

    @property
    def scene(self) -> SceneConfig:
        """Scene ranges of the official test configuration: the training's ranges, the depth border
        on the left and right columns only (``border_edges="left-right"``, as both code bases'
        ``model.py``), and :func:`official_border_depth` (the cars were trained with 1.08)."""
        trained = CATEGORIES[self.category].scene
        return trained.replace(border_depth=official_border_depth(trained), border_edges="left-right")

    @property
    def use_conf(self) -> bool:
        """Whether the training used the confidence network (``netC`` is in the checkpoint)."""
        return CATEGORIES[self.category].use_conf

    @property
    def loss(self) -> LossConfig:
        """Loss weights of the training (``lam_perc``, ``lam_flip``, ``lam_depth_sm``)."""
        return CATEGORIES[self.category].loss


def official_border_depth(scene: SceneConfig) -> float:
    """Border depth of the official test configurations: none of them sets ``border_depth``
    (Unsup3d ``experiments/test_*.yml``, PDR ``experiments/test_{utkface,syncar}.yml``), so it is
    ``model.py``'s default ``0.7 * max_depth + 0.3 * min_depth`` (1.04), the value behind the
    papers' test numbers. Unsup3d's demo uses 1.05 (``demo/demo.py``), its cars training 1.08."""
    return 0.7 * scene.max_depth + 0.3 * scene.min_depth


_FACE_DEMO = (
    "For other photos of human faces, Unsup3d's demo (demo/demo.py, --detect_human_face) detects the "
    "largest face with MTCNN, takes a square crop of side 1.1 x the mean of the box's width and height "
    "around the box centre moved down by 0.15 x half that side (edges replicated where the crop leaves "
    "the image), then resizes it to 64x64 (to 128x128 first when both sides exceed 256). "
    "`model.extract` / `model.decompose` only resize (config `resize: stretch`), so crop photos this way first."
)

_CARS_INPUTS = (
    "Renderings of ShapeNet cars seen from above, cropped to rows 8-107 and columns 14-113 "
    "(crop [8, 14, 100, 100]) and resized to 64x64."
)

UNSUP3D_CATEGORIES: dict[str, OfficialCategory] = {
    "celeba": OfficialCategory(
        name="celeba",
        category="faces",
        training_config="experiments/train_celeba.yml",
        training_data="CelebA",
        inputs=(
            "CelebA faces cropped by Unsup3d's data/celeba_crop.py (its boxes in celeba_crop_bbox.txt, "
            "edges replicated), resized to 64x64. " + _FACE_DEMO
        ),
        released="pretrained_celeba/checkpoint030.pth",
    ),
    "synface": OfficialCategory(
        name="synface",
        category="faces",
        training_config="experiments/train_synface.yml",
        training_data="Unsup3d synthetic faces (Basel Face Model)",
        inputs="Synthetic face renderings, centre-cropped to 170x170 and resized to 64x64. " + _FACE_DEMO,
        released="pretrained_synface/checkpoint030.pth",
    ),
    "cat": OfficialCategory(
        name="cat",
        category="cat",
        training_config="experiments/train_cat.yml",
        training_data="Cat Head Dataset + Oxford-IIIT Pet (Unsup3d's cat_combined)",
        inputs=(
            "Cat faces as in Unsup3d's data/download_cat.sh, centre-cropped to 170x170 and resized to "
            "64x64. The demo has no cat detector: crop cat faces yourself."
        ),
        released="pretrained_cat/checkpoint100.pth",
    ),
    "syncar": OfficialCategory(
        name="syncar",
        category="cars",
        training_config="experiments/train_syncar.yml",
        training_data="Unsup3d synthetic cars (ShapeNet)",
        inputs=_CARS_INPUTS,
        released="pretrained_syncar/checkpoint100.pth",
    ),
}
"""Unsup3d's four released models, by ``--category``."""

PDR_CATEGORIES: dict[str, OfficialCategory] = {
    "faces": OfficialCategory(
        name="faces",
        category="faces",
        training_config="experiments/train_utkface.yml",
        training_data="UTKFace",
        inputs="UTKFace aligned and cropped faces, resized to 64x64. " + _FACE_DEMO,
    ),
    "cars": OfficialCategory(
        name="cars",
        category="cars",
        training_config="experiments/train_syncar.yml",
        training_data="Unsup3d synthetic cars (ShapeNet)",
        inputs=_CARS_INPUTS,
    ),
}
"""The PDR code's two training configurations, by ``--category`` (no weights were released)."""

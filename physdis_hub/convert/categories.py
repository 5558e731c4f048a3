"""How each official model was trained, as data: scene ranges, confidence network, loss weights,
training data, where the released file comes from and what inputs it expects.

Values are those of the training configurations (Unsup3d ``experiments/train_*.yml``; PDR
``experiments/train_{utkface,syncar}.yml``) with the code defaults they leave unset (Unsup3d
``unsup3d/model.py``): depth in [0.9, 1.1], border depth ``0.7 * max + 0.3 * min`` unless set,
ambient and diffuse light in [0, 1] unless set, rotation about ``(0, 0, 1.0)``, fov 10 degrees.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
    """:attr:`ModelConfig.category` of the converted model."""
    training_config: str
    """The official training configuration these settings come from (path in its repository)."""
    scene: SceneConfig
    """Scene ranges the networks were trained with."""
    use_conf: bool
    """Whether the training used the confidence network (``netC`` is in the checkpoint)."""
    loss: LossConfig
    """Loss weights of the training (``lam_perc``, ``lam_flip``, ``lam_depth_sm``)."""
    training_data: str
    """Data set the weights were trained on."""
    inputs: str
    """What an input image must look like: the training data's crop and how to prepare photos."""
    released: str = ""
    """Released file (``pretrained_<name>/checkpointNNN.pth``, unpacked from
    ``pretrained_<name>.zip``, which Unsup3d's ``pretrained/download_pretrained_<name>.sh``
    downloads); empty when the authors released no weights."""


_FACE_DEMO = (
    "For other photos of human faces, Unsup3d's demo (demo/demo.py, --detect_human_face) detects the "
    "largest face with MTCNN, takes a square crop of side 1.1 x the mean of the box's width and height "
    "around the box centre moved down by 0.15 x half that side (edges replicated where the crop leaves "
    "the image), then resizes it to 64x64 (to 128x128 first when both sides exceed 256). "
    "`model.extract` / `model.decompose` only resize (config `resize: stretch`), so crop photos this way first."
)

_UNSUP3D_SCENE = SceneConfig(
    min_depth=0.9, max_depth=1.1, border_depth=0.7 * 1.1 + 0.3 * 0.9, amb_range=(0.0, 1.0), diff_range=(0.0, 1.0),
    rot_range_deg=60.0, xy_translation_range=0.1, z_translation_range=0.0, rot_center_depth=1.0, fov_deg=10.0,
)  # fmt: skip
_CARS_SCENE = SceneConfig(
    min_depth=0.9, max_depth=1.1, border_depth=1.08, amb_range=(0.0, 1.0), diff_range=(0.5, 1.0),
    rot_range_deg=60.0, xy_translation_range=0.1, z_translation_range=0.0, rot_center_depth=1.0, fov_deg=10.0,
)  # fmt: skip
_FACES_LOSS = LossConfig(lam_flip=0.5, lam_perc=1.0, lam_depth_smooth=0.0)
_CARS_LOSS = LossConfig(lam_flip=1.0, lam_perc=0.01, lam_depth_smooth=0.1)
_CARS_INPUTS = (
    "Renderings of ShapeNet cars seen from above, cropped to rows 8-107 and columns 14-113 "
    "(crop [8, 14, 100, 100]) and resized to 64x64."
)

UNSUP3D_CATEGORIES: dict[str, OfficialCategory] = {
    "celeba": OfficialCategory(
        name="celeba",
        category="faces",
        training_config="experiments/train_celeba.yml",
        scene=_UNSUP3D_SCENE,
        use_conf=True,
        loss=_FACES_LOSS,
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
        scene=_UNSUP3D_SCENE,
        use_conf=True,
        loss=_FACES_LOSS,
        training_data="Unsup3d synthetic faces (Basel Face Model)",
        inputs="Synthetic face renderings, centre-cropped to 170x170 and resized to 64x64. " + _FACE_DEMO,
        released="pretrained_synface/checkpoint030.pth",
    ),
    "cat": OfficialCategory(
        name="cat",
        category="cats",
        training_config="experiments/train_cat.yml",
        scene=replace(_UNSUP3D_SCENE, z_translation_range=0.1),
        use_conf=True,
        loss=_FACES_LOSS,
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
        scene=_CARS_SCENE,
        use_conf=False,
        loss=_CARS_LOSS,
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
        scene=_UNSUP3D_SCENE,
        use_conf=True,
        loss=_FACES_LOSS,
        training_data="UTKFace",
        inputs="UTKFace aligned and cropped faces, resized to 64x64. " + _FACE_DEMO,
    ),
    "cars": OfficialCategory(
        name="cars",
        category="cars",
        training_config="experiments/train_syncar.yml",
        scene=_CARS_SCENE,
        use_conf=False,
        loss=_CARS_LOSS,
        training_data="Unsup3d synthetic cars (ShapeNet)",
        inputs=_CARS_INPUTS,
    ),
}
"""The PDR code's two training configurations, by ``--category`` (no weights were released)."""

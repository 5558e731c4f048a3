"""Real-photo check: the jitter is seeded, in range and label-aligned; the score separates a feature
that ignores the jitter from one that does not; the LFW crops load from scikit-image."""

import numpy as np
import pytest
import torch

from training.analysis.real_photos import FACES, jittered_copies, jittered_draws, lfw_faces, real_photo_scores


def _photos(n: int = 6) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.rand(n, 1, 25, 25, generator=g)


def test_copies_are_seeded_in_range_and_labelled_copy_major() -> None:
    images, photo = jittered_copies(_photos(), 3, size=32, seed=4)
    assert images.shape == (18, 3, 32, 32) and photo.tolist() == list(range(6)) * 3
    assert float(images.min()) >= 0 and float(images.max()) <= 1
    again, _ = jittered_copies(_photos(), 3, size=32, seed=4)
    other, _ = jittered_copies(_photos(), 3, size=32, seed=5)
    assert torch.equal(images, again) and not torch.equal(images, other)
    assert not torch.allclose(images[0], images[6], atol=1e-3)  # two copies of one photo differ


def test_grayscale_and_rgb_inputs_and_bad_arguments() -> None:
    rgb, _ = jittered_copies(_photos().expand(-1, 3, -1, -1), 2, size=16)
    assert rgb.shape == (12, 3, 16, 16)
    with pytest.raises(ValueError, match="photos"):
        jittered_copies(torch.rand(2, 2, 8, 8), 2)
    with pytest.raises(ValueError, match="copies"):
        jittered_copies(_photos(), 1)


def test_score_separates_an_invariant_feature_from_noise() -> None:
    draws = jittered_draws(_photos(8), 4, (0, 1, 2), size=32)
    photo = draws[0][1]
    assert all(np.array_equal(p, photo) for _, p in draws) and not torch.equal(draws[0][0], draws[1][0])
    oracle = lambda x: np.eye(8, dtype=np.float32)[photo] + 0.01 * np.random.default_rng(0).normal(size=(len(x), 8))
    noise_rng = np.random.default_rng(0)
    noise = lambda x: noise_rng.normal(size=(len(x), 8)).astype(np.float32)
    good, bad = real_photo_scores(oracle, draws), real_photo_scores(noise, draws)
    assert good["real_photo_acc"] == pytest.approx(1.0) and good["real_photo_nmi"] == pytest.approx(1.0)
    assert good["real_photo_acc_sd"] == pytest.approx(0.0)
    assert bad["real_photo_acc"] < 0.6 and bad["real_photo_acc_sd"] > 0  # fresh noise per draw scores differently
    with pytest.raises(ValueError, match="draws"):
        real_photo_scores(oracle, [])
    with pytest.raises(ValueError, match="seeds"):
        jittered_draws(_photos(), 2, ())


def test_lfw_faces_load_from_scikit_image() -> None:
    pytest.importorskip("skimage")
    faces = lfw_faces()
    assert faces.shape == (FACES, 1, 25, 25) and faces.dtype == torch.float32
    assert 0 <= float(faces.min()) and float(faces.max()) <= 1 and float(faces.std()) > 0.1

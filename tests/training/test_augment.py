import pytest
import torch

from training.augment import PHOTO_LIKE, AugmentConfig, augment, gaussian_blur, jpeg_round_trip


def _images(n: int = 6) -> torch.Tensor:
    return torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(0))


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_off_by_default_and_identity_when_off() -> None:
    x = _images()
    assert not AugmentConfig().enabled and PHOTO_LIKE.enabled
    assert torch.equal(augment(x, AugmentConfig(), _gen()), x)


def test_each_augmentation_does_what_it_says() -> None:
    x = _images()
    gray = augment(x, AugmentConfig(p_gray=1.0), _gen())
    assert torch.allclose(gray[:, 0], gray[:, 1]) and torch.allclose(gray[:, 1], gray[:, 2])
    cast = augment(x, AugmentConfig(p_color_cast=1.0, color_gain=(1.5, 1.5)), _gen())
    assert torch.allclose(cast, (x * 1.5).clamp(0, 1))
    noisy = augment(x, AugmentConfig(p_noise=1.0, noise_sigma=(0.02, 0.02)), _gen())
    assert 0.01 < float((noisy - x).std()) < 0.03
    jpeg = augment(x, AugmentConfig(p_jpeg=1.0, jpeg_quality=(30, 30)), _gen())
    assert 0 < float((jpeg - x).abs().mean()) < 0.3
    assert torch.equal(jpeg[0], jpeg_round_trip(x[0], 30))


def test_blur_keeps_constants_and_smooths() -> None:
    flat = torch.full((2, 3, 16, 16), 0.4)
    assert torch.allclose(gaussian_blur(flat, torch.tensor([0.5, 1.5])), flat, atol=1e-6)
    x = _images(2)
    blurred = gaussian_blur(x, torch.tensor([1.0, 2.0]))
    high = lambda im: (im[..., 1:] - im[..., :-1]).abs().mean(dim=(1, 2, 3))  # noqa: E731
    assert (high(blurred) < high(x) / 2).all() and high(blurred)[1] < high(blurred)[0]
    # a per-image sigma: the first image blurred alone matches its row of the batch (up to the kernel's
    # truncation, which follows the batch's largest sigma)
    assert torch.allclose(gaussian_blur(x[:1], torch.tensor([1.0])), blurred[:1], atol=1e-2)


def test_draws_are_seeded_and_probabilities_respected() -> None:
    x = _images(200)
    a, b = augment(x, PHOTO_LIKE, _gen(1)), augment(x, PHOTO_LIKE, _gen(1))
    assert torch.equal(a, b) and not torch.equal(a, augment(x, PHOTO_LIKE, _gen(2)))
    gray = augment(x, AugmentConfig(p_gray=0.25), _gen(3))
    frac = float(((gray[:, 0] - gray[:, 1]).abs().amax(dim=(1, 2)) < 1e-6).float().mean())
    assert 0.12 < frac < 0.4
    assert a.min() >= 0 and a.max() <= 1


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="p_gray"):
        AugmentConfig(p_gray=1.5)
    with pytest.raises(ValueError, match="blur_sigma"):
        AugmentConfig(blur_sigma=(2.0, 1.0))
    with pytest.raises(ValueError, match="jpeg_quality"):
        AugmentConfig(jpeg_quality=(30, 120))
    with pytest.raises(ValueError, match=r"images: expected \(B, 3, H, W\)"):
        augment(torch.rand(3, 8, 8), PHOTO_LIKE, _gen())


def test_horizontal_flip_and_draws_of_settings_without_it() -> None:
    x = _images(200)
    flipped = augment(x, AugmentConfig(p_hflip=1.0), _gen())
    assert torch.equal(flipped, x.flip(3))
    some = augment(x, AugmentConfig(p_hflip=0.5), _gen(4))
    is_flipped = (some == x.flip(3)).flatten(1).all(1)
    assert torch.equal(is_flipped | (some == x).flatten(1).all(1), torch.ones(200, dtype=torch.bool))
    assert 0.35 < float(is_flipped.float().mean()) < 0.65

    # a setting without flips draws exactly the numbers it drew before the flip existed
    def replay(generator: torch.Generator, flips: bool) -> torch.Tensor:
        b = x.shape[0]  # cast, gains, gray, blur, sigma, noisy, noise sd, noise, jpeg, quality (, flip)
        for size in (b, 3 * b, b, b, b, b, b, None, b, b, *([b] if flips else [])):
            torch.rand(size, generator=generator) if size else torch.randn(x.shape, generator=generator)
        return generator.get_state()

    for config, flips in ((PHOTO_LIKE, False), (AugmentConfig(p_gray=0.3, p_hflip=0.5), True)):
        g = _gen(5)
        augment(x, config, g)
        assert torch.equal(g.get_state(), replay(_gen(5), flips))

"""normals_from_depth: the contiguous cross product gives the same normals and gradients bit for bit."""

from __future__ import annotations

import torch

from physdis_hub.render.camera import Camera, normals_from_depth


def test_normals_equal_the_cross_of_the_strided_differences_to_rounding() -> None:
    camera = Camera(16, 10.0)
    depth = (1 + 0.1 * torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(0))).requires_grad_()
    grad = torch.randn(3, 16, 16, 3, generator=torch.Generator().manual_seed(1))

    pts = camera.unproject(depth)  # the reference: torch.cross straight on the strided slices
    n = torch.cross(pts[:, 1:-1, 2:] - pts[:, 1:-1, :-2], pts[:, 2:, 1:-1] - pts[:, :-2, 1:-1], dim=-1)
    n = torch.nn.functional.pad(n.permute(0, 3, 1, 2), (1, 1, 1, 1), mode="replicate").permute(0, 2, 3, 1)
    reference = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    (ref_grad,) = torch.autograd.grad(reference, depth, grad)

    normals = normals_from_depth(camera, depth)
    (got_grad,) = torch.autograd.grad(normals, depth, grad)
    # components by hand against torch.cross: float32 rounding apart (fused multiply-adds)
    assert torch.allclose(normals, reference, rtol=0, atol=1e-6)
    assert torch.allclose(got_grad, ref_grad, rtol=1e-5, atol=1e-5 * ref_grad.abs().max().item())
    assert torch.allclose(normals.norm(dim=-1), torch.ones(3, 16, 16))

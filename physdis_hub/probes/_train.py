"""The training loop shared by the linear and segmentation probes."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import InputError
from ._checks import check_positive_int


def fit(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    loss_fn: nn.Module,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
    weight_decay: float = 0.0,
) -> list[float]:
    """Adam on the trainable parameters over shuffled minibatches (order seeded by ``seed``).

    Args:
        model: maps ``inputs[idx]`` to predictions that ``loss_fn`` compares with ``targets[idx]``.
        inputs: ``(N, ...)``, moved to the model's device batch by batch.
        targets: ``(N, ...)``.

    Returns:
        The mean training loss of each epoch.
    """
    epochs = check_positive_int("epochs", epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    if not lr > 0:
        raise InputError(f"lr: expected a positive learning rate, got {lr!r}")
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    model.train()
    history = []
    for _ in range(epochs):
        total = 0.0
        for idx in torch.randperm(len(inputs), generator=generator).split(batch_size):
            loss = loss_fn(model(inputs[idx].to(device)), targets[idx].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        history.append(total / len(inputs))
    return history

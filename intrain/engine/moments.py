"""On-device reductions the probe runs per layer and parameter (torch): the inputs of
:mod:`intrain.core.trainability`'s numpy score."""

from __future__ import annotations

import torch


def covariance_traces(acts: torch.Tensor) -> torch.Tensor:
    """(tr C, tr C^2, D) of the channel covariance of ``acts`` as a float64 tensor of 3.

    ``acts`` is (N, C, H, W) (reshaped to (N*H*W, C)) or (N, C). Centred, divided by the
    number of rows. Stays on the device: no host sync, so many layers can be batched.
    """
    if acts.dim() == 4 and acts.is_contiguous():
        # NCHW: the Gram matrix as a sum of per-sample (C, HW) products, no transposed copy
        blocks = acts.detach().reshape(acts.shape[0], acts.shape[1], -1).float()
        m = blocks.shape[0] * blocks.shape[2]
        mean = (blocks.sum(dim=(0, 2)) / m).unsqueeze(0)
        gram = torch.bmm(blocks, blocks.transpose(1, 2)).sum(0) / m
    else:
        if acts.dim() == 4:
            # (N, H, W, C) rows: a free view for channels-last tensors
            rows = acts.detach().permute(0, 2, 3, 1).reshape(-1, acts.shape[1])
        elif acts.dim() == 2:
            rows = acts.detach()
        else:
            raise ValueError(f"activations must be 2-D or 4-D, got shape {tuple(acts.shape)}")
        rows = rows.float()
        m = rows.shape[0]
        mean = rows.mean(dim=0, keepdim=True)
        gram = rows.t() @ rows / m
    cov = (gram - mean.t() @ mean).double()
    tr = torch.diagonal(cov).sum()
    tr_sq = (cov * cov).sum()  # tr(C^2) = ||C||_F^2 for symmetric C
    dim = torch.tensor(float(cov.shape[0]), dtype=torch.float64, device=cov.device)
    return torch.stack([tr, tr_sq, dim])


def grad_moments(grad: torch.Tensor) -> torch.Tensor:
    """(std, max|g|) of a gradient tensor (population std), on its device."""
    g = grad.detach().reshape(-1).double()
    return torch.stack([g.std(correction=0), g.abs().max()])

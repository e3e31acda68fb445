"""On-device reductions the probe runs per layer and parameter (torch): the inputs of
`intrain.core.trainability`'s numpy score.

A layer's output is read as *rows* (samples) of *channels*. Which dimension holds the channels
depends on the layer, not on the tensor's rank (docs/layers.md): a convolution or BatchNorm puts
them at dimension 1 ((N, C), (N, C, L), (N, C, H, W)); a Linear or LayerNorm acts on the last
dimension, so its channels are last whatever comes before ((N, C), tokens (N, T, C),
sequence-first (T, N, C), channels-last maps (N, H, W, C)). Every other dimension (batch,
positions, tokens) becomes rows: the covariance is over N·H·W rows for maps and N·T rows for
tokens, and does not depend on whether the batch or the sequence comes first.
"""

from __future__ import annotations

import torch

__all__ = ["GRAM_SIDE_CHANNELS", "covariance_traces", "grad_moments", "rows_of", "samples_first"]


def samples_first(acts: torch.Tensor, batch: int) -> torch.Tensor:
    """``acts`` with its batch dimension first: sequence-first outputs (T, N, C) become (N, T, C).

    The batch is dimension 0 when its size is ``batch`` (the usual layout, also when T == N),
    else dimension 1 when that one has the batch's size; otherwise ``acts`` as it is.

    Examples:
        >>> samples_first(torch.zeros(7, 2, 5), batch=2).shape
        torch.Size([2, 7, 5])
    """
    if acts.dim() >= 2 and acts.shape[0] != batch and acts.shape[1] == batch:
        return acts.transpose(0, 1)
    return acts


def rows_of(acts: torch.Tensor, channel_dim: int = 1) -> torch.Tensor:
    """``acts`` as a (rows, channels) matrix, channels taken from ``channel_dim``.

    Examples:
        >>> rows_of(torch.zeros(2, 5, 7), channel_dim=-1).shape  # tokens: N*T rows of C
        torch.Size([10, 7])
        >>> rows_of(torch.zeros(2, 3, 4, 4)).shape  # maps: N*H*W rows of C
        torch.Size([32, 3])
    """
    if acts.dim() < 2:
        raise ValueError(f"activations need a batch and a channel dimension, got shape {tuple(acts.shape)}")
    return acts.movedim(channel_dim, -1).reshape(-1, acts.shape[channel_dim])


#: Above this many channels, and with fewer rows than channels, the traces come from the rows'
#: (m x m) Gram matrix instead of the (C x C) covariance: a 100,000-class head would need 80 GB.
GRAM_SIDE_CHANNELS = 4096


def covariance_traces(acts: torch.Tensor, channel_dim: int = 1, row_side: bool | None = None) -> torch.Tensor:
    """(tr C, tr C^2, D) of the channel covariance of ``acts`` as a float64 tensor of 3.

    ``acts`` is any tensor of rank >= 2 whose channels lie along ``channel_dim`` (see the module
    docstring); every other dimension is rows. Centred, divided by the number of rows. Stays on
    the device: no host sync, so many layers can be batched.

    With m rows and D channels, C = X^T X / m for the centred rows X, and tr C^2 = ||X X^T||_F^2 / m^2:
    when m < D the (m x m) side is the smaller product and is used for feature maps (a Zen-NAS
    head of 2048 channels at 2x2 on 64 images: 256 rows) and for any tensor with D >
    `GRAM_SIDE_CHANNELS` (a wide classifier head on a small batch), so memory and time grow
    with D, not D^2. Plain (rows, D) outputs below that keep the (D x D) side, whose float32
    rounding stored NB201/NB101 scores carry. ``row_side`` forces either path; both agree to
    float32 rounding (tests/test_score_hostile.py), and the row side holds for any magnitude
    float32 can store (tests/test_moments_scale.py).

    Limitation: the (D x D) and NCHW paths form the uncentred float32 product X^T X and subtract
    the mean's outer product, so they lose precision when a channel's mean dwarfs its spread
    (mean/std ~ 1e3 leaves few correct digits of its variance); normalised layers (BatchNorm,
    LayerNorm outputs, the layers the stored scores come from) are unaffected. Centring first
    would change every stored score's last bits, so it is left as it is.

    A contiguous NCHW map with at most H*W channels sums per-sample (C, HW) products (no
    transposed copy; the (N, C, C) products are no larger than the map); a wider one (a Zen-NAS
    body at 4x4) is one (C x m) @ (m x C) product instead, since the per-sample products would
    write N*C^2 floats (up to ~10x slower on one CPU thread).

    Examples:
        >>> [round(v, 4) for v in covariance_traces(torch.eye(3)).tolist()]  # 3 rows of 3 channels
        [0.6667, 0.2222, 3.0]
    """
    d = acts.shape[channel_dim]
    fewer_rows = acts.numel() // d < d if d else False
    if row_side is None:
        row_side = fewer_rows and (d > GRAM_SIDE_CHANNELS or acts.dim() == 4)
    nchw = channel_dim in (1, 1 - acts.dim()) and acts.dim() == 4 and acts.is_contiguous()
    if not row_side and nchw and d <= acts.shape[2] * acts.shape[3]:
        # NCHW: the Gram matrix as a sum of per-sample (C, HW) products, no transposed copy
        blocks = acts.detach().reshape(acts.shape[0], acts.shape[1], -1).float()
        m = blocks.shape[0] * blocks.shape[2]
        mean = (blocks.sum(dim=(0, 2)) / m).unsqueeze(0)
        gram = torch.bmm(blocks, blocks.transpose(1, 2)).sum(0) / m
    else:
        if acts.dim() == 4 and channel_dim in (1, -3):
            # (N, H, W, C) rows: a free view for channels-last tensors
            rows = acts.detach().permute(0, 2, 3, 1).reshape(-1, acts.shape[1])
        elif acts.dim() == 2:
            rows = acts.detach()
        else:
            rows = rows_of(acts.detach(), channel_dim)
        rows = rows.float()
        m = rows.shape[0]
        mean = rows.mean(dim=0, keepdim=True)
        if row_side:
            centred = rows - mean
            # (m, m): same nonzero spectrum as the covariance; a float32 product and float64
            # reductions, as on the (D x D) side (a float64 product takes ~2x as long on one CPU thread).
            # The map is first scaled by a power of two to max |x| in [0.5, 1) (exact: it moves the
            # exponent only) so the float32 products neither overflow (|x| ~ 1e19) nor underflow
            # (|x| ~ 1e-23); the scale comes back in float64. Still on the device, no host sync.
            _, exponent = torch.frexp(centred.abs().amax())
            scaled = torch.ldexp(centred, -exponent)
            back = torch.ldexp(torch.ones((), dtype=torch.float64, device=rows.device), 2 * exponent)
            outer = (scaled @ scaled.t()).double() * back / m
            dim = torch.tensor(float(d), dtype=torch.float64, device=rows.device)
            return torch.stack([torch.diagonal(outer).sum(), (outer * outer).sum(), dim])
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

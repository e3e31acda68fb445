"""The baseline proxies' reductions as pure functions of tensors a pass produced.

Kept apart from the passes (which run networks) so each formula is tested on hand-computed
inputs. References (definitions only; see ``../shared/notes/proxies.md``): zero-cost-nas
(grad_norm, snip, grasp, synflow, jacov), NASWOT, Zen-NAS, ZiCo, TE-NAS, AZ-NAS, VKDNW,
GradAlign and Label-Gradient Alignment.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence

import torch


def naswot_score(kernel: torch.Tensor) -> float:
    """log|det K| of the binary-code Hamming-agreement kernel (NASWOT).

    ``kernel[i, j]`` counts the ReLUs on which samples i and j agree (both active or both
    inactive). Identical codes make K singular: -inf, which ranks last.
    """
    sign, logdet = torch.linalg.slogdet(kernel.double())
    return float(logdet) if float(sign) > 0 else float("-inf")


def relu_agreement(codes: torch.Tensor) -> torch.Tensor:
    """K += c c^T + (1-c)(1-c)^T for one ReLU's (B, n) 0/1 codes."""
    c = codes.float()
    return c @ c.t() + (1.0 - c) @ (1.0 - c).t()


def jacov_score(jacobian: torch.Tensor, k: float = 1e-5) -> float:
    """-sum(log(v + k) + 1/(v + k)) over eigenvalues v of corrcoef of per-sample input Jacobians.

    Each term is largest at v = 1, so the score peaks (at -B(1 + O(k))) when the Jacobians are
    uncorrelated (corrcoef = I); correlated Jacobians push eigenvalues towards 0, where 1/(v+k)
    dominates and the score falls.
    """
    j = jacobian.reshape(jacobian.shape[0], -1).double()
    corr = torch.corrcoef(j)
    if not torch.isfinite(corr).all():
        return float("nan")
    v = torch.linalg.eigvalsh(corr)
    if float(v[0]) <= singular_threshold(
        j.shape[0], jacobian.dtype
    ):  # a zero eigenvalue: 1/k, not the network, would be scored
        return float("nan")
    return float(-(torch.log(v + k) + 1.0 / (v + k)).sum())


def singular_threshold(rows: int, dtype: torch.dtype = torch.float32) -> float:
    """The eigenvalue of a (B, B) correlation or cosine matrix of B ``rows`` computed in
    ``dtype`` below which it counts as zero: B rounding units of that precision (the largest
    eigenvalue is at most B). A matrix singular in exact arithmetic (rows made linearly dependent by the network,
    e.g. a BatchNorm1d that centres the batch) keeps such a rounding-sized eigenvalue in floating
    point; formulas that add a small epsilon would then score the epsilon, not the network."""
    return rows * torch.finfo(dtype if dtype.is_floating_point else torch.float32).eps


def zico_score(grads_by_layer: Sequence[torch.Tensor]) -> float:
    """sum_l log( sum_{sigma != 0} mean|g| / std(g) ) over per-batch gradients of each layer.

    ``grads_by_layer[l]`` is (n_batches, n_weights). Population std (ddof 0), as the reference's
    ``np.std``. A layer whose ratio sum is 0 contributes nothing.
    """
    total = 0.0
    for g in grads_by_layer:
        g = g.double()
        std = g.std(dim=0, correction=0)
        mean_abs = g.abs().mean(dim=0)
        keep = std != 0
        s = float((mean_abs[keep] / std[keep]).sum())
        if s != 0.0:
            total += math.log(s)
    return total


def condition_number(gram: torch.Tensor) -> float:
    """lambda_max / lambda_min of a symmetric PSD matrix (TE-NAS's NTK condition number): inf
    where it is singular to float64 precision (ranks last; `TeNas.sentinels`), NaN where the
    matrix is not finite."""
    g = gram.double()
    if not torch.isfinite(g).all():
        return float("nan")
    v = torch.linalg.eigvalsh(g)
    # singular to float64 precision (the Gram of the stored gradients is float64): no finite value
    singular = float(v[0]) <= singular_threshold(g.shape[0], g.dtype) * max(float(v[-1]), 0.0)
    return float("inf") if singular else float(v[-1] / v[0])


def condition_number_reference(gram: torch.Tensor) -> float:
    """TE-NAS's condition number as its AZ-NAS/VKDNW ports compute it: ``eigh`` in the kernel's own
    precision (float32 there), lambda_max / lambda_min as they come out (a rounding-negative
    lambda_min gives a negative ratio), NaN replaced by 1e5 and ±inf by ±the largest float, as
    ``np.nan_to_num(..., nan=100000.0)`` does.

    Examples:
        >>> condition_number_reference(torch.diag(torch.tensor([1.0, 4.0])))
        4.0
        >>> condition_number_reference(torch.zeros(2, 2))
        100000.0
    """
    v = torch.linalg.eigvalsh(gram)
    ratio = float(v[-1] / v[0])
    if math.isnan(ratio):
        return 100000.0
    return math.copysign(sys.float_info.max, ratio) if math.isinf(ratio) else ratio


def gram_cosine(gram: torch.Tensor) -> torch.Tensor:
    """The Gram matrix of the normalised vectors, from the Gram matrix of the vectors."""
    g = gram.double()
    d = torch.sqrt(torch.clamp(torch.diagonal(g), min=0.0))
    d = torch.where(d > 0, d, torch.ones_like(d))
    return g / d[:, None] / d[None, :]


def gradalign_alignment(gram: torch.Tensor) -> float:
    """GradAlign variant (i): mean_b cos(g_b, mean gradient), from the per-sample Gram matrix.

    1 when all per-sample gradients point the same way; near 0 for mutually orthogonal ones,
    lower still when they conflict. <g_b, g_bar> = (G 1)_b / B and |g_bar|^2 = 1'G1 / B^2.
    """
    g = gram.double()
    b = g.shape[0]
    row = g.sum(dim=1) / b
    mean_sq = g.sum() / (b * b)
    norms = torch.sqrt(torch.clamp(torch.diagonal(g), min=0.0))
    denom = norms * torch.sqrt(torch.clamp(mean_sq, min=0.0))
    if float(mean_sq) <= 0 or bool((norms == 0).any()):
        return float("nan")
    return float((row / denom).mean())


def gradalign_gram_logdet(gram: torch.Tensor, eps: float = 1e-8) -> float:
    """GradAlign variant (ii): log det of the cosine Gram matrix of per-sample gradients.

    The determinant is 1 for mutually orthogonal per-sample gradients (every sample's loss can
    be lowered without raising another's) and tends to 0 as gradients become redundant or
    conflicting. GradAlign publishes no code; the literal "Gram determinant" is scored, on the
    log scale (docs/protocols.md, records that the negated reading ranked inversely).
    """
    c = gram_cosine(gram)
    # singular (zero or linearly dependent per-sample gradients; the Gram of the stored vectors is
    # float64, so an exact dependence leaves a float64-rounding eigenvalue): log det would be B log(eps)
    if not torch.isfinite(c).all() or float(torch.linalg.eigvalsh(c)[0]) <= singular_threshold(c.shape[0], c.dtype):
        return float("nan")
    c = c + eps * torch.eye(c.shape[0], dtype=c.dtype, device=c.device)
    sign, logdet = torch.linalg.slogdet(c)
    return float(logdet) if float(sign) > 0 else float("nan")


def label_gradient_alignment(ntk: torch.Tensor, labels: torch.Tensor) -> float:
    """Centred kernel alignment <Θc, Yc>_F / (|Θc| |Yc|) with Y_ij = +1 (same label) or -1."""
    t = ntk.double()
    y = labels.reshape(-1, 1)
    agree = (y == y.t()).double() * 2.0 - 1.0
    b = t.shape[0]
    h = torch.eye(b, dtype=torch.float64, device=t.device) - 1.0 / b
    tc, yc = h @ t @ h, h @ agree @ h
    denom = torch.linalg.norm(tc) * torch.linalg.norm(yc)
    return float((tc * yc).sum() / denom) if float(denom) > 0 else float("nan")


def spectral_entropy(cov: torch.Tensor) -> float:
    """Shannon entropy of a covariance matrix's normalised eigenvalues (AZ-NAS expressivity)."""
    s = torch.linalg.eigvalsh(cov.double())
    total = s.sum()
    if float(total) <= 0:
        return 0.0
    p = s / total
    return float((-p * torch.log(p + 1e-8)).sum())


def az_trainability_term(g_in: torch.Tensor, g_out: torch.Tensor) -> float:
    """-s - 1/s + 2 for s the top singular value of g_in^T g_out / rows (0 when s = 1).

    ``g_in`` and ``g_out`` are (rows, c_in) and (rows, c_out): the backpropagated and the
    injected gradient of a block. A block that neither amplifies nor attenuates scores 0.
    """
    mat = g_in.double().t() @ g_out.double() / g_in.shape[0]
    s = float(torch.linalg.svdvals(mat).max())
    return -s - 1.0 / (s + 1e-6) + 2.0


def decile_entropy(eigenvalues: torch.Tensor) -> float:
    """Entropy of the normalised 10%..90% quantiles of a spectrum (VKDNW)."""
    lam = eigenvalues.double().clamp(min=0.0)
    q = torch.quantile(lam, torch.arange(1, 10, dtype=torch.float64, device=lam.device) / 10.0)
    total = q.sum()
    if float(total) <= 0:
        return 0.0
    p = q / total
    p = p[p > 0]
    return float(-(p * torch.log(p)).sum())


def categorical_fisher(jacobian: torch.Tensor, logits: torch.Tensor, smoothing: float = 0.05) -> torch.Tensor:
    """mean_b J_b^T (diag p_b - p_b p_b^T) J_b: the Fisher information of a softmax output.

    ``jacobian`` is (B, K, P) d logits / d theta, ``logits`` (B, K). p is the softmax mixed
    with the uniform distribution (``smoothing``), as in VKDNW, which keeps F well conditioned.
    """
    k = logits.shape[1]
    p = torch.softmax(logits.double(), dim=1) * (1.0 - smoothing) + smoothing / k
    cov = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]
    j = jacobian.double()
    return torch.einsum("bkp,bkl,blq->pq", j, cov, j) / j.shape[0]

"""Activation-pattern proxies read during the probe pass: NASWOT (ReLU codes) and jacov (input Jacobian)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from intrain.proxies import formulas
from intrain.proxies.base import Collector, Proxy, output, register, register_collector

if TYPE_CHECKING:
    from intrain.engine.probe import ProbeResult


@register_collector
class ReluKernel(Collector):
    """NASWOT's binary-code agreement kernel summed over every ReLU (forward hooks)."""

    name = "relu_kernel"
    description = "NASWOT's binary-code agreement kernel over every ReLU (forward hooks)"

    def __init__(self, model: nn.Module):
        super().__init__(model)
        self.kernel: torch.Tensor | None = None
        self.handles = [m.register_forward_hook(self._hook) for m in model.modules() if isinstance(m, nn.ReLU)]

    def _hook(self, module: nn.Module, inputs, out) -> None:
        codes = (inputs[0].detach() > 0).reshape(inputs[0].shape[0], -1)
        k = formulas.relu_agreement(codes)
        if self.kernel is None:
            self.kernel = k
        else:
            self.kernel += k

    def result(self) -> torch.Tensor | None:
        return self.kernel


@register_collector
class InputJacobian(Collector):
    """Per-sample gradient of sum(logits) w.r.t. the input (one extra backward in the probe pass)."""

    name = "input_jacobian"
    description = "per-sample gradient of sum(logits) w.r.t. the input (one extra backward)"

    def prepare_input(self, x: torch.Tensor) -> torch.Tensor:
        return x.detach().clone().requires_grad_(True)

    def after_forward(self, x: torch.Tensor, logits: torch.Tensor) -> None:
        # Rows are per-sample: d sum_k logits[b, k] / d x_b (samples interact only through BN).
        self.jacobian = torch.autograd.grad(logits.sum(), x, retain_graph=True)[0].detach()

    def result(self) -> torch.Tensor:
        return self.jacobian


@register
class Jacov(Proxy):
    """Eigenvalue score of the correlation of per-sample input Jacobians (Mellor et al. v1)."""

    name = "jacov"
    reference_init = "kaiming"  # AZ-NAS/VKDNW NB201 ports re-init before scoring
    needs = frozenset({"input_jacobian"})
    reference_input = "real"

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        return {"score": formulas.jacov_score(output(probe, "input_jacobian"))}


@register
class Naswot(Proxy):
    """log|K| of the ReLU binary-code agreement kernel (NASWOT)."""

    name = "naswot"
    reference_init = "kaiming"  # AZ-NAS/VKDNW NB201 ports re-init before scoring
    needs = frozenset({"relu_kernel"})
    reference_input = "gaussian"  # the VKDNW run (the published number) fed it noise, not images

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        k: Any = output(probe, "relu_kernel")
        return {"score": float("nan") if k is None else formulas.naswot_score(k)}

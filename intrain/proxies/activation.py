"""Activation-pattern proxies read during the probe pass: NASWOT (nonlinearity codes) and jacov
(input Jacobian). Layouts and layer types: docs/layers.md."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from intrain.engine.counting import is_nonlinearity
from intrain.engine.moments import samples_first
from intrain.proxies import formulas
from intrain.proxies.base import Collector, Proxy, Undefined, float_inputs, output, register, register_collector

if TYPE_CHECKING:
    from intrain.engine.probe import ProbeResult


@register_collector
class ReluKernel(Collector):
    """NASWOT's binary-code agreement kernel summed over every nonlinearity call (forward hooks).

    A sample's code at one call is the sign of the nonlinearity's input (pre-activation), every
    unit of it: channels x positions of a map, tokens x channels of a sequence. ReLU, GELU,
    SiLU, Hardswish... (`is_nonlinearity`) all give f(x) > 0 exactly
    where x > 0, so the code is the same region indicator whichever the network uses.
    """

    name = "relu_kernel"
    description = "NASWOT's binary-code agreement kernel over every ReLU-like nonlinearity (forward hooks)"

    def __init__(self, model: nn.Module):
        super().__init__(model)
        self.kernel: torch.Tensor | None = None
        self.batch = 0
        self.finite: list[torch.Tensor] = []  # per call, on the device: no host sync per layer
        self.handles = [m.register_forward_hook(self._hook) for m in model.modules() if is_nonlinearity(m)]

    def prepare_input(self, x: torch.Tensor) -> torch.Tensor:
        self.batch = x.shape[0]
        return x

    def _hook(self, module: nn.Module, inputs, out) -> None:
        if not (inputs and isinstance(inputs[0], torch.Tensor)) or inputs[0].dim() < 2:
            return
        pre = samples_first(inputs[0].detach(), self.batch or inputs[0].shape[0])
        if pre.shape[0] != (self.batch or pre.shape[0]):
            return  # not a per-sample activation (no dimension of the batch's size)
        self.finite.append(torch.isfinite(pre).all())
        codes = (pre > 0).reshape(pre.shape[0], -1)
        k = formulas.relu_agreement(codes)
        if self.kernel is None:
            self.kernel = k
        else:
            self.kernel += k

    def result(self) -> torch.Tensor:
        if self.kernel is None:
            raise Undefined(
                "naswot: no nonlinearity module ran (ReLU, GELU, SiLU, Hardswish, ...); activations "
                "called as functions (F.relu) cannot be hooked, so there are no codes to compare"
            )
        if not bool(torch.stack(self.finite).all()):
            raise Undefined("naswot: a pre-activation was NaN or infinite, so its sign (the code) is undefined")
        return self.kernel


@register_collector
class InputJacobian(Collector):
    """Per-sample gradient of sum(logits) w.r.t. the input (one extra backward in the probe pass)."""

    name = "input_jacobian"
    description = "per-sample gradient of sum(logits) w.r.t. the input (one extra backward)"

    def prepare_input(self, x: torch.Tensor) -> torch.Tensor:
        self.integer: Undefined | None = None
        try:
            float_inputs(x, "jacov (the gradient of the logits w.r.t. the input)")
        except Undefined as e:  # the probe runs on; jacov alone is undefined
            self.integer = e
            return x
        return x.detach().clone().requires_grad_(True)

    def after_forward(self, x: torch.Tensor, logits: torch.Tensor) -> None:
        if self.integer is not None:
            return
        # Rows are per-sample: d sum_k logits[b, k] / d x_b (samples interact only through BN).
        self.jacobian = torch.autograd.grad(logits.sum(), x, retain_graph=True)[0].detach()

    def result(self) -> torch.Tensor:
        if self.integer is not None:
            raise self.integer
        return self.jacobian


@register
class Jacov(Proxy):
    """Eigenvalue score of the correlation of per-sample input Jacobians (Mellor et al. v1).

    Reference: [Mellor et al., 2020][ref-jacov] on the references page.
    """

    name = "jacov"
    reference_init = "kaiming"  # AZ-NAS/VKDNW NB201 ports re-init before scoring
    needs = frozenset({"input_jacobian"})
    reference_input = "real"

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        value = formulas.jacov_score(output(probe, "input_jacobian"))
        if value != value:
            raise Undefined(
                "jacov: the per-sample input Jacobians have no correlation matrix (a constant or "
                "non-finite Jacobian row: the logits do not depend on that sample's input, or overflowed) "
                "or a singular one (linearly dependent Jacobians, e.g. behind a BatchNorm1d that centres "
                "the batch, or a linear network): the 1/(v + 1e-5) term of a zero eigenvalue would score "
                "the epsilon, not the network"
            )
        return {"score": value}


@register
class Naswot(Proxy):
    """log|K| of the binary-code agreement kernel of every ReLU-like nonlinearity (NASWOT).

    Reference: [Mellor et al., ICML 2021][ref-naswot] on the references page.

    Reads the input of every ReLU, ReLU6, LeakyReLU, GELU, SiLU, Hardswish, Mish, ELU module
    (and other libraries' classes of those names), any layout; -inf when two samples share a
    code (singular K); NaN with `UNDEFINED` when the network has
    no such module or a pre-activation is not finite.
    """

    name = "naswot"
    reference_init = "kaiming"  # AZ-NAS/VKDNW NB201 ports re-init before scoring
    needs = frozenset({"relu_kernel"})
    reference_input = "gaussian"  # the VKDNW run (the published number) fed it noise, not images

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        k: Any = output(probe, "relu_kernel")
        return {"score": formulas.naswot_score(k)}

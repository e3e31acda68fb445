"""What every proxy family builds on: the Proxy class, the pass and collector registries, helpers.

A proxy reads what the scorer computed once per network:

- the InTrain probe (`intrain.engine.probe.run_probe`): one train-mode forward + backward with a
  cross-entropy loss, giving per-layer activation covariance traces and per-parameter gradient
  moments;
- *collectors*: side statistics gathered during that same probe pass (hooks, an extra
  backward), registered with [`register_collector`][intrain.engine.passes.register_collector];
- *passes*: separate runs on a fresh copy of the network (another init, modified weights,
  other inputs), registered with [`register_pass`][intrain.engine.passes.register_pass].

A proxy lists what it reads in ``needs``; the scorer runs the union of all requested proxies'
needs, each once. Each built-in proxy family lives in one module of this package (its class, its
pass or collector; the pure math is in `intrain.proxies.formulas`). A plugin proxy is the same: a
``Proxy`` subclass in any module, optionally with its own pass or collector.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from intrain.core.names import check_proxy_name
from intrain.core.ranking import PopulationRule

if TYPE_CHECKING:
    from intrain.engine.probe import ProbeResult

# A proxy author's toolkit in one import: the Proxy class here, the engine's registries and helpers.
from intrain.engine.counting import WEIGHTED, count_macs, hooked
from intrain.engine.passes import (
    COLLECTORS,
    OPTIONS,
    PASSES,
    Collector,
    Option,
    PassContext,
    Undefined,
    check_options,
    check_plain_weights,
    count_params,
    float_inputs,
    gaussian_init,
    kaiming_fanin_init,
    parametrized_weights,
    register_collector,
    register_option,
    register_pass,
    seeded_generator,
    weighted_modules,
)

__all__ = [
    "COLLECTORS",
    "OPTIONS",
    "PASSES",
    "REGISTRY",
    "WEIGHTED",
    "Collector",
    "Option",
    "PassContext",
    "Proxy",
    "Undefined",
    "check_options",
    "check_plain_weights",
    "count_macs",
    "count_params",
    "float_inputs",
    "gaussian_init",
    "hooked",
    "kaiming_fanin_init",
    "output",
    "parametrized_weights",
    "register",
    "register_collector",
    "register_option",
    "register_pass",
    "seeded_generator",
    "weighted_modules",
]


# ----------------------------------------------------------------------------- proxies


class Proxy:
    """A zero-cost proxy: reduces what the scorer computed for one network to named scalars.

    Subclass it, set ``name`` and ``needs``, and either set ``score_from = (need, key)`` (the
    score is that value of a pass's or collector's output) or override `compute`.
    """

    name: ClassVar[str]
    #: True where a larger score predicts a better architecture.
    higher_is_better: ClassVar[bool] = True
    #: Probe collectors and passes this proxy reads (see module docstring).
    needs: ClassVar[frozenset[str]] = frozenset()
    #: Names of the values `compute` returns (stored as /proxy/<name>/<component>).
    components: ClassVar[tuple[str, ...]] = ("score",)
    #: What the published number's run fed the network: "gaussian" or "real" images
    #: (docs/protocols.md). Under ``protocol: reference`` a "real" proxy is scored on the real-image
    #: stand-in (``scoring.data``, else the bundled photographs) and a "gaussian" one on noise.
    reference_input: ClassVar[str] = "gaussian"
    version: ClassVar[int] = 1
    #: True where the value is computed from the cross-entropy loss or its gradients: such a proxy
    #: is NaN (flagged, with a reason) whenever the probe's loss is not finite.
    reads_loss: ClassVar[bool] = False
    #: component -> why it is ±inf: a documented rank-last value in the workflow's artifacts, which
    #: [`intrain.score`][intrain.scoring.api.score] reports as NaN with `UNDEFINED` and this reason.
    sentinels: ClassVar[dict[str, str]] = {}
    #: The module types whose outputs or weights the proxy reads (None: the network as a whole);
    #: weight-holding modules of other types are named in ``Result.coverage``.
    layer_types: ClassVar[tuple[type, ...] | None] = None
    #: True where the proxy reads a computed weight (weight_norm, spectral_norm, a user's
    #: parametrization: `parametrized_weights`) through its trainable leaves, as it reads a plain
    #: weight (the per-sample kernels of TE-NAS, GradAlign, LGA). False: a proxy with
    #: ``layer_types`` that meets such a weight without a reason of its own is flagged `PARTIAL`
    #: and ``Result.coverage`` names the layers it did not read.
    reads_parametrized: ClassVar[bool] = False
    #: (need, key): the score is that value of a pass's output, as is (``need`` joins ``needs``);
    #: None: the class overrides `compute`.
    score_from: ClassVar[tuple[str, str] | None] = None
    #: Set for proxies whose score ranks each network within a population (TE-NAS, AZ-NAS):
    #: the components are stored per network and combined at analysis time by this rule.
    population: ClassVar[PopulationRule | None] = None
    #: Under ``protocol: reference``, the initialisation the published code applies before scoring:
    #: "kaiming" (Kaiming-normal fan-in conv/linear, BN 1/0, as AZ-NAS's and VKDNW's NB201 ports
    #: call it) or None (the network as built).
    reference_init: ClassVar[str | None] = None
    #: Under ``protocol: reference``, (need, key) of the published definition where it differs
    #: from ``score_from`` (``need`` joins ``reference_needs``).
    reference_from: ClassVar[tuple[str, str] | None] = None
    #: Under ``protocol: reference``, what the proxy reads instead of ``needs`` (None: ``needs``),
    #: for a published definition computed by other passes (TE-NAS's train-mode NTK).
    reference_needs: ClassVar[frozenset[str] | None] = None
    #: "uniform" or "reference"; the scorer sets it on its instances.
    protocol: str = "uniform"

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        if self.score_from is None:
            raise NotImplementedError(f"proxy {self.name!r} defines neither compute nor score_from")
        need, key = self.score_from
        if self.protocol == "reference" and self.reference_from is not None:
            need, key = self.reference_from
        return {"score": output(probe, need)[key]}

    @property
    def active_needs(self) -> frozenset[str]:
        """The passes and collectors this instance reads under its protocol (the scorer runs these)."""
        if self.protocol == "reference" and self.reference_needs is not None:
            return self.reference_needs
        return self.needs

    @classmethod
    def population_score(cls, components: Mapping[str, np.ndarray]) -> np.ndarray | None:
        """The score of every architecture from all architectures' components, or None."""
        return None if cls.population is None else cls.population.combine(components)


REGISTRY: dict[str, type[Proxy]] = {}


def register(cls: type[Proxy]) -> type[Proxy]:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"proxy class {cls.__qualname__} needs a `name` that is an identifier, got {name!r}")
    check_proxy_name(name, f"proxy class {cls.__qualname__}")  # pattern, length, reserved columns (one list)
    if name in REGISTRY and REGISTRY[name] is not cls:
        raise ValueError(f"proxy {name!r} registered twice ({REGISTRY[name].__module__} and {cls.__module__})")
    if cls.score_from is not None:
        cls.needs = cls.needs | {cls.score_from[0]}
    if cls.reference_from is not None and cls.reference_needs is None:
        # the reference definition replaces score_from's pass (when it is another one), not joins it
        replaced = {cls.score_from[0]} - {cls.reference_from[0]} if cls.score_from is not None else set()
        cls.reference_needs = (cls.needs - replaced) | {cls.reference_from[0]}
    if cls.reference_input not in ("gaussian", "real"):
        raise ValueError(f"proxy {name!r}: reference_input must be 'gaussian' or 'real', got {cls.reference_input!r}")
    if cls.reference_init not in (None, "kaiming"):
        raise ValueError(f"proxy {name!r}: reference_init must be None or 'kaiming', got {cls.reference_init!r}")
    if cls.population is not None and cls.components != cls.population.components:
        raise ValueError(
            f"proxy {name!r}: population components {cls.population.components} "
            f"differ from its components {cls.components}"
        )
    REGISTRY[name] = cls
    return cls


def output(probe: ProbeResult, need: str) -> Any:
    """What the pass or collector ``need`` produced for this network.

    Raises [`Undefined`][intrain.engine.passes.Undefined] (the proxy's score becomes NaN with that reason) where ``need`` was
    undefined on this network.
    """
    try:
        value = probe.outputs[need]
    except KeyError:
        raise RuntimeError(f"the scorer did not run {need!r}; a proxy must declare it in `needs`") from None
    if isinstance(value, Undefined):
        raise Undefined(str(value))
    return value

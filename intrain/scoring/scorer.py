"""Score architectures: seeded synthetic batch, network build, one probe pass, proxy reductions.

Determinism: the synthetic batch depends only on (seed, dataset, batch size, resolution), and
every network is initialised right after ``torch.manual_seed(seed)`` on the CPU, then moved to
the device. A score therefore depends on the architecture and settings, never on which shard or
worker computed it, so shards can be re-run, re-split or merged freely.
"""

from __future__ import annotations

import logging
import math
import random
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, cast

import numpy as np
import torch

from intrain.core.errors import InputError
from intrain.core.flags import Flag
from intrain.core.records import MORE_BATCH_SEED, ArchRecord, ScoreSettings
from intrain.engine.counting import coverage_note
from intrain.engine.device import resolve_device
from intrain.engine.functional import out_of_memory
from intrain.engine.inputs import describe_input, gaussian_batch, image_batch, is_natural, natural_batch, natural_names
from intrain.engine.probe import ProbeResult, run_probe, run_probe_shared, unread_weights
from intrain.proxies import check_proxy_names, get_proxy
from intrain.proxies.base import (
    COLLECTORS,
    PASSES,
    PassContext,
    Proxy,
    Undefined,
    check_options,
    count_params,
    kaiming_fanin_init,
    seeded_generator,
)
from intrain.spaces import get_space

log = logging.getLogger(__name__)


def synthetic_batch(
    settings: ScoreSettings, num_classes: int, resolution: int, device: torch.device, dataset: str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The scoring batch: seeded Gaussian noise, seeded real images when ``settings.data`` names a
    file, or seeded crops of bundled photographs (``natural``, normalised for ``dataset``)."""
    if settings.data is None:
        x, y = gaussian_batch(settings.batch_size, num_classes, resolution, settings.seed)
    elif is_natural(settings.data):
        if dataset is None:
            raise ValueError("natural input is normalised with the dataset's mean/std: pass dataset")
        x, y = natural_batch(
            settings.batch_size, num_classes, resolution, settings.seed, dataset, natural_names(settings.data)
        )
    else:
        x, y = image_batch(settings.data, settings.batch_size, num_classes, resolution, settings.seed)
    return x.to(device), y.to(device)


def plan(proxies: Iterable[Proxy]) -> tuple[frozenset[str], tuple[str, ...]]:
    """(probe collectors, separate passes) that serve every proxy, each named once."""
    needs = set().union(*(p.active_needs for p in proxies)) if proxies else set()
    unknown = needs - set(COLLECTORS) - set(PASSES)
    if unknown:
        raise ValueError(f"proxies need unknown passes {sorted(unknown)}")
    return frozenset(needs & set(COLLECTORS)), tuple(sorted(needs & set(PASSES)))


def evaluate(
    build: Callable[[], torch.nn.Module],
    x: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
    proxies: Sequence[Proxy],
    *,
    layers: str = "conv",
    params: str = "all",
    seed: int = 0,
    options: dict[str, Any] | None = None,
    device: torch.device | None = None,
    more: Callable[[int], tuple[torch.Tensor, torch.Tensor]] | None = None,
    isolate: bool = False,
) -> tuple[ProbeResult, dict[str, dict[str, float]]]:
    """Score one network with every proxy: the probe pass with its collectors, each separate pass
    once, then each proxy's reduction. ``build()`` must return a fresh network each call (the
    probe trains it one step in place; passes re-initialise or modify their own copies).

    ``isolate=True`` (``intrain.score`` on a user's network) turns an exception raised by a
    pass's or a proxy's own computation into NaN for the proxies concerned, with `UNDEFINED`
    and a reason naming the exception, so one proxy that cannot run on an unusual network does
    not abort the others. An [`InputError`][intrain.core.errors.InputError] is still raised.
    The workflow keeps ``isolate=False``: on benchmark spaces such an exception is a bug to see,
    not a NaN to store.
    """
    with warnings.catch_warnings():
        # torch.func's note that a layer has no batching rule (PReLU, ...): internal, and under a
        # caller's simplefilter("error") it would turn a working kernel pass into its slower loop
        warnings.filterwarnings("ignore", message="There is a performance drop because we have not yet implemented")
        return _evaluate(build, x, y, num_classes, proxies, layers, params, seed, options, device, more, isolate)


def _evaluate(
    build: Callable[[], torch.nn.Module],
    x: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
    proxies: Sequence[Proxy],
    layers: str,
    params: str,
    seed: int,
    options: dict[str, Any] | None,
    device: torch.device | None,
    more: Callable[[int], tuple[torch.Tensor, torch.Tensor]] | None,
    isolate: bool,
) -> tuple[ProbeResult, dict[str, dict[str, float]]]:
    collectors, passes = plan(proxies)
    with _seeded(seed, device):
        model = build()
        probe = run_probe(model, x, y, layers=layers, params=params, collect=collectors)
    probe.extras["params"] = float(count_params(model, trainable_only=False))  # frozen ones too: the model's size
    for proxy in proxies:
        if proxy.layer_types is None:
            continue
        notes = [
            note
            for note in (
                coverage_note(model, proxy.layer_types),
                unread_weights(model, proxy.layer_types, proxy.reads_parametrized),
            )
            if note is not None
        ]
        if notes:
            probe.coverage[proxy.name] = f"{proxy.name}: {'; '.join(notes)}"
    del model
    opts = check_options(dict(options or {}))  # a wrong value is refused by name, before any pass runs
    ctx = PassContext(build=build, x=x, y=y, num_classes=num_classes, seed=seed, options=opts, more=more)
    failed: dict[str, str] = {}  # pass -> "ExcType: first line" (isolate=True only)
    for name in passes:
        t0 = time.perf_counter()
        try:
            with _seeded(seed, device):
                probe.outputs[name] = PASSES[name](ctx)
        except Undefined as e:  # the proxies reading it are NaN with this reason
            probe.outputs[name] = e
        except InputError:
            raise
        except Exception as e:
            if not isolate or out_of_memory(e):
                raise
            failed[name] = _exception_line(e)
            probe.outputs[name] = Undefined(failed[name])
        if device is not None and device.type == "cuda":
            torch.cuda.synchronize(device)
        probe.extras[f"cost_{name}"] = time.perf_counter() - t0
    return probe, {p.name: _compute(p, probe, isolate, failed) for p in proxies}


@contextmanager
def _seeded(seed: int, device: torch.device | None) -> Iterator[None]:
    """The global RNGs seeded with ``seed`` inside, restored after: random ops in a network's
    forward (``F.dropout(training=self.training)``, stochastic depth, ``np.random``, Python's
    ``random``) draw the same numbers in every call, so a score is reproducible, and the caller's
    RNG states are left as they were. Only torch's CPU generator and, on CUDA, the one device in
    use are forked and seeded (``torch.manual_seed`` would reseed every GPU's generator)."""
    index = _cuda_index(device)
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[] if index is None else [index]):
            seed_generators(seed, device)
            yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


def _cuda_index(device: torch.device | None) -> int | None:
    if device is None or device.type != "cuda":
        return None
    return device.index if device.index is not None else torch.cuda.current_device()


def seed_generators(seed: int, device: torch.device | None = None) -> None:
    """Seed torch's CPU generator, the generator of ``device`` when it is a GPU (that one only),
    numpy's global and Python's ``random`` with ``seed``: what a network's forward may draw from."""
    torch.default_generator.manual_seed(seed)
    index = _cuda_index(device)
    if index is not None:
        with torch.cuda.device(index):
            torch.cuda.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


def _exception_line(e: BaseException) -> str:
    """``"ExcType: first line of its message"`` (at most 300 characters)."""
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0][:300]}" if text else type(e).__name__


def _could_not(proxy: Proxy, probe: ProbeResult, detail: str) -> dict[str, float]:
    probe.reasons[proxy.name] = f"{proxy.name} could not be computed on this network: {detail}"
    probe.flags = int(Flag(probe.flags) | Flag.UNDEFINED)
    return {c: float("nan") for c in proxy.components}


def _compute(
    proxy: Proxy, probe: ProbeResult, isolate: bool = False, failed: dict[str, str] | None = None
) -> dict[str, float]:
    """The proxy's components, or NaN for each with the reason and `Flag.UNDEFINED` set.

    A proxy that reads the cross-entropy loss or its gradients (``Proxy.reads_loss``) is NaN
    whenever that loss is not finite: its value would describe NaN gradients, not the network.
    """
    if proxy.reads_loss and not math.isfinite(probe.loss):
        probe.reasons[proxy.name] = (
            f"{proxy.name} reads gradients of the cross-entropy loss, which is {probe.loss} on the scoring "
            "batch (non-finite logits or activations)"
        )
        probe.flags = int(Flag(probe.flags) | Flag.UNDEFINED | Flag.NONFINITE)
        return {c: float("nan") for c in proxy.components}
    broken = sorted(set(proxy.active_needs) & set(failed or {}))
    if broken:  # a pass it reads raised (isolate=True)
        return _could_not(proxy, probe, (failed or {})[broken[0]])
    try:
        return proxy.compute(probe)
    except Undefined as e:
        probe.reasons[proxy.name] = str(e)
        probe.flags = int(Flag(probe.flags) | Flag.UNDEFINED)
        return {c: float("nan") for c in proxy.components}
    except InputError:
        raise
    except Exception as e:
        if not isolate or out_of_memory(e):
            raise
        return _could_not(proxy, probe, _exception_line(e))


class Scorer:
    """Scores architectures of one (space, dataset) under fixed settings."""

    def __init__(self, space: str, dataset: str, settings: ScoreSettings, device: str = "auto"):
        check_proxy_names(settings.proxies)  # unknown names and broken plugins fail here, in words
        self.space = get_space(space)
        self.spec = self.space.dataset(dataset)
        self.dataset = dataset
        self.settings = settings
        self.device = resolve_device(device)
        self.resolution = settings.resolution or self.spec.resolution
        self.proxies = [get_proxy(p) for p in settings.proxies]
        for p in self.proxies:
            p.protocol = settings.protocol
        self.collectors, self.passes = plan(self.proxies)
        from intrain.scoring.resources import Estimate, check_fits

        check_fits(
            Estimate(settings.batch_size * 3 * self.resolution**2 * 4, 0, 0),
            self.device,
            f"the {settings.batch_size}-image scoring batch at side {self.resolution}",
        )
        self._batches: dict[tuple[str | None, int], tuple[torch.Tensor, torch.Tensor]] = {}
        self.x, self.y = self.batch(settings.data)
        #: (init, input, proxies) scored on one network and batch each: one group under the uniform
        #: protocol; under the reference protocol one per (reference init, reference input), the
        #: as-built Gaussian group first.
        self.groups: list[tuple[str | None, str | None, list[Proxy]]] = [(None, settings.data, self.proxies)]
        if settings.protocol == "reference":
            key_of = {p.name: (p.reference_init, self.data_of(p)) for p in self.proxies}
            keys = sorted(
                set(key_of.values()), key=lambda k: (k[0] is not None, str(k[0]), k[1] is not None, str(k[1]))
            )
            self.groups = [(i, d, [p for p in self.proxies if key_of[p.name] == (i, d)]) for i, d in keys]
        #: Each proxy's input as artifacts record it (``gaussian``, ``natural:<names>:sha256=…``, ``file:…``).
        self.input_of = {p.name: describe_input(self.data_of(p), self.batch(self.data_of(p))[0]) for p in self.proxies}

    def data_of(self, proxy: Proxy) -> str | None:
        """The input a proxy is scored on: ``scoring.data`` under the uniform protocol; under the
        reference protocol Gaussian noise for proxies whose published run used it, and the
        real-image stand-in (``scoring.data``, else the bundled photographs) for the others."""
        if self.settings.protocol != "reference":
            return self.settings.data
        if proxy.reference_input == "gaussian":
            return None
        return self.settings.data if self.settings.data is not None else "natural"

    def batch(self, data: str | None, k: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch ``k`` of input ``data`` (0: the scoring batch; k >= 1: further batches of the same
        kind and size, drawn with another seed, for passes that read more than one)."""
        key = (data, k)
        if key not in self._batches:
            settings = replace(self.settings, data=data, seed=self.settings.seed + MORE_BATCH_SEED * k)
            x, y = synthetic_batch(settings, self.spec.num_classes, self.resolution, self.device, self.dataset)
            if self.settings.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            self._batches[key] = (x, y)
        return self._batches[key]

    def build(self, arch: str, init: str | None = None) -> torch.nn.Module:
        """A freshly initialised network: the same weights for the same (arch, seed, init) every call.

        Under the reference protocol the space's ``reference`` network (where it declares that
        option) and, with ``init="kaiming"``, a seeded Kaiming fan-in re-init on the CPU.
        """
        torch.manual_seed(self.settings.seed)
        options: dict[str, Any] = {"prune": self.settings.prune, "fast_pool": self.settings.fast_pool}
        if self.settings.protocol != "uniform":  # a space without a reference network ignores it
            options["protocol"] = self.settings.protocol
        model = self.space.build(arch, self.dataset, **options)
        if init == "kaiming":
            kaiming_fanin_init(model, seeded_generator(self.settings.seed, 61))
        elif init is not None:
            raise ValueError(f"unknown init {init!r}")
        model = model.to(self.device)
        if self.settings.channels_last:
            # Module.to takes memory_format (documented, and what it does at runtime); its typed overloads omit it
            model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        return model

    def score(self, index: int, arch: str) -> ArchRecord:
        """One architecture's record; out of GPU memory gives a flagged record with NaN scores."""
        start = time.perf_counter()
        try:
            probe, values = None, {}
            for init, data, proxies in self.groups:
                x, y = self.batch(data)
                p, v = evaluate(
                    lambda init=init: self.build(arch, init),  # type: ignore[misc]  # mypy cannot type a lambda with a default (binds the loop's value)
                    x,
                    y,
                    self.spec.num_classes,
                    proxies,
                    layers=self.settings.layers,
                    params=self.settings.params,
                    seed=self.settings.seed,
                    options=self.settings.pass_options(),
                    device=self.device,
                    more=lambda k, data=data: self.batch(data, k),  # type: ignore[misc]  # as above
                )
                values.update(v)
                if probe is None:  # the first group's probe is stored (as built when any proxy needs that)
                    probe = p
                else:
                    for key, cost in p.extras.items():
                        if key.startswith("cost_"):
                            probe.extras[key] = probe.extras.get(key, 0.0) + cost
            values = {q.name: values[q.name] for q in self.proxies}
        except torch.cuda.OutOfMemoryError as e:
            log.warning(
                "architecture %d (%s): out of memory on %s, recorded with NaN scores (%s)",
                index,
                arch,
                self.device,
                str(e).splitlines()[0] if str(e) else "",
            )
            return out_of_memory_record(
                index, arch, self.proxies, self.passes, time.perf_counter() - start, self.device
            )
        # every group stores a probe; None only for a reference-protocol scorer without proxies (no group)
        return ArchRecord(index, arch, cast(ProbeResult, probe), values, time.perf_counter() - start)

    def score_many(self, items: Iterable[tuple[int, str]]) -> Iterator[ArchRecord]:
        for index, arch in items:
            yield self.score(index, arch)


def out_of_memory_record(
    index: int, arch: str, proxies: Sequence[Proxy], passes: Sequence[str], seconds: float, device: torch.device
) -> ArchRecord:
    """The record of an architecture the device had no memory for: no layers, NaN everywhere,
    flags OUT_OF_MEMORY | NONFINITE (so correlations exclude it and count it)."""
    import numpy as np

    if device.type == "cuda":
        torch.cuda.empty_cache()
    nan = float("nan")
    probe = ProbeResult(
        layer_names=[],
        layer_kinds=[],
        layer_shapes=np.zeros((0, 3), np.int32),
        layer_stats=np.zeros((0, 3)),
        param_names=[],
        param_kinds=[],
        param_numel=np.zeros(0, np.int64),
        param_stats=np.zeros((0, 2)),
        loss=nan,
        flags=int(Flag.OUT_OF_MEMORY | Flag.NONFINITE),
        extras={"pass_seconds": nan, "params": nan, **{f"cost_{n}": nan for n in passes}},
    )
    values = {p.name: {c: nan for c in p.components} for p in proxies}
    return ArchRecord(index, arch, probe, values, seconds)


#: The module every space's network ends in; datasets whose networks differ only there share a body.
HEAD = "classifier"


class SharedForwardScorer:
    """Scores each architecture on several datasets with one forward of the shared body.

    For datasets with the same input side (NB201's CIFAR-10 and CIFAR-100) the seeded Gaussian
    batch is the same and the networks differ only in the classifier, so
    `run_probe_shared` runs the body once; the records equal
    `Scorer.score` on each dataset bit for bit. Only proxies served by the InTrain probe
    itself (no side collectors, no separate passes) can share it.
    """

    def __init__(self, space: str, datasets: Sequence[str], settings: ScoreSettings, device: str = "auto"):
        if len(datasets) < 2 or len(set(datasets)) != len(datasets):
            raise InputError(f"a shared forward needs two or more distinct datasets, got {list(datasets)}")
        self.scorers = [Scorer(space, d, settings, device) for d in datasets]
        self.datasets = list(datasets)
        self.settings = settings
        first = self.scorers[0]
        if first.collectors or first.passes:
            raise InputError(
                f"proxies {list(settings.proxies)} need {sorted(first.collectors | set(first.passes))}, "
                "which a shared forward does not run; score these datasets one at a time"
            )
        for s in self.scorers[1:]:
            if s.x.shape != first.x.shape or not torch.equal(s.x, first.x):
                raise InputError(
                    f"datasets {first.dataset!r} and {s.dataset!r} get different input batches "
                    f"({tuple(first.x.shape)} vs {tuple(s.x.shape)}); they cannot share a forward"
                )

    def score(self, index: int, arch: str) -> list[ArchRecord]:
        """One record per dataset, in the order of ``datasets`` (flagged records when out of memory)."""
        start = time.perf_counter()
        try:
            return self._score(index, arch, start)
        except torch.cuda.OutOfMemoryError:
            log.warning("architecture %d (%s): out of memory, recorded with NaN scores", index, arch)
            seconds = time.perf_counter() - start
            return [out_of_memory_record(index, arch, s.proxies, s.passes, seconds, s.device) for s in self.scorers]

    def _score(self, index: int, arch: str, start: float) -> list[ArchRecord]:
        models = [s.build(arch) for s in self.scorers]
        probes = run_probe_shared(
            models,
            self.scorers[0].x,
            [s.y for s in self.scorers],
            head=HEAD,
            layers=self.settings.layers,
            params=self.settings.params,
        )
        for probe, model in zip(probes, models):
            probe.extras["params"] = float(count_params(model, trainable_only=False))
        del models
        records = []
        seconds = (time.perf_counter() - start) / len(probes)
        for s, probe in zip(self.scorers, probes):
            values = {p.name: _compute(p, probe) for p in s.proxies}
            records.append(ArchRecord(index, arch, probe, values, seconds))
        return records

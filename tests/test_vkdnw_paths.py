"""Every VKDNW Jacobian path gives the same values; chunked paths bound what is in flight; OOM is never retried.

Paths (``intrain.proxies.vkdnw.PATHS``): "fast" (module-output cotangents, chunks of classes),
"reverse" (vmap over samples of chunked jacrev), "forward" (vmapped jvps of the whole batch over
chunks of tangents), "forward-loop" (one jvp at a time), "loop" (plain autograd, one sample and
one class at a time: the reference here, since it needs neither vmap nor forward AD).
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from intrain.core.records import ScoreSettings
from intrain.engine import functional
from intrain.proxies import load_all, vkdnw
from intrain.proxies.base import PassContext
from intrain.scoring.scorer import Scorer
from intrain.spaces.nb201.encoding import all_cells

#: Relative tolerance between paths: float32 rounding of differently ordered sums.
REL = 1e-5
#: Jacobian entries, relative to the largest entry.
JAC_REL = 1e-5


def _cells(n: int = 20, seed: int = 7) -> list[str]:
    cells = [c.to_str() for c in all_cells()]
    return [cells[i] for i in np.random.default_rng(seed).choice(len(cells), n, replace=False)]


def _same_order(ref: list[float], new: list[float], rel: float) -> bool:
    scale = max(abs(v) for v in ref) or 1.0
    return all(
        np.sign(new[i] - new[j]) == np.sign(ref[i] - ref[j])
        for i, j in itertools.combinations(range(len(ref)), 2)
        if abs(ref[i] - ref[j]) > rel * scale
    )


@functools.cache
def _nb201_scores(path: str) -> tuple[float, ...]:
    load_all()
    saved = vkdnw.PATH
    vkdnw.PATH = path
    try:
        scorer = Scorer("nb201", "cifar10", ScoreSettings(batch_size=4, resolution=8, proxies=("vkdnw",)), device="cpu")
        return tuple(scorer.score(i, arch).proxies["vkdnw"]["score"] for i, arch in enumerate(_cells()))
    finally:
        vkdnw.PATH = saved


@pytest.mark.slow
@pytest.mark.parametrize("path", ["reverse", "forward", "forward-loop", "loop"])
def test_every_path_scores_20_nb201_cells_like_the_fast_path(path):
    ref = list(_nb201_scores("fast"))
    new = list(_nb201_scores(path))
    assert all(np.isfinite(ref))
    assert new == pytest.approx(ref, rel=REL)
    assert _same_order(ref, new, REL)


class _Attention(nn.Module):
    """Embedding, LayerNorm, single-head attention, GELU, mean pooling: no rule of the fast path."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Linear(4, 8)
        self.ln = nn.LayerNorm(8)
        self.qkv = nn.Linear(8, 24)
        self.out = nn.Linear(8, 8)
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln(self.emb(x))
        q, k, v = self.qkv(h).chunk(3, -1)
        a = torch.softmax(q @ k.transpose(1, 2) / 8**0.5, -1)
        h = h + self.out(a @ v)
        return self.head(nn.functional.gelu(h).mean(1))


class _Gru(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(4, 6, batch_first=True)
        self.fc = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.gru(x)[0][:, -1])


def _models() -> dict[str, tuple[nn.Module, torch.Tensor]]:
    torch.manual_seed(0)
    conv = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(inplace=True),  # rewrites the batch norm's output in place
        nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8),  # depthwise
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 5),
    )
    prelu = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.PReLU(),
        nn.Conv2d(4, 4, 3, groups=4),
        nn.PReLU(4),
        nn.Flatten(),
        nn.Linear(64, 3),
    )
    return {
        "depthwise": (conv, torch.randn(5, 3, 8, 8)),
        "attention": (_Attention(), torch.randn(5, 5, 4)),
        "prelu": (prelu, torch.randn(5, 3, 6, 6)),
        "gru": (_Gru(), torch.randn(5, 5, 4)),
    }


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool((a - b).abs().max() <= JAC_REL * b.abs().max())


@pytest.mark.parametrize("name", ["depthwise", "attention", "prelu", "gru"])
def test_every_path_that_runs_equals_the_loop_and_the_chosen_one_always_runs(name):
    model, x = _models()[name]
    model.eval()
    ref, logits = vkdnw.PATHS["loop"](model, x, 3)
    assert torch.allclose(logits, model(x), rtol=1e-4, atol=1e-6)
    ran = []
    for path, fn in vkdnw.PATHS.items():
        try:
            jac, _ = fn(model, x, logits.shape[1])
        except (functional.Unsupported, RuntimeError) as e:
            assert not functional.out_of_memory(e)
            continue
        ran.append(path)
        assert _close(jac, ref), path
    assert {"forward", "forward-loop", "loop"} <= set(ran)  # tangent vmap handles PReLU and GRU
    if name == "depthwise":
        assert set(ran) == set(vkdnw.PATHS)
    jac, _ = vkdnw.jacobian(model, x, logits.shape[1])
    assert _close(jac, ref)


def test_vmap_refused_everywhere_falls_back_to_the_loops(monkeypatch):
    model, x = _models()["prelu"]
    model.eval()
    ref, _ = vkdnw.PATHS["loop"](model, x, 3)

    def refuse(*args, **kwargs):
        raise RuntimeError("vmap: forced refusal")

    monkeypatch.setattr(functional, "vmap", refuse)
    monkeypatch.setattr(vkdnw, "vmap", refuse)
    seen: list[str] = []
    monkeypatch.setattr(functional, "CHUNK_HOOK", lambda path, n: seen.append(path))
    jac, _ = vkdnw.jacobian(model, x, 3)
    assert _close(jac, ref)
    assert "forward-loop" in seen and "loop-samples" not in seen


def test_out_of_memory_is_raised_never_retried(monkeypatch):
    model, x = _models()["depthwise"]
    model.eval()
    tried: list[str] = []

    def oom(name):
        def run(*args):
            tried.append(name)
            raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: not enough memory")

        return run

    monkeypatch.setattr(vkdnw, "PATHS", {k: oom(k) for k in vkdnw.PATHS})
    with pytest.raises(RuntimeError, match="not enough memory"):
        vkdnw.jacobian(model, x, 5)
    assert tried == ["fast"]


def test_a_path_refusing_for_another_reason_hands_over_with_its_words(monkeypatch):
    model, x = _models()["depthwise"]
    model.eval()

    def refuse(*args):
        raise RuntimeError("nope")

    monkeypatch.setattr(vkdnw, "PATHS", {k: refuse for k in vkdnw.PATHS})
    with pytest.raises(RuntimeError, match="no path computes the Jacobian: fast: RuntimeError: nope"):
        vkdnw.jacobian(model, x, 5)


def test_plan_picks_the_mode_with_fewer_passes():
    assert vkdnw.plan(10, 40)[0] == "fast"
    assert vkdnw.plan(1000, 200)[0] == "forward"
    assert vkdnw.plan(1000, 200)[-1] == "loop" == vkdnw.plan(10, 40)[-1]


@pytest.mark.parametrize("budget_tangents", [1, 3, 1000])
def test_forward_chunks_keep_tangents_in_flight_under_the_budget(budget_tangents, monkeypatch):
    model, x = _models()["attention"]
    model.eval()
    act, _ = functional.activation_bytes(model, x)
    sizes = [p.numel() * p.element_size() for p in model.parameters()]
    budget = budget_tangents * (act + max(sizes))  # room for about budget_tangents tangents
    seen: list[tuple[str, int]] = []
    monkeypatch.setattr(functional, "CHUNK_HOOK", lambda path, n: seen.append((path, n)))
    jac, _ = functional.forward_jacobian(model, x, budget=budget)
    chunks = [n for path, n in seen if path == "forward-tangents"]
    assert sum(chunks) == len(sizes) == jac.shape[-1]
    assert all(n == 1 or n <= budget_tangents for n in chunks)
    if budget_tangents == 1:
        assert chunks == [1] * len(sizes)
    if budget_tangents == 1000:
        assert chunks == [len(sizes)]
    ref, _ = functional.loop_jacobian(model, x)
    assert _close(jac, ref)


@pytest.mark.parametrize("classes", [1, 2, 5])
def test_fast_path_class_chunks_follow_the_budget(classes, monkeypatch):
    model, x = _models()["depthwise"]
    model.eval()
    probe_outputs: list[int] = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: probe_outputs.append(o.numel() * o.element_size()))
        for m in model.modules()
        if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear))
    ]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    per_class = sum(probe_outputs)
    seen: list[tuple[str, int]] = []
    monkeypatch.setattr(functional, "CHUNK_HOOK", lambda path, n: seen.append((path, n)))
    jac, _ = functional.first_entry_jacobian(model, x, budget=classes * per_class)
    chunks = [n for path, n in seen if path == "reverse-classes"]
    assert sum(chunks) == 5 and max(chunks) == classes
    ref, _ = functional.loop_jacobian(model, x)
    assert _close(jac, ref)


def test_reverse_path_bounds_samples_and_classes_by_the_budget(monkeypatch):
    model, x = _models()["depthwise"]
    model.eval()
    seen: list[tuple[str, int]] = []
    monkeypatch.setattr(functional, "CHUNK_HOOK", lambda path, n: seen.append((path, n)))
    act, _ = functional.activation_bytes(model, x)
    per_pair = act // x.shape[0] + sum(p.numel() * p.element_size() for p in model.parameters())
    monkeypatch.setattr(functional, "MEMORY_BUDGET", 2 * per_pair)
    jac, _ = vkdnw.PATHS["reverse"](model, x, 5)
    samples = [n for path, n in seen if path == "reverse-samples"]
    classes = [n for path, n in seen if path == "reverse-classes"]
    assert sum(samples) == 5 and all(s * c <= 2 for s, c in zip(samples, classes))
    ref, _ = functional.loop_jacobian(model, x)
    assert _close(jac, ref)


# --- issue 29: silent wrong values found against an independent float64 reference -----------------

#: Jacobian entries vs the float64 reference, relative to the largest entry (float32 rounding).
REF_REL = 1e-4


class _Cosine(nn.Module):
    """Cosine classifier: the head's weight is used through F.linear, never by calling the Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.c = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 5, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = nn.functional.relu(self.bn(self.c(x)), inplace=True).mean((2, 3))
        return 10 * nn.functional.linear(nn.functional.normalize(h), nn.functional.normalize(self.fc.weight))


class _DoubleUse(nn.Module):
    """A Linear called once whose weight is also used functionally."""

    def __init__(self) -> None:
        super().__init__()
        self.c = nn.Conv2d(3, 8, 3, padding=1)
        self.a = nn.Linear(8, 8)
        self.h = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = nn.functional.relu(self.c(x)).mean((2, 3))
        return self.h(torch.tanh(self.a(h)) + nn.functional.linear(h, self.a.weight).sin())


class _Hooked(nn.Module):
    """A user forward hook doubles the conv's output."""

    def __init__(self) -> None:
        super().__init__()
        self.c = nn.Conv2d(3, 8, 3, padding=1)
        self.h = nn.Linear(8, 5)
        self.c.register_forward_hook(lambda m, i, o: 2.0 * o)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.h(nn.functional.relu(self.c(x)).mean((2, 3)))


class _PreluHead(nn.Module):
    """nn.PReLU between two Linears; batch 5 = 5 classes hides vmap's missing PReLU rule from a shape check."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(6, 8)
        self.p = nn.PReLU()
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.p(self.a(x)))


def _frozen_backbone() -> nn.Module:
    m = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(inplace=True),
        nn.Conv2d(8, 8, 3, stride=2, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 5),
    )
    for layer in list(m)[:5]:
        for p in layer.parameters():
            p.requires_grad_(False)  # only the head trains: no trainable tensor feeds the backbone
    return m


class _MiddleClasses(nn.Module):
    """A conv weight also used outside its module, reaching only the middle logits (not class 0 or K-1)."""

    def __init__(self) -> None:
        super().__init__()
        self.c, self.bn = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.c2, self.h = nn.Conv2d(8, 8, 3, padding=1), nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = F.relu(self.bn(self.c(x)))
        z = self.h(F.relu(self.c2(a)).mean((2, 3)))
        extra = F.conv2d(a, self.c2.weight, padding=1).mean((1, 2, 3))
        return z + extra[:, None] * torch.tensor([0.0, 1.0, 1.0, 1.0, 0.0])


class _LaterSamples(nn.Module):
    """A weight used outside its module whose effect vanishes on sample 0 (a sign gate on the input)."""

    def __init__(self) -> None:
        super().__init__()
        self.c, self.c2, self.h = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1), nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = F.relu(self.c(x))
        z = self.h(F.relu(self.c2(a)).mean((2, 3)))
        gate = (x[:, 0, 0, 0] > 0).float()[:, None]
        return z + gate * F.conv2d(a, self.c2.weight, padding=1).mean((2, 3))[:, :5]


def _gated_input() -> torch.Tensor:
    x = torch.randn(6, 3, 8, 8)
    x[0, 0, 0, 0], x[1:, 0, 0, 0] = -1.0, 1.0
    return x


def _issue29_models() -> dict[str, tuple[nn.Module, torch.Tensor]]:
    torch.manual_seed(1)
    models = {
        "middle_classes_only": (_MiddleClasses(), torch.randn(6, 3, 8, 8)),
        "gate_not_sample0": (_LaterSamples(), _gated_input()),
        "cosine_head": (_Cosine(), torch.randn(6, 3, 8, 8)),
        "double_use": (_DoubleUse(), torch.randn(6, 3, 8, 8)),
        "user_hook_x2": (_Hooked(), torch.randn(6, 3, 8, 8)),
        "prelu_batch_eq_classes": (_PreluHead(), torch.randn(5, 6)),
        "frozen_backbone": (_frozen_backbone(), torch.randn(6, 3, 8, 8)),
    }
    for m, _ in models.values():
        m.eval()
        for bn in m.modules():
            if isinstance(bn, nn.BatchNorm2d):  # non-trivial running statistics
                assert bn.running_mean is not None and bn.running_var is not None
                bn.running_mean.uniform_(-0.5, 0.5)
                bn.running_var.uniform_(0.5, 2)
    return models


def _float64_reference(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """(B, K, T) d logits / d theta_t[0], float64, one sample at a time by autograd.functional.jacobian."""
    import copy

    from torch.func import functional_call

    m = copy.deepcopy(model).double().eval()
    named = dict(m.named_parameters())
    rows = []
    for b in range(x.shape[0]):
        xb = x[b : b + 1].double()

        def f(*ps: torch.Tensor, xb: torch.Tensor = xb) -> torch.Tensor:
            return functional_call(m, dict(zip(named, ps)), (xb,))[0]

        jac = torch.autograd.functional.jacobian(f, tuple(p.detach().clone() for p in named.values()))
        rows.append(torch.stack([j.reshape(j.shape[0], -1)[:, 0] for j in jac], dim=-1))  # (K, T)
    return torch.stack(rows)


def _matches(jac: torch.Tensor, ref: torch.Tensor) -> bool:
    return jac.shape == ref.shape and bool((jac.double() - ref).abs().max() <= REF_REL * ref.abs().max())


ISSUE29 = [
    "cosine_head",
    "double_use",
    "user_hook_x2",
    "prelu_batch_eq_classes",
    "frozen_backbone",
    "middle_classes_only",
    "gate_not_sample0",
]


@pytest.mark.parametrize("name", ISSUE29)
@pytest.mark.parametrize("path", [None, *vkdnw.PATHS])
def test_chosen_and_every_forced_path_equal_a_float64_reference(name, path, monkeypatch):
    model, x = _issue29_models()[name]
    ref = _float64_reference(model, x)
    assert ref[..., :].abs().amax(dim=(0, 1)).min() > 0  # every column is really non-zero
    frozen_before = [p.requires_grad for p in model.parameters()]
    monkeypatch.setattr(vkdnw, "PATH", path)
    try:
        jac, _ = vkdnw.jacobian(model, x, ref.shape[1])
    except RuntimeError as e:  # a forced path may refuse (the spot check or a missing rule), never be wrong
        assert path is not None and "no path computes the Jacobian" in str(e)
        return
    finally:
        assert [p.requires_grad for p in model.parameters()] == frozen_before  # the caller's model is restored
    assert _matches(jac, ref), (path, float((jac.double() - ref).abs().max() / ref.abs().max()))


@pytest.mark.parametrize("name", ["cosine_head", "double_use", "prelu_batch_eq_classes"])
def test_spot_check_rejects_the_batched_paths_known_to_be_wrong(name):
    model, x = _issue29_models()[name]
    wrong = {"cosine_head": "fast", "double_use": "fast", "prelu_batch_eq_classes": "reverse"}[name]
    jac, _ = vkdnw.PATHS[wrong](model, x, 5)  # the raw path runs but is silently wrong ...
    assert not _matches(jac, _float64_reference(model, x))
    with pytest.raises(functional.Unsupported, match="spot check"):  # ... and the guard says so
        functional.spot_check(model, x, jac)


def test_fast_path_sees_a_user_hook_that_rewrites_an_output():
    model, x = _issue29_models()["user_hook_x2"]
    jac, _ = vkdnw.PATHS["fast"](model, x, 5)
    assert _matches(jac, _float64_reference(model, x))


@pytest.mark.parametrize("path", [None, "fast", "loop"])
def test_frozen_parameters_count_and_no_path_refuses_them(path, monkeypatch):
    model, x = _issue29_models()["frozen_backbone"]
    monkeypatch.setattr(vkdnw, "PATH", path)
    jac, _ = vkdnw.jacobian(model, x, 5)  # the loop used to raise "does not require grad"
    assert _matches(jac, _float64_reference(model, x))


def test_vkdnw_pass_makes_every_parameter_of_its_copy_require_grad(monkeypatch):
    seen: list[list[bool]] = []
    real = vkdnw.jacobian

    def spy(model, x, k):
        seen.append([p.requires_grad for p in model.parameters()])
        return real(model, x, k)

    monkeypatch.setattr(vkdnw, "jacobian", spy)
    model, x = _issue29_models()["frozen_backbone"]
    ctx = PassContext(
        build=lambda: _frozen_backbone(),
        x=x,
        y=torch.zeros(len(x), dtype=torch.long),
        num_classes=5,
        seed=0,
        options={},
        more=None,
    )
    vkdnw.vkdnw_pass(ctx)
    assert seen == [[True] * len(list(model.parameters()))]

"""Hostile models and options through ``intrain.score`` (issue 29's attack findings), one test per
finding, written from the user's side: every case ends as a finite value, a NaN flagged with a
reason, or an :class:`~intrain.core.errors.InputError` whose message names the problem."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import pytest
import torch
from torch import nn

import intrain
from intrain.core.errors import InputError
from intrain.core.flags import Flag
from intrain.engine.moments import covariance_traces
from intrain.proxies.base import Proxy


def _mlp(d_in: int = 4, classes: int = 3) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(d_in, 8), nn.ReLU(), nn.Linear(8, classes))


def _cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)
    )


class _Tokens(nn.Module):
    """A token-id classifier: Embedding -> Linear -> ReLU -> Linear, mean over the sequence."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(50, 16)
        self.proj = nn.Linear(16, 16)
        self.act = nn.ReLU()
        self.head = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.act(self.proj(self.embed(x)))).mean(1)


def _score(model, proxies, **kw):
    kw.setdefault("batch_size", 8)
    kw.setdefault("device", "cpu")
    return intrain.score(model, proxies, **kw)


# 1. user-given integer inputs (token ids) --------------------------------------------------------


def test_token_id_inputs_score_and_input_perturbing_proxies_are_undefined() -> None:
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randint(0, 50, (8, 7), generator=gen), torch.randint(0, 5, (8,), generator=gen)
    proxies = ["intrain", "naswot", "snip", "params", "vkdnw", "jacov", "zen", "synflow", "tenas"]
    r = _score(_Tokens(), proxies, inputs=(x, y))
    for p in ("intrain", "naswot", "snip", "params", "vkdnw"):
        assert math.isfinite(r[p]), p
    for p in ("jacov", "zen", "synflow", "tenas"):  # they perturb, replace or differentiate the inputs
        values = [v for k, v in r.components.items() if k.startswith(p + ".")]
        assert values and all(math.isnan(v) for v in values), p
        assert "int64" in r.reasons[p] and "inputs" in r.reasons[p], r.reasons[p]
    assert r.flags & Flag.UNDEFINED
    # the shape check reads the given tensors: a conflicting input_shape is refused by name
    with pytest.raises(InputError, match="input_shape"):
        _score(_Tokens(), ["intrain"], inputs=(x, y), input_shape=(3, 32, 32))


# 2. a non-finite loss ----------------------------------------------------------------------------


class _NanLogits(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x) * float("nan")


def test_nan_loss_makes_every_loss_dependent_proxy_nan_with_a_reason() -> None:
    proxies = ["intrain", "snip", "grad_norm", "zico", "gradalign_i"]
    r = _score(_NanLogits(), proxies, input_shape=(4,))
    assert math.isnan(r.loss)
    assert r.flags & Flag.NONFINITE and r.flags & Flag.UNDEFINED
    for p in proxies:
        assert math.isnan(r[p]), p
        assert r.reasons[p], p
    assert "cross-entropy loss" in r.reasons["intrain"]
    assert all(math.isnan(v) for k, v in r.components.items() if k.startswith("intrain."))


# 3. frozen parameters ----------------------------------------------------------------------------


def test_frozen_head_scores_and_params_counts_all_parameters() -> None:
    net = _mlp()
    total = sum(p.numel() for p in net.parameters())
    for param in net[2].parameters():
        param.requires_grad_(False)
    every = ["intrain", "snip", "grad_norm", "synflow", "zico", "params", "grasp", "naswot", "meco"]
    r = _score(net, every, input_shape=(4,))
    assert r["params"] == total  # documented: frozen parameters count in the model's size
    for p in every:
        assert not math.isnan(r[p]) or p in r.reasons, p  # NASWOT may be -inf (a singular kernel)
    # gradient statistics read the trainable tensors only (documented on score's params argument)
    assert list(r.params["name"]) == ["0.weight", "0.bias"]
    assert not net[2].weight.requires_grad  # the caller's model is untouched


# 4. option values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"lr_resolution": 0}, "lr_resolution must be an integer >= 1"),
        ({"lr_resolution": -3}, "lr_resolution must be an integer >= 1"),
        ({"lr_samples": 0}, "lr_samples must be an integer >= 1"),
        ({"lga_steps": "abc"}, "lga_steps must be an integer >= 0"),
        ({"lga_steps": 2.5}, "lga_steps must be an integer >= 0"),
        ({"lr_samples": True}, "lr_samples must be an integer >= 1"),
        ({"lr_samples": 10**12}, "lr_samples must be an integer >= 1 and <= 100000"),
        ({"lga_steps": 10**9}, "lga_steps must be an integer >= 0 and <= 1000"),
        ({"lr_resolution": 4096}, "lr_resolution must be an integer >= 1 and <= 1024"),
        (["lga_steps"], "options must be a dict of pass settings"),
    ],
)
def test_option_values_are_validated_by_name_and_range(options: dict, words: str) -> None:
    with pytest.raises(InputError, match=words):
        _score(_cnn(), ["tenas", "lga"], options=options)


# 5. AZ-NAS with fewer than two blocks ------------------------------------------------------------


def test_az_nas_with_one_block_is_undefined_not_zero() -> None:
    r = _score(_cnn(), ["az_nas"], blocks=["0"])
    values = [v for k, v in r.components.items() if k.startswith("az_nas.")]
    assert all(math.isnan(v) for v in values)
    assert r.flags & Flag.UNDEFINED and "at least 2" in r.reasons["az_nas"]


# 6. module types the proxies do not read ---------------------------------------------------------


class _Conv3dBody(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv3d(1, 4, 3), nn.ReLU(), nn.Conv3d(4, 4, 3))
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).mean((2, 3, 4)))


def test_unread_conv3d_body_is_named_in_coverage() -> None:
    r = _score(_Conv3dBody(), ["intrain", "snip"], input_shape=(1, 6, 6, 6), batch_size=4)
    assert math.isfinite(r["intrain"])
    assert list(r.layers["kind"]) == ["Linear"]  # what InTrain read
    assert r.coverage["intrain"].endswith("read 1 of 3 weight-holding layers; not read: Conv3d x2")
    assert "Conv3d x2" in r.coverage["snip"]
    assert r.flags & Flag.PARTIAL
    full = _score(_cnn(), ["intrain"])
    assert full.coverage == {}  # a network read in full has none
    assert not full.flags & Flag.PARTIAL


# 7. a very wide head -----------------------------------------------------------------------------


def test_wide_covariance_row_side_equals_channel_side() -> None:
    gen = torch.Generator().manual_seed(0)
    for acts, cdim in [(torch.randn(6, 40, generator=gen), 1), (torch.randn(2, 3, 30, generator=gen), -1)]:
        a = covariance_traces(acts, cdim, row_side=False)
        b = covariance_traces(acts, cdim, row_side=True)
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5)  # float32 rounding


def test_100k_classes_score_without_a_classes_squared_matrix() -> None:
    import resource

    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 100_000))
    r = _score(net, ["intrain"], input_shape=(3, 2, 2), batch_size=4)
    assert math.isfinite(r["intrain"]) and r.layers["channels"].tolist() == [100_000]
    # the old path built a 100k x 100k covariance (40 GB in float32, 80 GB in float64): the
    # process's peak resident memory stays far below that (Linux reports it in KiB)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 16 * 2**20
    assert covariance_traces(torch.randn(4, 100_000), 1)[2].item() == 100_000


# 8. raw tracebacks -> worded errors ---------------------------------------------------------------


class _IntLogits(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x).long()


class _NoCopy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.stream = (i for i in range(3))  # a generator: deepcopy fails

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


def _frozen() -> nn.Module:
    return _mlp().requires_grad_(False)


@pytest.mark.parametrize(
    ("model", "kwargs", "words"),
    [
        (nn.Identity(), {"input_shape": (3,)}, "no trainable parameter"),
        (nn.Flatten(), {"input_shape": (3,)}, "no trainable parameter"),
        (_frozen(), {"input_shape": (4,)}, "all with requires_grad=False"),
        (_IntLogits(), {"input_shape": (4,)}, "int64 logits"),
        (_mlp(), {"input_shape": (4,), "batch_size": 1}, "batch_size must be an integer >= 2"),
        (_cnn(), {"input_shape": (3, -1, 32)}, "positive integers"),
        (_cnn(), {"input_shape": (3, 0, 32)}, "positive integers"),
        (_NoCopy(), {"input_shape": (4,)}, "deepcopy"),
    ],
)
def test_worded_errors_instead_of_tracebacks(model: nn.Module, kwargs: dict, words: str) -> None:
    with pytest.raises(InputError, match=words):
        _score(model, ["intrain", "snip"], **kwargs)


def test_logits_without_grad_and_empty_population_are_worded() -> None:
    class Detached(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x).detach()

    with pytest.raises(InputError, match="do not depend on any trainable parameter"):
        _score(Detached(), ["intrain"], input_shape=(4,))
    with pytest.raises(InputError, match="at least one result"):
        intrain.rank_population([], "tenas")


def test_tenas_on_non_image_inputs_is_undefined_with_a_reason() -> None:
    r = _score(_mlp(), ["tenas", "intrain"], input_shape=(4,))
    assert math.isnan(r.components["tenas.linear_regions"]) and math.isfinite(r["intrain"])
    assert "square images" in r.reasons["tenas"]


# 9. exceptions inside the forward are reported as what they are ----------------------------------


class _Raises(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise KeyError("lookup table missing")


class _Double(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.double())


def test_forward_exceptions_are_chained_and_not_blamed_on_the_shape() -> None:
    with pytest.raises(InputError, match="raised KeyError") as info:
        _score(_Raises(), ["intrain"], input_shape=(4,))
    assert isinstance(info.value.__cause__, KeyError)
    assert "input_shape" not in str(info.value)
    with pytest.raises(InputError, match="dtype mismatch in layer 'fc'") as info:
        _score(_Double(), ["intrain"], input_shape=(4,))
    assert "channels" not in str(info.value) and info.value.__cause__ is not None
    # a real shape problem still names the layer and what it expected
    with pytest.raises(InputError, match="expects 4 input features"):
        _score(_mlp(), ["intrain"], input_shape=(5,))


# 10. TE-NAS's reason names the API option and the workflow key -----------------------------------


def test_tenas_reason_names_the_option_for_api_and_workflow_users() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 3))  # runs on 32x32 inputs only
    r = _score(net, ["tenas"], options={"lr_resolution": 64})
    reason = r.reasons["tenas"]
    assert "options={'lr_resolution': ...}" in reason and "scoring.lr_resolution" in reason


# 11. one proxy's failure does not abort the call (issue 29, round 2) ----------------------------


class _Broken(Proxy):
    """A user's plugin proxy whose own computation raises."""

    name = "broken_plugin"
    needs = frozenset()

    def compute(self, probe: object) -> dict[str, float]:
        raise ZeroDivisionError("division by zero in the plugin")


def _prelu() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.PReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))


@pytest.fixture
def _unregister_broken() -> Iterator[None]:
    """The plugins register themselves by name when looked up; other tests' load_all() must not see them."""
    from intrain.proxies.base import REGISTRY

    yield
    for name in ("broken_plugin", "oom_plugin"):
        REGISTRY.pop(name, None)


@pytest.mark.usefixtures("_unregister_broken")
def test_a_proxy_that_raises_is_nan_with_a_reason_and_the_others_score() -> None:
    r = _score(_mlp(), ["intrain", f"{__name__}:_Broken", "snip"], input_shape=(4,))
    assert math.isfinite(r["intrain"]) and math.isfinite(r["snip"])
    assert math.isnan(r["broken_plugin"]) and r.flags & Flag.UNDEFINED
    assert r.reasons["broken_plugin"] == (
        "broken_plugin could not be computed on this network: ZeroDivisionError: division by zero in the plugin"
    )


class _OutOfMemory(Proxy):
    """A plugin proxy that runs the CPU out of memory (torch's allocator message)."""

    name = "oom_plugin"
    needs = frozenset()

    def compute(self, probe: object) -> dict[str, float]:
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:121] DefaultCPUAllocator: not enough memory")


@pytest.mark.usefixtures("_unregister_broken")
@pytest.mark.parametrize("error", [MemoryError, RuntimeError])
def test_running_out_of_memory_is_raised_not_turned_into_a_nan(error: type, monkeypatch: pytest.MonkeyPatch) -> None:
    if error is MemoryError:
        monkeypatch.setattr(_OutOfMemory, "compute", lambda self, probe: (_ for _ in ()).throw(MemoryError()))
    with pytest.raises(error):
        _score(_mlp(), ["intrain", f"{__name__}:_OutOfMemory"], input_shape=(4,))


def test_workflow_evaluate_still_raises_a_proxy_exception() -> None:
    from intrain.scoring.scorer import evaluate

    x, y = torch.randn(4, 4), torch.tensor([0, 1, 2, 0])
    with pytest.raises(ZeroDivisionError):
        evaluate(_mlp, x, y, 3, [_Broken()])


def test_per_sample_proxies_fall_back_to_a_loop_where_torch_func_refuses() -> None:
    # PReLU's weight broadcasts wrongly under vmap; the per-sample loop computes the same grams
    r = _score(_prelu(), ["gradalign_i", "gradalign_ii", "lga", "tenas", "intrain"], input_shape=(3, 9, 9))
    for k in ("gradalign_i", "gradalign_ii", "lga", "intrain"):
        assert math.isfinite(r[k]), (k, r.reasons)
    assert math.isfinite(r.components["tenas.ntk_cond"])


def test_per_sample_loop_equals_torch_func_where_both_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from intrain.proxies import kernel

    x, y = torch.randn(6, 4, generator=torch.Generator().manual_seed(1)), torch.tensor([0, 1, 2, 0, 1, 2])
    ntk, ce = kernel.per_sample_grams(_mlp(), x, y)

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("vmap refused")

    monkeypatch.setattr(kernel, "vmap", refuse)
    ntk2, ce2 = kernel.per_sample_grams(_mlp(), x, y)
    torch.testing.assert_close(ntk2, ntk, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(ce2, ce, rtol=1e-5, atol=1e-7)


def test_full_backward_hook_network_scores_per_sample_proxies() -> None:
    net = _mlp()
    net[0].register_full_backward_hook(lambda m, gi, go: None)
    r = _score(net, ["gradalign_i", "intrain"], input_shape=(4,))
    assert math.isfinite(r["gradalign_i"]) and math.isfinite(r["intrain"])


class _Overflow(nn.Module):
    """Pre-activations scaled to inf: the linear algebra of tenas/vkdnw/az_nas meets inf/NaN."""

    def __init__(self) -> None:
        super().__init__()
        self.c, self.r, self.h = nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.h(self.r(self.c(x) * 1e38).mean((2, 3)))


def test_non_finite_networks_give_nan_with_reasons_not_linalg_errors() -> None:
    torch.manual_seed(0)
    r = _score(_Overflow(), ["tenas", "vkdnw", "az_nas", "params"], input_shape=(3, 8, 8), blocks=["c", "r"])
    assert r["params"] == 127.0
    for value, proxy in ((r["vkdnw"], "vkdnw"), (r.components["tenas.ntk_cond"], "tenas")):
        assert math.isnan(value) and "not finite" in r.reasons[proxy], r.reasons
    assert math.isnan(r.components["az_nas.expressivity"]) and "not finite" in r.reasons["az_nas"]
    assert r.flags & Flag.NONFINITE


# 12. sentinels are NaN with a reason, never numbers --------------------------------------------


def test_gradalign_ii_on_a_singular_gram_is_nan_not_batch_times_log_eps() -> None:
    torch.manual_seed(0)
    one_logit = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    # two equal logits: softmax is exactly (1/2, 1/2), so the CE gradient is exactly 0
    r = _score(one_logit, ["gradalign_ii", "intrain"], input_shape=(4,), output=lambda z: torch.cat([z, z], 1))
    assert math.isnan(r["gradalign_ii"]) and "singular" in r.reasons["gradalign_ii"]
    assert r.flags & Flag.UNDEFINED


def test_jacov_behind_batchnorm1d_is_nan_not_one_over_epsilon() -> None:
    def mlp(bn: bool) -> nn.Sequential:
        torch.manual_seed(0)
        norm = [nn.BatchNorm1d(16)] if bn else []
        return nn.Sequential(nn.Flatten(), nn.Linear(48, 16), *norm, nn.ReLU(), nn.Linear(16, 3))

    # train-mode BN centres the batch: the 8 input Jacobians sum to 0, a zero eigenvalue
    r = _score(mlp(True), ["jacov", "intrain"], input_shape=(3, 4, 4))
    assert math.isnan(r["jacov"]) and "singular" in r.reasons["jacov"] and math.isfinite(r["intrain"])
    r = _score(mlp(False), ["jacov"], input_shape=(3, 4, 4))  # independent samples: a finite score
    assert -1000 < r["jacov"] < 0 and not r.reasons


def test_tenas_singular_ntk_is_nan_with_a_reason_not_inf() -> None:
    net = _cnn()
    net.requires_grad_(False)
    head = net.get_submodule("4")
    assert isinstance(head, nn.Linear)
    head.weight.requires_grad_(True)  # 8 samples' NTK rows from 4 features: rank <= 4
    r = _score(net, ["tenas"], input_shape=(3, 8, 8))
    assert math.isnan(r.components["tenas.ntk_cond"]) and "singular" in r.reasons["tenas"]
    assert math.isfinite(r.components["tenas.linear_regions"]) and r.flags & Flag.UNDEFINED


# 13. jacov does not switch off the trainable-parameter check (F6) ------------------------------


def test_logits_independent_of_parameters_are_refused_with_jacov_too() -> None:
    class Unused(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("w", torch.randn(4, 3))
            self.unused = nn.Linear(3, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            w = self.w
            assert isinstance(w, torch.Tensor)
            return x @ w

    for proxies in (["jacov"], ["jacov", "snip", "grasp"]):
        with pytest.raises(InputError, match="do not depend on any trainable parameter"):
            _score(Unused(), proxies, input_shape=(4,))


# 14. random ops in forward draw the same numbers in every call (F7) ----------------------------


def test_functional_dropout_in_forward_is_reproducible_and_leaves_the_global_rng() -> None:
    class Dropped(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc, self.head = nn.Linear(4, 16), nn.Linear(16, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(nn.functional.dropout(self.fc(x).relu(), 0.5, training=self.training))

    torch.manual_seed(0)
    net = Dropped()
    proxies = ["intrain", "snip", "zico", "grasp"]
    a = _score(net, proxies, input_shape=(4,))
    state = torch.random.get_rng_state()
    torch.rand(5)
    b = _score(net, proxies, input_shape=(4,))
    assert a.scores == b.scores
    torch.manual_seed(3)
    before = torch.random.get_rng_state()
    _score(net, ["snip"], input_shape=(4,))
    assert torch.equal(torch.random.get_rng_state(), before) and not torch.equal(state, before)


# 15. parametrized weights are flagged, never a silent 0 (F2) -----------------------------------


def test_parametrized_weights_give_nan_with_a_reason_naming_the_parametrization() -> None:
    from torch.nn.utils import parametrizations

    torch.manual_seed(0)
    net = nn.Sequential(
        parametrizations.weight_norm(nn.Conv2d(3, 4, 3)),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        parametrizations.spectral_norm(nn.Linear(4, 3)),
    )
    proxies = ["grad_norm", "snip", "synflow", "zico", "gradalign_i", "grasp", "intrain"]
    r = _score(net, proxies, input_shape=(3, 8, 8))
    for p in ("grad_norm", "snip", "synflow", "zico"):
        assert math.isnan(r[p]) and "parametrization" in r.reasons[p], (p, r.scores, r.reasons)
    for p in proxies:
        assert r[p] != 0.0 and (math.isfinite(r[p]) or p in r.reasons), (p, r.scores, r.reasons)


# 16. bad arguments are InputErrors that name the problem (F15, severity 3) ----------------------


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"proxies": 5}, "proxies must be a proxy name or a list"),
        ({"seed": "a"}, "seed must be an integer"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"seed": 2**70}, "seed must be an integer"),
        ({"num_classes": "3"}, "num_classes must be a positive integer"),
        ({"input_shape": (4.0,)}, "input_shape must be a sequence of positive integers"),
        ({"layers": "nope"}, "unknown layer selection 'nope'"),
        ({"params": "nope"}, "unknown parameter selection 'nope'"),
        ({"device": "tpu"}, "unknown device 'tpu'"),
    ],
)
def test_bad_arguments_are_worded_input_errors(kwargs: dict, words: str) -> None:
    kwargs = {"proxies": ["intrain"], "input_shape": (4,), **kwargs}
    with pytest.raises(InputError, match=words):
        _score(_mlp(), **kwargs)


def test_cuda_without_a_gpu_and_a_module_class_are_worded() -> None:
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA GPU"):
            _score(_mlp(), ["intrain"], input_shape=(4,), device="cuda")
    with pytest.raises(InputError, match="pass an instance"):
        _score(nn.Linear, ["intrain"], input_shape=(4,))
    with pytest.raises(InputError, match="unknown proxy 'nope'"):
        intrain.rank_population([_score(_mlp(), ["intrain"], input_shape=(4,))], "nope")


def test_float64_and_bf16_models_are_refused_naming_the_parameter_dtype() -> None:
    for dtype in (torch.float64, torch.bfloat16):
        net = _mlp().to(dtype)
        x, y = torch.randn(8, 4, dtype=dtype), torch.randint(0, 3, (8,))
        for kwargs in ({"input_shape": (4,)}, {"inputs": (x, y)}):
            with pytest.raises(InputError, match=f"parameter '0.weight' is {dtype}") as info:
                _score(net, ["intrain"], **kwargs)
            assert "model.float()" in str(info.value)
    with pytest.raises(InputError, match=r"dtype mismatch .* float32 parameters \(model.float\(\)\)"):
        _score(lambda: _mlp().double(), ["intrain"], input_shape=(4,))  # a factory: seen in the forward


def test_logits_whose_first_dimension_is_not_the_batch_are_worded() -> None:
    class Transposed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x).t()

    with pytest.raises(InputError, match=r"returned \(3, 2\), whose first dimension is not the batch"):
        _score(Transposed(), ["intrain"], input_shape=(4,))


def test_an_output_reader_that_raises_is_blamed_not_a_layer() -> None:
    with pytest.raises(
        InputError, match=r"output= raised KeyError: 'logits' \(on the forward's return value, a tensor"
    ):
        _score(_mlp(), ["intrain"], input_shape=(4,), output=lambda out: dict[str, torch.Tensor]()["logits"])


# 17. issue 29, second attacker: computed weights, custom weight names, RNGs, user callables -------


def _hidden(parametrize) -> nn.Sequential:
    """The same small CNN (seed 0) with ``parametrize`` applied to its hidden conv and linear."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(6, 6, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 6),
        nn.ReLU(),
        nn.Linear(6, 3),
    )
    net[2] = parametrize(net[2])
    net[6] = parametrize(net[6])
    return net


def test_weight_norm_kernels_read_the_leaves_and_equal_the_plain_kernels_at_init() -> None:
    # At weight_norm's initialisation (g = |v|) the per-sample gradients w.r.t. (g, v) have the same
    # inner products as those w.r.t. w (v's gradient is w's projected off w, g's its component on w),
    # so the kernel proxies must equal the plain network's: the parametrized layers are read.
    from torch.nn.utils.parametrizations import weight_norm

    kernel = ["gradalign_i", "gradalign_ii", "tenas"]
    plain = _score(_hidden(lambda m: m), [*kernel, "grasp"], input_shape=(3, 6, 6))
    normed = _score(_hidden(weight_norm), [*kernel, "grasp"], input_shape=(3, 6, 6))
    frozen = _hidden(lambda m: m)
    for i in (2, 6):
        frozen[i].weight.requires_grad_(False)
    unread = _score(frozen, kernel, input_shape=(3, 6, 6))
    for key in ("gradalign_i.score", "gradalign_ii.score", "tenas.ntk_cond"):
        assert normed.components[key] == pytest.approx(plain.components[key], rel=1e-4), key
        assert unread.components[key] != pytest.approx(plain.components[key], rel=1e-3), key
    assert not set(kernel) & set(normed.coverage), normed.coverage
    # GraSP reads module.weight's gradient only: its finite value is flagged PARTIAL, the layers named
    assert (
        normed.flags & Flag.PARTIAL and "'2'" in normed.coverage["grasp"] and "_WeightNorm" in normed.coverage["grasp"]
    )
    assert not plain.flags & Flag.PARTIAL


def test_old_hook_based_weight_and_spectral_norm_are_detected() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch deprecates the hook API
        spectral = _hidden(nn.utils.spectral_norm)
        hooked_wn = _hidden(nn.utils.weight_norm)
    r = _score(spectral, ["synflow", "grad_norm", "grasp", "gradalign_i"], input_shape=(3, 6, 6))
    for p in ("synflow", "grad_norm"):  # never the silent 0 the hook's computed weight gave
        assert math.isnan(r[p]) and "spectral_norm" in r.reasons[p], (p, r.scores, r.reasons)
    assert r.flags & Flag.PARTIAL and "spectral_norm" in r.coverage["grasp"]
    assert math.isfinite(r["gradalign_i"]) and "gradalign_i" not in r.coverage
    # the hook-based weight_norm's computed weight cannot be deep-copied: the error says what to use
    with pytest.raises(InputError, match="parametrizations.weight_norm"):
        _score(hooked_wn, ["synflow"], input_shape=(3, 6, 6))


class _OwnLinear(nn.Module):
    """A hand-written linear layer whose weight is called W (LoRA adapters, research code)."""

    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.W = nn.Parameter(torch.randn(o, i) / i**0.5)
        self.b = nn.Parameter(torch.zeros(o))
        self.token = nn.Parameter(torch.zeros(1, 1, o))  # a broadcast (class-token-like) tensor: not a weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.W, self.b) + self.token[0, 0]


class _ListLinear(nn.Module):
    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.ws = nn.ParameterList([nn.Parameter(torch.randn(o, i) / i**0.5)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.ws[0].t()


@pytest.mark.parametrize(("layer", "named"), [(_OwnLinear, "'1.W' (_OwnLinear, 8x4)"), (_ListLinear, "'1.ws.0'")])
def test_weights_under_any_name_are_counted_by_coverage(layer: type, named: str) -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), layer(4, 8), nn.ReLU(), nn.Linear(8, 3))
    r = _score(net, ["snip", "intrain", "naswot"], input_shape=(4,))
    assert r.flags & Flag.PARTIAL
    for p in ("snip", "intrain"):
        assert named in r.coverage[p] and "token" not in r.coverage[p], r.coverage
    assert "naswot" not in r.coverage  # reads activations, not weights
    plain = _score(nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)), ["snip"], input_shape=(4,))
    assert not plain.flags & Flag.PARTIAL and not plain.coverage


class _NoisyForward(nn.Module):
    """Adds noise drawn from numpy's and Python's global generators in its forward."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a, self.b = nn.Linear(4, 8), nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import random

        noise = torch.as_tensor(np.random.standard_normal(8), dtype=torch.float32) + random.random()
        return self.b(torch.relu(self.a(x) + noise))


def test_numpy_and_python_random_in_a_forward_are_seeded_and_the_caller_state_restored() -> None:
    import random

    np.random.seed(123)
    random.seed(123)
    np_before, py_before = np.random.get_state(), random.getstate()
    first = _score(_NoisyForward(), ["snip", "intrain", "grasp"], input_shape=(4,))
    np.random.standard_normal(50)  # the caller's draws between calls do not change a score
    random.random()
    second = _score(_NoisyForward(), ["snip", "intrain", "grasp"], input_shape=(4,))
    assert first.components == second.components
    np.random.set_state(np_before)
    random.setstate(py_before)
    _score(_NoisyForward(), ["snip"], input_shape=(4,))
    after_np, after_py = np.random.get_state(), random.getstate()
    assert np.array_equal(after_np[1], np_before[1]) and after_np[2] == np_before[2]  # type: ignore[index]
    assert after_py == py_before


class _Blocks(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.b1 = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.b1(self.stem(x)))


def _buggy_features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model.nope(x)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("proxy", "kwargs", "words"),
    [
        ("zen", {"features": _buggy_features}, "features= callable _buggy_features raised AttributeError"),
        ("az_nas", {"blocks": lambda m: [m.stem, m.bl]}, "blocks= callable <lambda> raised AttributeError"),
        ("az_nas", {"blocks": lambda m: [m.stem, 3]}, "blocks= callable returned a list holding int"),
    ],
)
def test_a_bug_in_the_users_callable_is_an_input_error_not_a_nan(proxy: str, kwargs: dict, words: str) -> None:
    with pytest.raises(InputError, match=words.replace("(", r"\(")) as info:
        _score(_Blocks(), [proxy, "naswot"], input_shape=(3, 8, 8), **kwargs)
    if "raised" in words:
        assert isinstance(info.value.__cause__, AttributeError)


def test_blocks_callable_may_return_module_names() -> None:
    by_name = _score(_Blocks(), ["az_nas"], input_shape=(3, 8, 8), blocks=lambda m: ["stem", "b1"])
    by_module = _score(_Blocks(), ["az_nas"], input_shape=(3, 8, 8), blocks=lambda m: [m.stem, m.b1])
    assert by_name.components == by_module.components


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("compile_", [torch.jit.script, lambda m: torch.jit.trace(m, torch.zeros(2, 4))])
def test_torchscript_modules_are_refused_in_words(compile_) -> None:
    with pytest.raises(InputError, match="TorchScript module.*pass the eager nn.Module"):
        _score(compile_(_mlp()), ["snip"], input_shape=(4,))
    with pytest.raises(InputError, match="TorchScript module"):
        _score(lambda: compile_(_mlp()), ["snip"], input_shape=(4,))


def test_kernel_larger_than_the_input_names_the_layer_and_its_kernel() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 7), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    with pytest.raises(InputError, match=r"layer '1' \(Conv2d, kernel \(7, 7\).*larger input_shape") as info:
        _score(net, ["snip"], input_shape=(3, 6, 6))
    assert "input channels" not in str(info.value)


def test_token_id_model_without_inputs_tells_to_pass_the_ids() -> None:
    with pytest.raises(InputError, match=r"Embedding of 50 entries.*inputs=\(ids, labels\)"):
        _score(_Tokens(), ["snip"], input_shape=(7,))


def test_warnings_as_errors_do_not_change_a_score() -> None:
    import warnings

    def net() -> nn.Module:  # PReLU: torch.func warns that it has no batching rule
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(3, 4, 3), nn.PReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))

    proxies = ["gradalign_i", "tenas", "snip", "intrain"]
    default = _score(net(), proxies, input_shape=(3, 6, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        strict = _score(net(), proxies, input_shape=(3, 6, 6))
    assert strict.flags == default.flags and not strict.reasons
    for key, value in default.components.items():
        assert strict.components[key] == pytest.approx(value, rel=1e-6), key


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"features": 3}, "features=3 is invalid: features must be a module name or a callable"),
        ({"options": {"features": 3}}, "features=3 is invalid"),
        ({"blocks": "stem"}, "blocks must be a list of module names or a callable"),
        ({"blocks": [nn.ReLU()]}, "blocks must be a list of module names or a callable"),
    ],
)
def test_features_and_blocks_of_the_wrong_type_are_refused_by_name(kwargs: dict, words: str) -> None:
    with pytest.raises(InputError, match=words):
        _score(_Blocks(), ["naswot"], input_shape=(3, 8, 8), **kwargs)


# issue 29, second attack ---------------------------------------------------------------------------


class _Boom(nn.Module):
    """A small CNN whose forward raises ``exc`` at its ``n``-th call (0: never), counted over all
    of score()'s copies (a class attribute: ``copy.deepcopy`` does not copy it)."""

    calls: ClassVar[list[int]] = [0]

    def __init__(self, n: int, exc: BaseException | None) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10)
        )
        self.n, self.exc = n, exc
        _Boom.calls[0] = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls[0] += 1
        if self.calls[0] == self.n and self.exc is not None:
            raise self.exc
        return self.net(x)


_OOM = (
    MemoryError(),
    RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"),
    RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: 1234 bytes."),
)


@pytest.mark.parametrize("exc", _OOM, ids=["MemoryError", "cuda", "cpu_allocator"])
def test_out_of_memory_in_any_forward_propagates_unchanged(exc: BaseException) -> None:
    proxies = ["tenas", "gradalign_i", "synflow"]
    _score(_Boom(0, None), proxies, input_shape=(3, 8, 8))
    total = _Boom.calls[0]  # every forward of one score()
    assert total > 3
    for n in range(1, total + 1):  # the check forward, the probe, per-sample vmap, TE-NAS's side search, ...
        with pytest.raises(type(exc)) as info:
            _score(_Boom(n, exc), proxies, input_shape=(3, 8, 8))
        assert info.value is exc or str(info.value) == str(exc), (n, info.value)


@pytest.mark.parametrize("context", [torch.no_grad, torch.inference_mode])
def test_score_under_no_grad_or_inference_mode_equals_the_plain_call(context) -> None:
    plain = _score(_cnn(), ["intrain", "synflow", "grad_norm"], input_shape=(3, 8, 8))
    with context():
        inside = _score(_cnn(), ["intrain", "synflow", "grad_norm"], input_shape=(3, 8, 8))
    assert plain.scores == inside.scores and not inside.reasons
    assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()


def test_inputs_made_under_inference_mode_are_scored() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(8, 3, 8, 8), torch.randint(0, 3, (8,))
    plain = _score(_cnn(), ["intrain", "gradalign_i"], inputs=(x, y))
    with torch.inference_mode():
        xi, yi = x.clone(), y.clone()
        inside = _score(_cnn(), ["intrain", "gradalign_i"], inputs=(xi, yi))
    assert plain.scores == inside.scores and not inside.reasons


class StochasticDepth(nn.Module):
    """torchvision's ``StochasticDepth`` as it stores its rate (``.p``, no dropout module)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty((x.shape[0], 1, 1, 1)).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class _FunctionalDrop(nn.Module):
    """A head applying ``F.dropout`` with a stored float rate (timm's ``drop_rate``, HF attention)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.drop_rate = p
        self.attention_probs_dropout_prob = p
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.dropout(x, self.drop_rate, self.training)
        return self.fc(nn.functional.dropout(x, self.attention_probs_dropout_prob, self.training))


class _Attn(nn.Module):
    def __init__(self, p: float) -> None:
        super().__init__()
        self.emb = nn.Linear(6, 8)
        self.attn = nn.MultiheadAttention(8, 2, dropout=p, batch_first=True)
        self.act = nn.GELU()
        self.head = _FunctionalDrop(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.emb(x)
        h = h + self.attn(h, h, h)[0]
        return self.head(self.act(h).mean(1))


def _depth_net(p: float) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        StochasticDepth(p),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        _FunctionalDrop(p),
    )


def _attn_net(p: float) -> nn.Module:
    torch.manual_seed(0)
    return _Attn(p)


class MyDrop(nn.Module):
    """A user's own dropout module: its rate in ``p``, applied through ``F.dropout``."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.dropout(x, self.p, self.training)


def _my_drop_net(p: float) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), MyDrop(p), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3)
    )


@pytest.mark.parametrize(
    ("make", "shape"),
    [(_depth_net, (3, 8, 8)), (_attn_net, (5, 6)), (_my_drop_net, (3, 8, 8))],
    ids=["depth", "attention", "own-dropout-class"],
)
def test_stochastic_depth_and_float_dropout_rates_are_zeroed_in_the_copy_only(make, shape) -> None:
    proxies = ["intrain", "grad_norm", "zico", "meco"]
    model = make(0.5)
    dropped = _score(model, proxies, input_shape=shape)
    plain = _score(make(0.0), proxies, input_shape=shape)
    assert dropped.scores == plain.scores
    rates = [v for m in model.modules() for k, v in vars(m).items() if k == "p" or "drop" in k.lower()]
    assert rates and all(v == 0.5 for v in rates if isinstance(v, float))  # the caller's model keeps its rates


def test_tenas_without_an_activation_module_is_nan_with_a_reason_not_one_region() -> None:
    class Functional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c, self.fc = nn.Conv2d(3, 8, 3), nn.Linear(8, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(nn.functional.relu(self.c(x)).mean((2, 3)))

    r = _score(Functional, ["tenas"], input_shape=(3, 8, 8))
    assert math.isnan(r.components["tenas.linear_regions"]) and "F.relu" in r.reasons["tenas"]
    assert r.flags & Flag.UNDEFINED


def test_one_logit_head_is_refused_with_its_num_classes() -> None:
    one = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 1))
    with pytest.raises(InputError, match="num_classes=1"):
        _score(one, ["intrain"], input_shape=(3, 8, 8))
    with pytest.raises(InputError, match="num_classes=1"):
        _score(one, ["intrain"], input_shape=(3, 8, 8), num_classes=1)


def test_a_factory_that_raises_is_an_input_error_naming_it() -> None:
    def broken_factory() -> nn.Module:
        raise ValueError("config missing key 'depth'")

    with pytest.raises(InputError, match="broken_factory raised ValueError: config missing key") as info:
        _score(broken_factory, ["intrain"], input_shape=(3, 8, 8))
    assert isinstance(info.value.__cause__, ValueError)


def test_a_broadcast_scale_named_weight_is_not_an_unread_layer() -> None:
    class GRN(nn.Module):  # ConvNeXt-V2's global response normalisation, channels last
        def __init__(self, c: int, mix: bool) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.zeros(1, 1, 1, c))
            self.bias = nn.Parameter(torch.zeros(1, 1, 1, c))
            self.mix_weight = nn.Parameter(torch.eye(c)) if mix else None  # a real matrix, for contrast

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            gx = x.norm(p=2, dim=(1, 2), keepdim=True)
            x = self.weight * x * gx / (gx.mean(-1, keepdim=True) + 1e-6) + self.bias + x
            return x if self.mix_weight is None else x @ self.mix_weight

    class Net(nn.Module):
        def __init__(self, mix: bool) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.c, self.grn, self.fc = nn.Conv2d(3, 8, 3), GRN(8, mix), nn.Linear(8, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.grn(self.c(x).permute(0, 2, 3, 1))
            return self.fc(h.mean((1, 2)))

    r = _score(Net(False), ["grad_norm", "synflow"], input_shape=(3, 8, 8))
    assert not r.coverage and not r.flags & Flag.PARTIAL
    r = _score(Net(True), ["grad_norm"], input_shape=(3, 8, 8))
    assert "GRN" in r.coverage["grad_norm"] and r.flags & Flag.PARTIAL


@pytest.mark.parametrize("shape", [(1, 8, 1, 1), (8, 1, 1)], ids=["channels-first-grn", "layer-scale"])
def test_per_channel_scales_in_any_broadcast_layout_are_not_unread_layers(shape) -> None:
    class Scale(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(*shape))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * self.weight

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3), Scale(), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))
    r = _score(net, ["grad_norm", "synflow"], input_shape=(3, 8, 8))
    assert not r.coverage and not r.flags & Flag.PARTIAL


@pytest.mark.parametrize("exc", [MemoryError(), RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")])
def test_out_of_memory_in_the_output_reader_propagates_unchanged(exc: BaseException) -> None:
    def reader(out: torch.Tensor) -> torch.Tensor:
        raise exc

    with pytest.raises(type(exc)) as info:
        _score(_cnn(), ["grad_norm"], input_shape=(3, 8, 8), output=reader)
    assert info.value is exc


def test_grasp_names_fused_attention_only_for_attention_ops() -> None:
    torch.manual_seed(0)
    hard = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Hardsigmoid(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    r = _score(hard, ["grasp"], input_shape=(3, 8, 8))
    assert "hardsigmoid" in r.reasons["grasp"] and "second derivatives" in r.reasons["grasp"]
    assert "attn_implementation" not in r.reasons["grasp"] and "fused" not in r.reasons["grasp"]

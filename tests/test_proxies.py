"""Baseline proxies: formulas on hand-computed inputs, passes on tiny networks, the fused plan."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from intrain.core import ranking
from intrain.core.ranking import add_population_scores
from intrain.core.records import ScoreSettings
from intrain.engine.inputs import DataError, describe_input, image_batch
from intrain.engine.probe import run_probe
from intrain.proxies import formulas, load_all
from intrain.proxies.activation import InputJacobian, ReluKernel  # noqa: F401  (registers the collectors)
from intrain.proxies.base import PASSES, PassContext
from intrain.proxies.cost import flops_pass
from intrain.proxies.gradient import grasp_pass
from intrain.proxies.kernel import calibrate_bn, linear_regions_pass, per_sample_grams
from intrain.proxies.synflow import synflow_pass
from intrain.scoring.scorer import Scorer, plan

ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
IDENTITY = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"  # every cell computes x -> x
MIXED = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


# ----------------------------------------------------------------------------- formulas


def test_naswot_kernel_by_hand():
    codes = torch.tensor([[1, 0, 1], [1, 1, 0]])
    k = formulas.relu_agreement(codes)
    assert torch.equal(k, torch.tensor([[3.0, 1.0], [1.0, 3.0]]))
    assert formulas.naswot_score(k) == pytest.approx(math.log(8.0))
    assert formulas.naswot_score(formulas.relu_agreement(torch.tensor([[1, 0], [1, 0]]))) == -math.inf


def test_jacov_uncorrelated_beats_correlated():
    k = 1e-5
    uncorrelated = torch.tensor([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0]])  # corrcoef = I
    assert formulas.jacov_score(uncorrelated, k) == pytest.approx(-2 * (math.log(1 + k) + 1 / (1 + k)))
    correlated = torch.tensor([[1.0, -1.0, 0.0, 0.0], [1.0, -1.0, 0.1, 0.0]])
    assert formulas.jacov_score(correlated, k) < formulas.jacov_score(uncorrelated, k)


def test_zico_by_hand():
    # weight 1: grads 1, 3 -> mean|g| 2, std 1; weight 2: 2, 2 -> std 0, excluded
    assert formulas.zico_score([torch.tensor([[1.0, 2.0], [3.0, 2.0]])]) == pytest.approx(math.log(2.0))
    # a layer with all-zero std contributes nothing
    assert formulas.zico_score([torch.ones(2, 3)]) == 0.0


def test_condition_number_and_gram_cosine():
    assert formulas.condition_number(torch.diag(torch.tensor([1.0, 4.0]))) == pytest.approx(4.0)
    g = torch.tensor([[4.0, 2.0], [2.0, 9.0]])
    c = formulas.gram_cosine(g)
    assert torch.allclose(c, torch.tensor([[1.0, 1 / 3], [1 / 3, 1.0]], dtype=torch.float64))


def test_gradalign_alignment_cases():
    aligned = torch.ones(3, 3)  # three identical unit vectors
    assert formulas.gradalign_alignment(aligned) == pytest.approx(1.0)
    orthogonal = torch.eye(2)  # e1, e2: each has cosine 1/sqrt(2) with the mean
    assert formulas.gradalign_alignment(orthogonal) == pytest.approx(math.sqrt(0.5))
    # invariant to a common rescaling of the gradients
    g = torch.tensor([[2.0, 0.5], [0.5, 1.0]])
    assert formulas.gradalign_alignment(7.0 * g) == pytest.approx(formulas.gradalign_alignment(g))
    assert math.isnan(formulas.gradalign_alignment(torch.tensor([[1.0, 0.0], [0.0, 0.0]])))


def test_gradalign_gram_determinant_by_hand():
    assert formulas.gradalign_gram_logdet(torch.eye(3), eps=0.0) == pytest.approx(0.0, abs=1e-12)
    c = 0.6
    gram = torch.tensor([[4.0, 4.0 * c], [4.0 * c, 4.0]])  # norms 2, cosine c
    assert formulas.gradalign_gram_logdet(gram, eps=0.0) == pytest.approx(math.log(1 - c * c))


def test_label_gradient_alignment_cases():
    y = torch.tensor([0, 0, 1, 2])
    agree = (y[:, None] == y[None, :]).double() * 2 - 1
    assert formulas.label_gradient_alignment(agree, y) == pytest.approx(1.0)
    assert formulas.label_gradient_alignment(-agree, y) == pytest.approx(-1.0)
    ntk = torch.tensor([[3.0, 1, 0, 0], [1, 2, 0, 1], [0, 0, 1, 0], [0, 1, 0, 2]])
    assert formulas.label_gradient_alignment(5 * ntk, y) == pytest.approx(formulas.label_gradient_alignment(ntk, y))


def test_spectral_entropy_of_isotropic_covariance_is_log_d():
    assert formulas.spectral_entropy(torch.eye(8)) == pytest.approx(math.log(8), abs=1e-6)
    assert formulas.spectral_entropy(torch.diag(torch.tensor([1.0, 0, 0]))) == pytest.approx(0.0, abs=1e-6)


def test_az_trainability_term_is_zero_for_an_isometry():
    g = torch.tensor([[1.0, 1.0], [1.0, -1.0], [1.0, 1.0], [1.0, -1.0]])  # g^T g / 4 = I
    assert formulas.az_trainability_term(g, g) == pytest.approx(0.0, abs=1e-5)
    assert formulas.az_trainability_term(3 * g, g) == pytest.approx(-3 - 1 / 3 + 2, abs=1e-5)


def test_decile_entropy_flat_spectrum_is_log9():
    assert formulas.decile_entropy(torch.full((50,), 2.0)) == pytest.approx(math.log(9))


def test_categorical_fisher_by_hand():
    jac = torch.tensor([[[1.0], [0.0]]])  # one sample, K = 2 logits, one parameter
    f = formulas.categorical_fisher(jac, torch.zeros(1, 2), smoothing=0.0)
    assert f.item() == pytest.approx(0.25)  # p = (1/2, 1/2): cov = [[1/4, -1/4], [-1/4, 1/4]]


def test_rank_aggregation_and_rank_sum():
    a = np.array([1.0, 2.0, 3.0])
    got = ranking.rank_aggregate([a, a])
    assert np.allclose(got, 2 * np.log(np.array([1, 2, 3]) / 3))
    with_nan = ranking.rank_aggregate([np.array([1.0, np.nan, 3.0]), np.array([-np.inf, 0.0, 1.0])])
    assert np.isnan(with_nan[1]) and with_nan[0] < with_nan[2]
    assert np.allclose(ranking.rank_sum([a, a], signs=[-1, 1]), [4, 4, 4])


# ----------------------------------------------------------------------------- passes on tiny networks


class Linear(nn.Module):
    def __init__(self, d: int, k: int, weight: torch.Tensor | None = None):
        super().__init__()
        self.fc = nn.Linear(d, k, bias=False)
        if weight is not None:
            with torch.no_grad():
                self.fc.weight.copy_(weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


def _ctx(build, x, y, k, **options) -> PassContext:
    return PassContext(build=build, x=x, y=y, num_classes=k, seed=0, options=options)


def test_grad_norm_and_snip_at_zero_weights_by_hand():
    torch.manual_seed(0)
    x, y = torch.randn(4, 1, 2, 3), torch.tensor([0, 1, 2, 1])
    model = Linear(6, 3, torch.zeros(3, 6))
    probe = run_probe(model, x, y, collect=frozenset({"grad_sums"}))
    p = torch.full((4, 3), 1 / 3) - nn.functional.one_hot(y, 3)  # softmax of zero logits minus labels
    g = p.t() @ x.flatten(1) / 4
    assert probe.outputs["grad_sums"]["grad_norm"] == pytest.approx(float(g.norm()), rel=1e-6)
    assert probe.outputs["grad_sums"]["snip"] == 0.0  # |w * g| with w = 0


def test_naswot_kernel_diagonal_counts_relu_units():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.ReLU(), nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
    x, y = torch.randn(6, 3, 2, 2), torch.randint(0, 3, (6,))
    k = run_probe(model, x, y, collect=frozenset({"relu_kernel"})).outputs["relu_kernel"]
    assert torch.equal(torch.diagonal(k), torch.full((6,), 12.0))  # 5 + 7 units agree with themselves


def test_input_jacobian_of_a_linear_map():
    w = torch.randn(3, 4)
    x, y = torch.randn(5, 1, 2, 2), torch.zeros(5, dtype=torch.long)
    jac = run_probe(Linear(4, 3, w), x, y, collect=frozenset({"input_jacobian"})).outputs["input_jacobian"]
    assert torch.allclose(jac.flatten(1), w.sum(0).expand(5, 4))


def test_synflow_of_one_linear_layer_is_sum_abs_weights():
    w = torch.randn(3, 8)
    ctx = _ctx(lambda: Linear(8, 3, w), torch.randn(2, 2, 2, 2), torch.zeros(2, dtype=torch.long), 3)
    # R = sum_k sum_i |w_ki| * 1, dR/dw_ki = 1, so the score is sum |w|
    assert synflow_pass(ctx)["score"] == pytest.approx(float(w.double().abs().sum()), rel=1e-12)


def test_grasp_matches_an_explicit_hessian():
    torch.manual_seed(1)
    w0 = torch.randn(2, 3)
    x, y = torch.randn(5, 3, 1, 1), torch.tensor([0, 1, 1, 0, 1])
    ctx = _ctx(lambda: Linear(3, 2, w0), x, y, 2)

    def loss_of(flat: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(x.flatten(1) @ flat.reshape(2, 3).t(), y)

    flat = w0.reshape(-1)
    hess = torch.autograd.functional.hessian(loss_of, flat)
    grad = torch.autograd.functional.jacobian(loss_of, flat)
    assert grasp_pass(ctx)["score"] == pytest.approx(float(-(flat * (hess @ grad)).sum()), rel=1e-5)


def test_flops_counts_conv_and_linear_macs():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.fc = nn.Linear(8, 10)

        def forward(self, x):
            return self.fc(self.conv(x).mean(dim=(2, 3)))

    ctx = _ctx(Net, torch.randn(4, 3, 8, 8), torch.zeros(4, dtype=torch.long), 10)
    assert flops_pass(ctx)["macs"] == 8 * 8 * 8 * 3 * 9 + 8 * 10


def test_per_sample_grams_of_a_linear_model_by_hand():
    w = torch.zeros(3, 4)
    x, y = torch.randn(5, 4, 1, 1), torch.tensor([0, 2, 1, 1, 0])
    ntk, ce_gram = per_sample_grams(Linear(4, 3, w), x, y)
    xx = x.flatten(1).double() @ x.flatten(1).double().t()
    # d sum_k logits_k / dW = 1 x^T: <1 x_i^T, 1 x_j^T> = K x_i.x_j
    assert torch.allclose(ntk, 3 * xx)
    r = torch.full((5, 3), 1 / 3, dtype=torch.float64) - nn.functional.one_hot(y, 3).double()
    assert torch.allclose(ce_gram, (r @ r.t()) * xx)


def test_linear_regions_of_one_relu_is_two():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 1), nn.ReLU(), nn.Linear(1, 2))
    ctx = _ctx(lambda: model, torch.randn(2, 3, 4, 4), torch.zeros(2, dtype=torch.long), 2, lr_samples=200)
    assert linear_regions_pass(ctx)["regions"] == 2.0


def test_calibrated_bn_uses_the_batch_statistics():
    bn = nn.BatchNorm1d(3)
    x = torch.randn(16, 3) * 5 + 2
    calibrate_bn(bn, x)
    assert not bn.training
    assert torch.allclose(bn.running_mean, x.mean(0), atol=1e-5)
    # running_var is the unbiased variance, so the calibrated output has std sqrt((n-1)/n)
    assert torch.allclose(bn(x).std(0, correction=0), torch.full((3,), math.sqrt(15 / 16)), atol=1e-3)


# ----------------------------------------------------------------------------- scorer, NB201 networks


def test_plan_runs_each_pass_once(monkeypatch):
    load_all()  # the families register their passes when imported
    calls: dict[str, int] = {}
    for name in ("per_sample", "linear_regions", "flops", "az_nas"):
        real = PASSES[name]

        def counted(ctx, _real=real, _name=name):
            calls[_name] = calls.get(_name, 0) + 1
            return _real(ctx)

        monkeypatch.setitem(PASSES, name, counted)
    settings = ScoreSettings(
        batch_size=4, proxies=("tenas", "gradalign_i", "gradalign_ii", "az_nas", "flops"), lr_samples=20
    )
    collectors, planned = plan([load_all()[p]() for p in settings.proxies])
    assert collectors == frozenset() and planned == ("az_nas", "flops", "linear_regions", "per_sample")
    Scorer("nb201", "ImageNet16-120", settings, device="cpu").score(0, MIXED)
    assert calls == {"per_sample": 1, "linear_regions": 1, "flops": 1, "az_nas": 1}


@pytest.fixture(scope="module")
def every_proxy_records():
    settings = ScoreSettings(batch_size=6, proxies=tuple(load_all()), lga_steps=2, lr_samples=50)
    scorer = Scorer("nb201", "ImageNet16-120", settings, device="cpu")
    return {arch: scorer.score(i, arch) for i, arch in enumerate([MIXED, IDENTITY, ALL_NONE])}


def test_every_proxy_scores_a_normal_network_finitely(every_proxy_records):
    rec = every_proxy_records[MIXED]
    for name, values in rec.proxies.items():
        assert set(values) == set(load_all()[name].components), name
        for comp, v in values.items():
            assert math.isfinite(v), f"{name}.{comp} = {v}"


def test_degenerate_networks_give_documented_values(every_proxy_records):
    dead = every_proxy_records[ALL_NONE].proxies
    # nothing reaches the classifier: every gradient and every input sensitivity is zero
    assert dead["grad_norm"]["score"] == 0.0 and dead["snip"]["score"] == 0.0 and dead["synflow"]["score"] == 0.0
    assert math.isnan(dead["jacov"]["score"])  # constant Jacobians have no correlation
    assert dead["naswot"]["score"] == -math.inf  # identical codes: singular kernel
    assert dead["tenas"]["ntk_cond"] == math.inf
    assert dead["zen"]["score"] == -math.inf
    # identity cells: AZ-NAS's -inf trainability
    assert every_proxy_records[IDENTITY].proxies["az_nas"]["trainability"] == -math.inf


def test_vkdnw_dimension_counts_parameter_tensors(every_proxy_records):
    scorer = Scorer("nb201", "ImageNet16-120", ScoreSettings(batch_size=2), device="cpu")
    n_tensors = len(list(scorer.build(MIXED).parameters()))
    assert every_proxy_records[MIXED].proxies["vkdnw"]["dim"] == n_tensors


@pytest.mark.slow
def test_scores_are_deterministic():
    settings = ScoreSettings(batch_size=4, proxies=("zen", "az_nas", "gradalign_ii", "zico"))
    a = Scorer("nb201", "ImageNet16-120", settings, device="cpu").score(0, MIXED).proxies
    b = Scorer("nb201", "ImageNet16-120", settings, device="cpu").score(0, MIXED).proxies
    assert a == b


def test_population_scores_are_added_from_components():
    df = pd.DataFrame(
        {
            "tenas.ntk_cond": [10.0, 1.0, 5.0],
            "tenas.linear_regions": [3.0, 3.0, 1.0],
            "az_nas.expressivity": [1.0, 2.0, 3.0],
            "az_nas.progressivity": [1.0, 2.0, 3.0],
            "az_nas.trainability": [1.0, 2.0, 3.0],
            "az_nas.complexity": [1.0, 2.0, 3.0],
        }
    )
    add_population_scores(df)
    # tenas: rank(-cond) = [1, 3, 2], rank(regions) = [2.5, 2.5, 1]
    assert df["tenas"].tolist() == [3.5, 5.5, 3.0]
    assert df["az_nas"].iloc[2] == pytest.approx(0.0) and df["az_nas"].is_monotonic_increasing


# ----------------------------------------------------------------------------- real-image batches


def _cifar_file(tmp_path, n=20, fine=False):
    rng = np.random.default_rng(0)
    d = {
        b"data": rng.integers(0, 256, (n, 3 * 32 * 32), dtype=np.uint8),
        (b"fine_labels" if fine else b"labels"): list(rng.integers(0, 10, n)),
    }
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(d))
    return path


def test_cifar_batch_is_seeded_standardised_and_resized(tmp_path):
    path = _cifar_file(tmp_path)
    x, y = image_batch(path, 8, 10, 16, seed=3)
    assert x.shape == (8, 3, 16, 16) and y.shape == (8,)
    x2, y2 = image_batch(path, 8, 10, 16, seed=3)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    x32, _ = image_batch(path, 8, 10, 32, seed=3)
    assert torch.allclose(x32.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert describe_input(path).startswith("file:data_batch_1:sha256=")
    assert describe_input(None) == "gaussian"


def test_npz_batch_and_bad_files(tmp_path):
    npz = tmp_path / "b.npz"
    np.savez(npz, x=np.random.rand(10, 8, 8, 3).astype(np.float32), y=np.arange(10) % 4)
    x, _ = image_batch(npz, 4, 4, 8, seed=0)
    assert x.shape == (4, 3, 8, 8)
    with pytest.raises(DataError, match="does not exist"):
        image_batch(tmp_path / "missing", 4, 4, 8, seed=0)
    with pytest.raises(DataError, match="fewer than the batch size"):
        image_batch(npz, 64, 4, 8, seed=0)
    with pytest.raises(DataError, match="out of range"):
        image_batch(npz, 4, 2, 8, seed=0)
    bad = tmp_path / "bad.npz"
    np.savez(bad, images=np.zeros((4, 3, 8, 8)))
    with pytest.raises(DataError, match="needs arrays 'x' and 'y'"):
        image_batch(bad, 2, 4, 8, seed=0)
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="not a CIFAR python batch"):
        image_batch(junk, 2, 4, 8, seed=0)


def test_scorer_uses_real_images_when_configured(tmp_path):
    path = _cifar_file(tmp_path, fine=True)
    real = Scorer("nb201", "cifar10", ScoreSettings(batch_size=4, data=str(path)), device="cpu")
    gauss = Scorer("nb201", "cifar10", ScoreSettings(batch_size=4), device="cpu")
    assert not torch.equal(real.x, gauss.x)
    assert torch.equal(real.x, image_batch(path, 4, 10, 32, seed=0)[0])


def test_probe_only_metadata_matches_each_builtin_class():
    """PROBE_ONLY (torch-free planning metadata) says exactly which built-ins need no collector or pass."""
    from intrain.proxies import BUILTIN, PROBE_ONLY, get_proxy

    assert {name for name in BUILTIN if not get_proxy(name).active_needs} == PROBE_ONLY

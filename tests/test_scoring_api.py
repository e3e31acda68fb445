"""The public Python API: any classifier, any proxy, one call; the caller's model never changes."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

import intrain
from intrain.core.errors import InputError
from intrain.proxies import list_proxies

#: proxies whose value may be NaN on a network without the structure they read (documented in the README)
POPULATION = {"tenas", "az_nas"}


def plain_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 10),
    )


class Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.short = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
            if stride != 1 or c_in != c_out
            else nn.Identity()
        )
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + self.short(x))


class TinyResNet(nn.Module):
    """A ResNet-style model written here: no built-in space, no forward_features/feature_modules."""

    def __init__(self, classes: int = 7):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.layer1 = Block(8, 8, 1)
        self.layer2 = Block(8, 16, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, classes)

    def forward(self, x):
        return self.fc(self.pool(self.layer2(self.layer1(self.stem(x)))).flatten(1))


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("make", [plain_cnn, TinyResNet])
def test_every_proxy_scores_a_custom_model_and_leaves_it_unchanged(make):
    model = make()
    model.eval()
    before = _state(model)
    grads_before = [p.grad for p in model.parameters()]
    names = list_proxies()
    structure = (
        {"features": "layer2", "blocks": ["stem", "layer1", "layer2"]}
        if make is TinyResNet
        else {"features": "5", "blocks": ["2", "5"]}
    )
    result = intrain.score(
        model,
        names,
        input_shape=(3, 16, 16),
        batch_size=6,
        device="cpu",
        options={"lga_steps": 1, "lr_samples": 20},
        **structure,
    )
    after = _state(model)
    assert before.keys() == after.keys()
    for k in before:  # weights, BN running mean/var and num_batches_tracked: bit for bit
        assert torch.equal(before[k], after[k]), k
    assert [p.grad for p in model.parameters()] == grads_before  # no gradients left on the caller's model
    assert not model.training  # its mode too
    for name in names:
        if name in POPULATION:
            with pytest.raises(KeyError, match="rank_population"):
                result[name]
            continue
        assert math.isfinite(result[name]), (name, result[name])
    assert result["params"] == sum(p.numel() for p in model.parameters())
    assert list(result.layers["kind"]).count("Linear") == 1
    assert (result.params["health"].between(0, 1)).all()
    row = result.to_frame()
    assert len(row) == 1 and "intrain.gamma" in row.columns and "az_nas.complexity" in row.columns


def test_num_classes_is_read_from_the_model():
    result = intrain.score(TinyResNet(classes=7), ["intrain"], input_shape=(3, 8, 8), batch_size=4, device="cpu")
    assert result.layers.iloc[-1]["channels"] == 7


@pytest.mark.slow
def test_same_score_as_the_workflow_scorer_on_a_benchmark_network():
    from intrain.core.records import ScoreSettings
    from intrain.scoring.scorer import Scorer

    arch = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    scorer = Scorer(
        "nb201", "cifar10", ScoreSettings(batch_size=8, proxies=("intrain", "synflow", "naswot")), device="cpu"
    )
    record = scorer.score(0, arch)
    result = intrain.score(
        lambda: scorer.space.build(arch, "cifar10"),
        ["intrain", "synflow", "naswot"],
        batch_size=8,
        device="cpu",
        num_classes=10,
    )
    for name in ("intrain", "synflow", "naswot"):
        assert result[name] == record.proxies[name]["score"], name


def test_a_factory_is_called_fresh_and_seeded():
    calls = []

    def factory():
        calls.append(1)
        return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))

    a = intrain.score(factory, ["intrain", "synflow"], input_shape=(3, 8, 8), batch_size=4, device="cpu", seed=3)
    b = intrain.score(factory, ["intrain", "synflow"], input_shape=(3, 8, 8), batch_size=4, device="cpu", seed=3)
    assert a.scores == b.scores and len(calls) >= 4


@pytest.mark.slow
def test_population_proxies_rank_across_results():
    results = [
        intrain.score(
            TinyResNet(),
            ["tenas"],
            input_shape=(3, 8, 8),
            batch_size=4,
            device="cpu",
            seed=s,
            options={"lr_samples": 10},
        )
        for s in range(3)
    ]
    ranks = intrain.rank_population(results, "tenas")
    assert ranks.shape == (3,)
    comps = np.array([[r.components["tenas.ntk_cond"], r.components["tenas.linear_regions"]] for r in results])
    from scipy.stats import rankdata

    assert np.allclose(ranks, rankdata(-comps[:, 0]) + rankdata(comps[:, 1]))
    with pytest.raises(InputError, match="not ranked across a population"):
        intrain.rank_population(results, "synflow")


def test_structure_a_proxy_needs_is_asked_for_in_words():
    with pytest.raises(TypeError, match="features='<module name>'"):
        intrain.score(TinyResNet(), ["zen"], input_shape=(3, 8, 8), batch_size=4, device="cpu")
    with pytest.raises(TypeError, match="blocks="):
        intrain.score(TinyResNet(), ["az_nas"], input_shape=(3, 8, 8), batch_size=4, device="cpu")
    with pytest.raises(ValueError, match="no module 'nope'"):
        intrain.score(TinyResNet(), ["zen"], input_shape=(3, 8, 8), batch_size=4, device="cpu", features="nope")


def test_bad_calls_are_refused_in_words():
    with pytest.raises(InputError, match="unknown proxy 'nope'.*available"):
        intrain.score(plain_cnn(), ["nope"], device="cpu")
    with pytest.raises(InputError, match="torch.nn.Module or a zero-argument factory"):
        intrain.score(42, ["intrain"], device="cpu")
    with pytest.raises(InputError, match=r"\(batch, classes\) logits"):
        intrain.score(nn.Conv2d(3, 4, 3), ["intrain"], device="cpu")
    with pytest.raises(InputError, match="labels must be integers"):
        intrain.score(
            plain_cnn(), ["intrain"], device="cpu", inputs=(torch.zeros(4, 3, 8, 8), torch.tensor([0, 1, 2, 99]))
        )


def test_explicit_inputs_are_used():
    x, y = torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 3])
    a = intrain.score(plain_cnn(), ["intrain"], device="cpu", inputs=(x, y))
    b = intrain.score(plain_cnn(), ["intrain"], device="cpu", inputs=(x * 2 + 1, y))
    assert a["intrain"] != b["intrain"]
    assert a.extras["pass_seconds"] > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_the_call_on_cpu():
    cpu = intrain.score(plain_cnn(), ["intrain", "synflow", "naswot"], device="cpu")
    gpu = intrain.score(plain_cnn(), ["intrain", "synflow", "naswot"], device="cuda")
    for k in cpu.scores:
        assert gpu[k] == pytest.approx(cpu[k], rel=0.05)


def test_import_intrain_is_light():
    code = (
        "import sys, intrain; intrain.list_proxies(); intrain.__version__; "
        "print(sorted(m for m in ('torch', 'h5py', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

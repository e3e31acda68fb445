"""Issue 19: paired Δτ bootstrap, natural-image input, the reference protocol (network, init,
definitions) next to the uniform one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from intrain.stats import kendall, paired_tau_difference


# ----------------------------------------------------------------------------- paired Δτ


def test_identical_proxies_differ_by_exactly_zero():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=50)
    a = truth + rng.normal(size=50)
    d = paired_tau_difference(a, a.copy(), truth, n_boot=200, seed=1)
    assert d.delta == 0.0 and d.lo == 0.0 and d.hi == 0.0 and d.n == 50


def test_truth_beats_noise_and_the_interval_excludes_zero():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=200)
    noisy = truth + 2.0 * rng.normal(size=200)
    d = paired_tau_difference(truth, noisy, truth, n_boot=300, seed=2)
    assert d.tau_a == pytest.approx(1.0)
    assert d.delta == pytest.approx(1.0 - kendall(noisy, truth))
    assert 0 < d.lo <= d.delta <= d.hi
    swapped = paired_tau_difference(noisy, truth, truth, n_boot=300, seed=2)
    assert swapped.delta == pytest.approx(-d.delta) and swapped.hi < 0


def test_hand_checkable_case_and_exclusions():
    # truth 1..4; a ranks all 4 right (τ = 1); b swaps the first two: 5 concordant, 1 discordant -> τ = 4/6
    truth = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    a = np.array([1.0, 2.0, 3.0, 4.0, np.nan])  # the NaN row is excluded from both proxies
    b = np.array([2.0, 1.0, 3.0, 4.0, 0.0])
    d = paired_tau_difference(a, b, truth, n_boot=0)
    assert (d.n, d.n_excluded) == (4, 1)
    assert d.tau_a == pytest.approx(1.0) and d.tau_b == pytest.approx(4 / 6)
    assert d.delta == pytest.approx(2 / 6) and np.isnan(d.lo)


def test_interval_is_reproducible_per_seed_and_paired():
    rng = np.random.default_rng(3)
    truth = rng.normal(size=80)
    a = truth + rng.normal(size=80)
    b = a + 0.05 * rng.normal(size=80)  # nearly the same ranking as a: the paired CI is narrow
    d1 = paired_tau_difference(a, b, truth, n_boot=200, seed=5)
    d2 = paired_tau_difference(a, b, truth, n_boot=200, seed=5)
    assert (d1.lo, d1.hi) == (d2.lo, d2.hi)
    from intrain.stats import correlate

    ca = correlate(a, truth, n_boot=200, seed=5)
    # the unpaired intervals overlap almost entirely; the paired one is much narrower than either
    assert (d1.hi - d1.lo) < 0.5 * (ca.kendall_hi - ca.kendall_lo)


def _fake_scores(tmp_path, n=12):
    from intrain.groundtruth import accuracy_column
    from tests.helpers import fake_artifact, ladder

    path = fake_artifact(tmp_path / "a.h5", ladder(n, np.random.default_rng(0)))
    gt = pd.DataFrame({"arch_index": range(n), "arch": [f"arch{i}" for i in range(n)],
                       "canonical": [f"arch{i}" for i in range(n)],
                       accuracy_column("cifar10", "test"): np.linspace(50, 90, n)})
    gt.to_csv(tmp_path / "gt.csv", index=False)
    return str(path), str(tmp_path / "gt.csv")


def test_pair_table_over_an_artifact(tmp_path):
    from intrain.correlate import pair_table

    path, gt = _fake_scores(tmp_path)
    table = pair_table([path], gt, [("intrain", "intrain")], n_boot=50)
    row = table.iloc[0]
    assert row.n == 12 and row.delta == 0 and row.lo == 0 and row.hi == 0
    with pytest.raises(ValueError, match="nope"):
        pair_table([path], gt, [("intrain", "nope")], n_boot=10)


def test_correlate_cli_prints_and_writes_the_pairs(tmp_path):
    import subprocess
    import sys

    path, gt = _fake_scores(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "intrain", "correlate", "--groundtruth", gt, "--n-boot", "20",
                           "--out", str(tmp_path / "c.csv"), "--pairs", "intrain:intrain.gamma",
                           "--pairs-out", str(tmp_path / "p.csv"), path], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    pairs = pd.read_csv(tmp_path / "p.csv")
    assert list(pairs[["a", "b"]].iloc[0]) == ["intrain", "intrain.gamma"]
    corr = pd.read_csv(tmp_path / "c.csv").set_index("proxy")
    assert pairs.delta.iloc[0] == pytest.approx(corr.kendall["intrain"] - corr.kendall["intrain.gamma"])
    assert "tau_a" in proc.stdout


# ----------------------------------------------------------------------------- natural input


def test_natural_batch_is_seeded_and_normalised_per_dataset():
    import torch

    from intrain.inputs import DATASET_STATS, natural_batch

    x1, y1 = natural_batch(16, 10, 32, seed=0, dataset="cifar10")
    x2, y2 = natural_batch(16, 10, 32, seed=0, dataset="cifar10")
    x3, _ = natural_batch(16, 10, 32, seed=1, dataset="cifar10")
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, x3)
    assert x1.shape == (16, 3, 32, 32) and x1.dtype == torch.float32 and y1.max() < 10
    # undoing the CIFAR-10 normalisation gives pixel values in [0, 1] on the 1/255 grid
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in DATASET_STATS["cifar10"])
    pixels = x1 * std + mean
    assert pixels.min() >= -1e-6 and pixels.max() <= 1 + 1e-6
    assert torch.allclose(pixels * 255, (pixels * 255).round(), atol=1e-3)
    # another dataset: the same pixels, its own constants
    x16, _ = natural_batch(16, 120, 16, seed=0, dataset="ImageNet16-120")
    assert x16.shape == (16, 3, 16, 16)
    xc100, _ = natural_batch(16, 100, 32, seed=0, dataset="cifar100")
    mean100, std100 = (torch.tensor(v).view(1, 3, 1, 1) for v in DATASET_STATS["cifar100"])
    assert torch.allclose(xc100 * std100 + mean100, pixels, atol=1e-5)
    # crops of one photograph are not noise: neighbouring pixels are strongly correlated
    a, b = x1[..., :, :-1].flatten(), x1[..., :, 1:].flatten()
    assert torch.corrcoef(torch.stack([a, b]))[0, 1] > 0.8


def test_natural_provenance_names_the_photographs_and_the_batch_digest():
    from intrain.inputs import DataError, describe_input, natural_batch, natural_names
    from intrain.scoring import ScoreSettings, Scorer

    s = Scorer("nb201", "cifar10", ScoreSettings(batch_size=4, data="natural", proxies=("params",)), device="cpu")
    again = Scorer("nb201", "cifar10", ScoreSettings(batch_size=4, data="natural", proxies=("params",)), device="cpu")
    other = Scorer("nb201", "cifar10", ScoreSettings(batch_size=4, seed=1, data="natural", proxies=("params",)),
                   device="cpu")
    d = describe_input("natural", s.x)
    assert d.startswith("natural:grace_hopper.jpg:sha256=") and len(d.rsplit("=", 1)[1]) == 16
    assert d == describe_input("natural", again.x) != describe_input("natural", other.x)
    x, _ = natural_batch(4, 10, 32, 0, "cifar10", natural_names("natural:grace_hopper.jpg"))
    assert describe_input("natural:grace_hopper.jpg", x) == d
    with pytest.raises(DataError, match="not in matplotlib"):
        natural_batch(4, 10, 32, 0, "cifar10", ("nope.jpg",))
    with pytest.raises(DataError, match="directly in"):
        natural_batch(4, 10, 32, 0, "cifar10", ("../../__init__.py",))
    with pytest.raises(DataError, match="normalisation"):
        natural_batch(4, 10, 32, 0, "mnist")

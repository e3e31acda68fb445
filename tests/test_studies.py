"""Studies computed from stored artifacts, on hand-made and real scored artifacts."""

import numpy as np
import pandas as pd
import pytest

from intrain.analysis import studies
from intrain.core.artifacts import read_scores
from intrain.core.records import ScoreSettings
from intrain.scoring.scorer import Scorer

from .helpers import fake_artifact, ladder


@pytest.fixture
def gt_csv(tmp_path):
    acc = [50.0, 60.0, 55.0, 80.0, 70.0, 90.0]
    df = pd.DataFrame(
        {
            "arch_index": range(6),
            "arch": [f"arch{i}" for i in range(6)],
            "canonical": [f"c{i}" for i in range(6)],
            "acc_cifar10": acc,
            "acc_cifar100": acc,
        }
    )
    path = tmp_path / "gt.csv"
    df.to_csv(path, index=False)
    return path


def test_ablation_recomputes_the_stored_score_without_running_networks(tmp_path, monkeypatch):
    s = Scorer("nb201", "ImageNet16-120", ScoreSettings(batch_size=8), "cpu")
    archs = [
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|",
        "|skip_connect~0|+|none~0|nor_conv_1x1~1|+|nor_conv_1x1~0|none~1|skip_connect~2|",
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    ]
    path = fake_artifact(tmp_path / "real.h5", [s.score(i, a) for i, a in enumerate(archs)], dataset="ImageNet16-120")

    def no_networks(*args, **kwargs):
        raise AssertionError("the ablation must not build a network")

    monkeypatch.setattr("intrain.spaces.nb201.network.build_network", no_networks)
    monkeypatch.setattr("intrain.scoring.scorer.Scorer.score", no_networks)
    table = studies.ablation_scores(str(path))
    stored = read_scores(path)
    np.testing.assert_allclose(table["gamma * (1 + o) / log(L + 1)"], stored["intrain"], rtol=1e-12)
    np.testing.assert_allclose(table["gamma only"], stored["intrain.gamma"], rtol=1e-12)
    np.testing.assert_allclose(table["o only"], stored["intrain.o"], rtol=1e-12)
    L = stored["intrain.n_layers"]
    np.testing.assert_allclose(table["gamma * (1 + o) / L"], stored["intrain.gamma"] * (1 + stored["intrain.o"]) / L)


def test_ablation_table_has_every_variant_and_paper_values(tmp_path, gt_csv):
    path = fake_artifact(tmp_path / "a.h5", ladder(6, np.random.default_rng(0)))
    table = studies.ablation([str(path)], str(gt_csv), n_boot=0)
    assert {
        "gamma only",
        "o only",
        "gamma + o (z-scored)",
        "gamma * (1 + o)",
        "gamma * (1 + o) / L",
        "gamma * (1 + o) / log(L + 1)",
    } <= set(table["variant"])
    row = table[table.variant == "gamma * (1 + o) / log(L + 1)"].iloc[0]
    assert row.paper_kendall == 0.67 and row.n == 6
    assert row.minus_shipped == 0.0  # the shipped score against itself
    other = table.set_index("variant").loc["gamma only"]
    assert other.minus_shipped == pytest.approx(other.kendall - row.kendall)


def test_topk_hand_case(tmp_path, gt_csv):
    # scores increase with index; accuracies are [50, 60, 55, 80, 70, 90]
    path = fake_artifact(tmp_path / "a.h5", ladder(6, np.random.default_rng(0)))
    t = studies.topk([str(path)], str(gt_csv), k=2, frac=0.5).set_index("proxy").loc["intrain"]
    assert t["top2_mean_acc"] == pytest.approx((90 + 70) / 2)
    assert t["top50%_mean_acc"] == pytest.approx((90 + 70 + 80) / 3)
    assert t["top1_acc"] == 90.0 and t["best_acc"] == 90.0 and t["rank_of_best"] == 1


def test_stability_pivots_and_measures_spread():
    corr = pd.DataFrame(
        {
            "space": ["nb201"] * 4,
            "dataset": ["cifar10", "cifar100"] * 2,
            "proxy": ["intrain", "intrain", "synflow", "synflow"],
            "kendall": [0.6, 0.7, 0.5, 0.1],
        }
    )
    t = studies.stability(corr).set_index("proxy")
    assert t.loc["intrain", "mean"] == pytest.approx(0.65)
    assert t.loc["synflow", "range"] == pytest.approx(0.4)
    assert t.loc["intrain", "std"] == pytest.approx(0.05)
    # a space with one dataset has no spread (NaN, shown as –), not a spread of 0
    one = studies.stability(pd.concat([corr, corr.iloc[[0]].assign(space="nb101")])).set_index(["space", "proxy"])
    assert np.isnan(one.loc[("nb101", "intrain"), "std"]) and np.isnan(one.loc[("nb101", "intrain"), "range"])
    assert one.loc[("nb101", "intrain"), "datasets"] == 1 and one.loc[("nb201", "intrain"), "datasets"] == 2


def test_batch_size_and_seed_tables(tmp_path, gt_csv):
    runs = []
    for bs in (8, 64):
        for seed in (0, 1):
            recs = ladder(6, np.random.default_rng(seed))
            if seed == 1:  # swap the two best: a worse ranking for seed 1
                recs[4].proxies["intrain"]["score"], recs[5].proxies["intrain"]["score"] = (
                    recs[5].proxies["intrain"]["score"],
                    recs[4].proxies["intrain"]["score"],
                )
            runs.append(str(fake_artifact(tmp_path / f"b{bs}_s{seed}.h5", recs, batch_size=bs, seed=seed)))
    bs = studies.batch_size(runs, str(gt_csv)).set_index("batch_size")
    assert list(bs.index) == [8, 64] and (bs["seeds"] == 2).all()
    assert bs.loc[64, "paper_kendall"] == 0.669
    assert bs.loc[8, "kendall_std"] > 0
    # latency = median stored forward+backward time, in ms
    assert bs.loc[8, "latency_ms_median"] == pytest.approx(1000 * np.median([0.005 * (i + 1) for i in range(6)]))
    seeds = studies.seed_variance(runs, str(gt_csv))
    assert (seeds["kendall_max"] >= seeds["kendall_min"]).all()


def test_ablation_reads_each_benchmark_once_however_many_artifacts_hold_it(tmp_path, gt_csv):
    """The workflow passes InTrain's artifact and every baseline set's for each benchmark; the
    ablation table held each row twice (80 rows, 40 distinct) before it kept one per benchmark."""
    main = str(fake_artifact(tmp_path / "scores.h5", ladder(6, np.random.default_rng(0))))
    baseline_set = str(fake_artifact(tmp_path / "set-zc.h5", ladder(6, np.random.default_rng(0))))
    other = str(fake_artifact(tmp_path / "c100.h5", ladder(6, np.random.default_rng(1)), dataset="cifar100"))
    once = studies.ablation([main], str(gt_csv), n_boot=0)
    table = studies.ablation([main, baseline_set, other], str(gt_csv), n_boot=0)
    assert len(table) == 2 * len(once)
    assert not table.duplicated(["space", "dataset", "variant"]).any()
    assert studies.ablation_inputs([main, baseline_set, other]) == [main, other]
    pd.testing.assert_frame_equal(table[table.dataset == "cifar10"].reset_index(drop=True), once)


def test_topk_leaves_out_a_constant_score(tmp_path, gt_csv):
    """A score equal on every architecture (e.g. ``swap.samples``) ranks nothing: no top-k row,
    rather than a 'pick' that is just the first architecture listed."""
    records = ladder(6, np.random.default_rng(0))
    for r in records:
        r.proxies["flat"] = {"score": 3.0}
    path = fake_artifact(tmp_path / "a.h5", records)
    assert "flat" in read_scores(path).columns
    t = studies.topk([str(path)], str(gt_csv), k=2, frac=0.5)
    assert "intrain" in set(t["proxy"]) and "flat" not in set(t["proxy"])

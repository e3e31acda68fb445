"""What batching costs (intrain.search.regret, ``intrain search-regret``): regret against T per round
size b on spaces where the answer is known by construction, the paired table, the references
(random search with as many evaluations, the proxy ceiling) and the command's refusals."""

import itertools

import numpy as np
import pandas as pd
import pytest

from intrain.cli import main
from intrain.search.evolution import evolve
from intrain.search.problems import make_problem
from intrain.search.regret import RegretSpace, best_so_far, paired_table, regret_runs, table_markdown
from intrain.spaces.nb201.encoding import EDGES, OPS, Cell

ARCHS = [Cell(ops).to_str() for ops in itertools.product(OPS, repeat=len(EDGES))]


def _space(score_of, seed: int = 0) -> RegretSpace:
    """Every NB201 architecture with distinct accuracies (a seeded permutation of 0..N-1 scaled to
    points) and the score ``score_of(accuracy)``, looked up in memory."""
    acc = np.random.default_rng(seed).permutation(len(ARCHS)) * 0.005 + 10.0
    score = np.asarray(score_of(acc), dtype=float)
    table = dict(zip(ARCHS, score))
    return RegretSpace(list(ARCHS), score, acc, table.__getitem__)


def test_a_perfect_proxy_has_zero_regret_exactly_once_the_best_is_found():
    space = _space(lambda acc: acc)  # score = accuracy
    best = float(space.accuracy.max())
    accuracy = dict(zip(space.archs, space.accuracy))
    ts = [5, 60, 400]
    runs = regret_runs(space, [1, 4], seeds=3, ts=ts)
    assert space.ceiling() == (0.0, 1)
    for (b, seed), group in runs.groupby(["b", "seed"]):
        history = evolve(make_problem("nb201", None), space.lookup, iterations=400, seed=seed, batch=b).history
        for row in group.itertuples():
            seen = history["arch"].iloc[: row.T]
            assert row.regret == pytest.approx(best - max(accuracy[a] for a in seen))  # the best seen so far
            found = bool((seen.map(accuracy) == best).any())
            assert (row.regret == 0) == found
            assert row.distinct_scored == seen.nunique()
    assert (runs["regret"] >= 0).all() and (runs["random_regret"] >= 0).all()


def test_the_random_reference_is_paired_by_seed_and_evaluation_count():
    """Random search on seed s with n evaluations is one pick whatever b asked for it, its regret
    never grows with n, and its pick is the best-scored of what it saw (here score = accuracy)."""
    space = _space(lambda acc: acc, seed=3)
    runs = regret_runs(space, [1, 16], seeds=4, ts=[3, 30, 300])
    same = runs.groupby(["seed", "distinct_scored"])["random_arch"].nunique()
    assert (same == 1).all()
    for _, g in runs.groupby(["b", "seed"]):
        assert (np.diff(g.sort_values("T")["random_regret"].to_numpy()) <= 1e-12).all()
    picks = space.random_picks(0)
    assert space.accuracy[picks[len(ARCHS) - 1]] == space.accuracy.max()  # all of the space seen: the best


def test_the_proxy_ceiling_is_the_best_scored_architecture_mean_over_ties():
    inverse = _space(lambda acc: -acc)  # the proxy prefers the worst network
    regret, ties = inverse.ceiling()
    assert ties == 1 and regret == pytest.approx(inverse.accuracy.max() - inverse.accuracy.min())
    tied = _space(lambda acc: np.minimum(acc, np.sort(acc)[-3]))  # the best three share the top score
    regret, ties = tied.ceiling()
    top3 = np.sort(tied.accuracy)[-3:]
    assert ties == 3 and regret == pytest.approx(top3[-1] - top3.mean())
    tied.score[:] = np.nan
    with pytest.raises(Exception, match="no finite proxy score"):
        tied.ceiling()


def test_best_so_far_lets_earlier_rows_win_ties_and_never_picks_nan():
    assert best_so_far(np.array([np.nan, 2.0, 2.0, 5.0, np.nan, 5.0])).tolist() == [0, 1, 1, 3, 3, 3]


def test_paired_table_differences_are_per_seed():
    space = _space(lambda acc: acc + np.random.default_rng(5).normal(0, 8, len(acc)))  # a noisy proxy
    runs = regret_runs(space, [1, 4, 16], seeds=6, ts=[10, 100])
    table = paired_table(runs, space.ceiling(), n_boot=300)
    assert (table[table.b == 1]["diff_vs_b1"] == 0).all()
    base = runs[runs.b == 1].set_index(["seed", "T"])["regret"]
    for row in table.itertuples():
        g = runs[(runs.b == row.b) & (runs["T"] == row.T)].set_index(["seed", "T"])
        diff = g["regret"] - base.reindex(g.index)
        assert row.diff_vs_b1 == pytest.approx(diff.mean())
        assert row.worse_seeds == (diff > 0).sum() and row.better_seeds == (diff < 0).sum()
        assert row.diff_vs_random == pytest.approx((g["regret"] - g["random_regret"]).mean())
        assert row.regret_lo <= row.mean_regret <= row.regret_hi
        assert row.diff_lo <= row.diff_vs_b1 + 1e-12 and row.diff_vs_b1 <= row.diff_hi + 1e-12
        assert row.ceiling_regret == pytest.approx(space.ceiling()[0])
    text = table_markdown(table)
    assert text.count("| random |") == 2 and "| proxy ceiling |" in text and "| 16 | 100 | 6 |" in text


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    from .test_search_parallel import _full_space_artifact

    return _full_space_artifact(tmp_path_factory.mktemp("regret"), lambda i, a: a)  # a perfect proxy


def test_search_regret_command_writes_the_table_and_refuses_bad_input(artifact, tmp_path, caplog):
    path, gt, accuracy = artifact
    out, runs = tmp_path / "regret.csv", tmp_path / "runs.csv"
    argv = ["search-regret", "--scores", str(path), "--groundtruth", str(gt), "--seeds", "3", "--t-max", "40"]
    assert main([*argv, "--batches", "1", "4", "--n-boot", "50", "--runs", str(runs), "--out", str(out)]) == 0
    table, picks = pd.read_csv(out), pd.read_csv(runs)
    assert sorted(set(table["T"])) == [10, 25, 40] and sorted(set(table.b)) == [1, 4]
    assert (table.ceiling_regret == 0).all() and (table.seeds == 3).all()
    best = max(accuracy.values())
    assert np.allclose(picks["regret"], [best - accuracy[a] for a in picks["arch"]])
    assert main([*argv, "--batches", "4", "16", "--out", str(tmp_path / "x.csv")]) == 2
    assert "including 1" in caplog.text and not (tmp_path / "x.csv").exists()
    assert main([*argv, "--metric", "valid", "--out", str(tmp_path / "y.csv")]) == 2
    assert "no valid_cifar10 column" in caplog.text


def test_a_partial_artifact_is_refused_before_any_search(tmp_path, caplog):
    from intrain.core.artifacts import write_shard

    from .helpers import fake_record

    records = []
    for i, arch in enumerate(ARCHS[:3]):
        rec = fake_record(i, [(2.0, 1.0, 16.0)], [(0.1, 1.0)])
        rec.arch, rec.proxies = arch, {"intrain": {"score": float(i)}}
        records.append(rec)
    path = tmp_path / "part.h5"
    write_shard(path, records, {"space": "nb201", "dataset": "cifar10", "shard": 0, "n_shards": 1, "settings": {}})
    gt = tmp_path / "gt.csv"
    pd.DataFrame(
        {"arch_index": range(3), "arch": ARCHS[:3], "canonical": ARCHS[:3], "acc_cifar10": [1.0, 2, 3]}
    ).to_csv(gt, index=False)
    argv = ["search-regret", "--scores", str(path), "--groundtruth", str(gt), "--out", str(tmp_path / "r.csv")]
    assert main(argv) == 2
    assert f"lacks {len(ARCHS) - 3:,} architectures of the space" in caplog.text
    assert not (tmp_path / "r.csv").exists()


def _small_artifact(tmp_path, dataset: str = "cifar10"):
    """Three NB201 architectures scored on ``dataset`` (enough for every refusal that comes first)."""
    from intrain.core.artifacts import write_shard

    from .helpers import fake_record

    records = []
    for i, arch in enumerate(ARCHS[:3]):
        rec = fake_record(i, [(2.0, 1.0, 16.0)], [(0.1, 1.0)])
        rec.arch, rec.proxies = arch, {"intrain": {"score": float(i)}}
        records.append(rec)
    path = tmp_path / f"small-{dataset}.h5"
    write_shard(path, records, {"space": "nb201", "dataset": dataset, "shard": 0, "n_shards": 1, "settings": {}})
    return path


def _refused(argv, caplog, *words):
    """The command exits 2 with every one of ``words`` in its message and no traceback."""
    caplog.clear()
    assert main(argv) == 2
    for w in words:
        assert w in caplog.text, (w, caplog.text)
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--T", "0"], ["--T 0", "from 1 to --t-max"]),
        (["--T", "-3"], ["--T -3"]),
        (["--T", "41"], ["--T 41", "(40)"]),
        (["--seeds", "40000"], ["--seeds 40000", "10,000"]),
        (["--seeds", "0"], ["--seeds 0"]),
        (["--t-max", "1000000000000"], ["--t-max 1000000000000", "100,000"]),
        (["--n-boot", "-5"], ["--n-boot -5"]),
    ],
)
def test_search_regret_refuses_counts_out_of_range_before_reading_anything(tmp_path, caplog, extra, words):
    """--T 0 and --T -3 ran (a pick of row -1); 40,000 seeds built every permutation up front (a
    numpy MemoryError). The artifact here does not even exist: the counts are refused first."""
    out = tmp_path / "r.csv"
    argv = ["search-regret", "--scores", str(tmp_path / "none.h5"), "--groundtruth", str(tmp_path / "none.csv")]
    _refused([*argv, "--t-max", "40", *extra, "--out", str(out)], caplog, *words)
    assert not out.exists()


def test_search_regret_refuses_an_artifact_of_another_dataset_naming_both(tmp_path, caplog):
    path = _small_artifact(tmp_path, "cifar100")
    gt = tmp_path / "gt.csv"
    pd.DataFrame(
        {"arch_index": range(3), "arch": ARCHS[:3], "canonical": ARCHS[:3], "acc_cifar10": [1.0, 2, 3]}
    ).to_csv(gt, index=False)
    argv = ["search-regret", "--scores", str(path), "--groundtruth", str(gt), "--out", str(tmp_path / "r.csv")]
    _refused(argv, caplog, "--scores", "'cifar100'", "'cifar10'")
    assert "search.scores_from" not in caplog.text  # the command's own option is named
    assert not (tmp_path / "r.csv").exists()


def test_evolve_scores_from_refuses_an_artifact_of_another_dataset(tmp_path, caplog):
    path = _small_artifact(tmp_path, "cifar10")
    argv = ["evolve", "--space", "nb201", "--dataset", "cifar100", "--iterations", "5", "--no-progress"]
    log = tmp_path / "l.h5"
    argv += ["--out-dir", str(tmp_path / "out"), "--scores-from", str(path), "--log", str(log)]
    _refused(argv, caplog, "'cifar10' scores", "dataset 'cifar100'")
    assert not log.exists()


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (
            lambda gt: gt.assign(acc_cifar10=gt["acc_cifar10"].astype(object).where(gt.index != 7, "oops")),
            ["acc_cifar10 is not a number in row 8", "'oops'"],
        ),
        (
            lambda gt: pd.concat([gt, gt.iloc[[5]].assign(acc_cifar10=1.0)], ignore_index=True),
            ["lists architecture", "more than once"],
        ),
    ],
)
def test_search_regret_refuses_a_broken_ground_truth_naming_the_cell(artifact, tmp_path, caplog, edit, words):
    """A text accuracy was a ValueError traceback; a repeated architecture silently kept the last row."""
    path, gt, _ = artifact
    bad = tmp_path / "gt.csv"
    edit(pd.read_csv(gt)).to_csv(bad, index=False)
    argv = ["search-regret", "--scores", str(path), "--groundtruth", str(bad), "--seeds", "1", "--t-max", "5"]
    _refused([*argv, "--out", str(tmp_path / "r.csv")], caplog, *words)
    if "more than once" in words:
        assert pd.read_csv(gt)["arch"].iloc[5] in caplog.text


def test_an_artifact_without_finite_scores_is_refused_before_any_search(monkeypatch, artifact, tmp_path, caplog):
    """The ceiling check ran after every search; now no search starts (evolve is never called)."""
    import intrain.search.regret as regret

    path, gt, _ = artifact
    monkeypatch.setattr(RegretSpace, "load", classmethod(lambda cls, *a, **k: _space(lambda acc: acc * np.nan)))
    monkeypatch.setattr(regret, "evolve", lambda *a, **k: pytest.fail("a search ran"))
    argv = ["search-regret", "--scores", str(path), "--groundtruth", str(gt), "--seeds", "2", "--t-max", "5"]
    _refused([*argv, "--out", str(tmp_path / "r.csv")], caplog, "no finite proxy score")


def test_random_picks_are_built_per_seed_and_agree_with_the_whole_permutation():
    space = _space(lambda acc: acc, seed=4)
    for seed in (0, 9):
        assert space.random_picks(seed, 50).tolist() == space.random_picks(seed)[:50].tolist()


def test_best_so_far_picks_row_0_while_every_score_is_nan():
    assert best_so_far(np.array([np.nan, np.nan, 1.0])).tolist() == [0, 0, 2]

"""The Snakemake workflow for real: lint, dry runs of the shipped configs, a tiny end-to-end run,
and config validation naming the bad key."""

import subprocess
import sys

import pandas as pd
import pytest

from intrain.core.artifacts import read_attrs, read_scores

from .conftest import REPO

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def smk(*args, cwd=REPO, check=True):
    proc = subprocess.run([*SNAKEMAKE, *map(str, args)], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(map(str, args))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


@pytest.mark.slow
def test_lint_is_clean():
    proc = smk("--lint")
    assert "Congratulations" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "configfiles, n_score_jobs, n_shared_jobs, n_set_jobs",
    [
        ((), 4, 2, 8),  # first run: NB201 (2 shards) IN16 alone, CIFAR-10 + CIFAR-100 shared; NB101 and NDS-DARTS alone
        (("config/full.yaml",), 20, 20, 0),  # InTrain only
        (("config/nb101_full.yaml",), 50, 0, 50),  # NB201 and the studies off
        (("config/nds.yaml",), 49, 0, 49),  # seven NDS spaces, shards of 20
        (("config/nds.yaml", "config/nds_gradalign.yaml"), 7, 0, 7),  # zc set off, gradalign on
    ],
)
@pytest.mark.slow
def test_dry_run_of_shipped_configs(tmp_path, mirror, configfiles, n_score_jobs, n_shared_jobs, n_set_jobs):
    args = ["-n", "--cores", 2, "--config", f"results={tmp_path}/r", f"mirror={mirror}"]
    if configfiles:
        args = ["--configfile", *configfiles, *args]
    out = smk(*args).stdout
    counts = {
        cells[0]: int(cells[1])
        for cells in (line.split() for line in out.splitlines())
        if len(cells) == 2 and cells[1].isdigit()
    }
    assert counts.get("score") == n_score_jobs, counts
    assert counts.get("score_shared", 0) == n_shared_jobs and counts.get("score_set", 0) == n_set_jobs, counts


@pytest.mark.slow
def test_tiny_config_end_to_end(tmp_path, mirror):
    results = tmp_path / "results"
    smk("--cores", 2, "--configfile", "config/tiny.yaml", "--config", f"results={results}", f"mirror={mirror}")
    corr = pd.read_csv(results / "correlations.csv")
    assert set(corr.dataset) == {"cifar10", "ImageNet16-120"}
    assert set(corr[corr.proxy == "intrain"].n) == {6}
    scores = read_scores(results / "nb201" / "cifar10" / "scores.h5")
    assert len(scores) == 6 and scores["intrain"].notna().all()
    attrs = read_attrs(results / "nb201" / "cifar10" / "scores.h5")
    assert attrs["batch_size"] == 8 and attrs["device"] == "cpu" and len(attrs["config_hash"]) == 64
    html = (results / "report" / "index.html").read_text()
    assert "scatter_intrain.png" in html and (results / "report" / "scatter_intrain.png").stat().st_size > 1000
    # studies: batch sizes x seeds on cifar10, seeds on every dataset, tables in the report
    bs = pd.read_csv(results / "studies" / "batch_size.csv")
    assert sorted(bs.batch_size) == [2, 8] and (bs.seeds == 2).all() and (bs.latency_ms_median > 0).all()
    seeds = pd.read_csv(results / "studies" / "seeds.csv")
    assert set(seeds.dataset) == {"cifar10", "ImageNet16-120"}
    abl = pd.read_csv(results / "studies" / "ablation.csv")
    full = abl[abl.variant == "gamma * (1 + o) / log(L + 1)"].set_index("dataset")["kendall"]
    main = corr[corr.proxy == "intrain"].set_index("dataset")["kendall"]
    assert (full.sort_index() - main.sort_index()).abs().max() < 1e-12  # recomputed == stored
    for table in ("topk", "stability"):
        assert len(pd.read_csv(results / "studies" / f"{table}.csv")) > 0
    for title in ("Ablation", "Batch-size sensitivity", "Seed variance", "Dataset stability", "Top-k quality"):
        assert title in html
    from intrain.analysis.render import find_browser, render_check

    if find_browser():
        assert render_check(results / "report" / "index.html")["status"] == "ok"
    # Snakemake's own report from the report() outputs
    smk(
        "--report",
        tmp_path / "smk-report.zip",
        "--configfile",
        "config/tiny.yaml",
        "--config",
        f"results={results}",
        f"mirror={mirror}",
    )
    assert (tmp_path / "smk-report.zip").stat().st_size > 10_000
    # nothing left to do; a deleted shard is regenerated alone
    assert (
        "Nothing to be done"
        in smk(
            "-n", "--cores", 2, "--configfile", "config/tiny.yaml", "--config", f"results={results}", f"mirror={mirror}"
        ).stdout
    )
    shard = results / "nb201" / "cifar10" / "shards" / "shard-001.h5"
    other = results / "nb201" / "cifar10" / "shards" / "shard-000.h5"
    before = other.stat().st_mtime_ns, other.read_bytes()
    shard.unlink()
    smk(shard, "--cores", 2, "--configfile", "config/tiny.yaml", "--config", f"results={results}", f"mirror={mirror}")
    assert shard.exists()
    assert (other.stat().st_mtime_ns, other.read_bytes()) == before
    # the regenerated shard is newer than the merged file: the next run re-merges, rescoring nothing
    out = smk(
        "-n", "--cores", 2, "--configfile", "config/tiny.yaml", "--config", f"results={results}", f"mirror={mirror}"
    ).stdout
    assert "merge" in out and not any(line.strip().startswith("score ") for line in out.splitlines())


@pytest.mark.parametrize(
    "override, message",
    [
        ("scoring={'batch_size': -1}", "batch_size"),
        ("scoring={'proxies': ['magic']}", "magic"),
        ("spaces={'nb201': {'sample': 20000}}", "sample"),
        ("spaces={'nb201': {'datasets': ['mnist']}}", "mnist"),
        ("device=tpu", "device"),
        ("spaces={'nb201': {'archs': ['|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|']}}", "archs"),
    ],
)
@pytest.mark.slow
def test_bad_config_is_rejected_naming_the_key(tmp_path, override, message):
    proc = smk("-n", "--cores", 1, "--config", f"results={tmp_path}", override, check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr


@pytest.mark.slow
def test_explicit_architectures_are_scored(tmp_path, mirror):
    archs = [
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        "|nor_conv_1x1~0|+|none~0|none~1|+|nor_conv_3x3~0|skip_connect~1|none~2|",
        "|none~0|+|nor_conv_1x1~0|none~1|+|nor_conv_3x3~0|none~1|skip_connect~2|",
    ]
    cfg = tmp_path / "archs.yaml"
    cfg.write_text(
        "spaces:\n  nb201:\n    datasets: [ImageNet16-120]\n    shard_size: 2\n    archs:\n"
        + "".join(f"      - '{a}'\n" for a in archs)
        + "studies:\n  enabled: false\n"
    )
    results = tmp_path / "r"
    smk(
        f"{results}/nb201/ImageNet16-120/scores.h5",
        "--cores",
        2,
        "--configfile",
        "config/tiny.yaml",
        cfg,
        "--config",
        f"results={results}",
        f"mirror={mirror}",
    )
    scores = read_scores(results / "nb201" / "ImageNet16-120" / "scores.h5")
    assert sorted(scores["arch"]) == sorted(archs)


@pytest.mark.slow
def test_cifar_pair_is_scored_in_shared_jobs_equal_to_separate_scoring(tmp_path, mirror):
    import torch

    from intrain.core.records import ScoreSettings
    from intrain.scoring.scorer import Scorer

    cfg = tmp_path / "pair.yaml"
    cfg.write_text(
        "spaces:\n  nb201:\n    datasets: [cifar10, cifar100]\n    sample: 4\n    shard_size: 2\n"
        "studies:\n  enabled: false\nbaselines:\n  sets:\n    zc: {enabled: false}\n"
    )
    results = tmp_path / "r"
    targets = [f"{results}/nb201/{d}/scores.h5" for d in ("cifar10", "cifar100")]
    proc = smk(
        *targets,
        "--cores",
        2,
        "--configfile",
        "config/tiny.yaml",
        cfg,
        "--config",
        f"results={results}",
        f"mirror={mirror}",
    )
    out = proc.stdout + proc.stderr
    assert "rule score_shared" in out and "rule score:" not in out
    assert sorted(p.name for p in (results / "nb201" / "groups" / "cifar10+cifar100").iterdir()) == [
        "shard-000",
        "shard-001",
    ]
    settings = ScoreSettings(batch_size=8)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the jobs ran (score_threads: 1); thread counts differ at ~1e-8
    for dataset, target in zip(("cifar10", "cifar100"), targets):
        scores = read_scores(target)
        scored = scores[scores.arch_index == scores.representative]
        assert len(scores) == 4 and scores["intrain"].notna().all()
        row = scored.iloc[0]
        alone = Scorer("nb201", dataset, settings, "cpu").score(int(row.arch_index), row.arch)
        assert alone.proxies["intrain"]["score"] == row["intrain"]  # bit for bit
    torch.set_num_threads(threads)
    # with share_forward off the same selection is scored one dataset at a time, to the same values
    results2 = tmp_path / "r2"
    off = tmp_path / "off.yaml"
    off.write_text("share_forward: false\n")
    proc = smk(
        targets[1].replace(str(results), str(results2)),
        "--cores",
        2,
        "--configfile",
        "config/tiny.yaml",
        cfg,
        off,
        "--config",
        f"results={results2}",
        f"mirror={mirror}",
    )
    out = proc.stdout + proc.stderr
    assert "rule score_shared" not in out
    a, b = read_scores(targets[1]), read_scores(results2 / "nb201" / "cifar100" / "scores.h5")
    assert a["intrain"].tolist() == b["intrain"].tolist()

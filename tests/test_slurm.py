"""The workflow on a real single-node Slurm cluster (scripts/slurm-cluster.sh), against a local run.

Marked ``slurm``; `.ci/run` runs it (as root, where scripts/setup.sh installed slurm-wlm and
munge). Elsewhere it is skipped unless CI is set, where a missing cluster is a failure.
"""

import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from intrain.core.artifacts import read_layers, read_params, read_scores

from .conftest import REPO

pytestmark = [pytest.mark.slurm, pytest.mark.slow]
CLUSTER = REPO / "scripts" / "slurm-cluster.sh"


@pytest.fixture(scope="module")
def cluster():
    if os.geteuid() != 0 or (shutil.which("apt-get") is None and shutil.which("slurmctld") is None):
        if os.environ.get("CI"):
            pytest.fail("the Slurm test needs root and Debian's slurm-wlm/munge (scripts/setup.sh)")
        pytest.skip("needs root to run a Slurm cluster")
    up = subprocess.run(["bash", str(CLUSTER), "up"], capture_output=True, text=True)
    assert up.returncode == 0, up.stdout + up.stderr
    yield
    subprocess.run(["bash", str(CLUSTER), "down"], capture_output=True, text=True)


def _untimed(scores: pd.DataFrame) -> pd.DataFrame:
    """Scores without wall times: the record's and every proxy's own (``meco.seconds``)."""
    return scores.drop(columns=[c for c in scores.columns if str(c).endswith("seconds")])


def snakemake(tmp, results, mirror, *extra):
    nostudy = tmp / "nostudy.yaml"
    nostudy.write_text("studies:\n  enabled: false\n")
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        *extra,
        "--configfile",
        "config/tiny.yaml",
        str(nostudy),
        "--config",
        f"results={results}",
        f"mirror={mirror}",
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_slurm_run_equals_local_run(cluster, tmp_path, mirror):
    local, slurm = tmp_path / "local", tmp_path / "slurm"
    snakemake(tmp_path, local, mirror, "--cores", "2")
    # status checks every 2 s instead of the profile's pace: the tiny jobs take seconds
    out = snakemake(
        tmp_path,
        slurm,
        mirror,
        "--profile",
        "profiles/slurm",
        "--slurm-logdir",
        str(tmp_path / "slurmlogs"),
        "--seconds-between-status-checks",
        "2",
        "--slurm-init-seconds-before-status-checks",
        "1",
    )
    # every scoring job went through sbatch: one Slurm job (and log) per shard and dataset
    submitted = [line for line in out.splitlines() if "submitted with SLURM jobid" in line and "rule_score" in line]
    shards = sorted((slurm / "nb201").glob("*/shards/shard-*.h5"))
    set_shards = sorted((slurm / "nb201").glob("*/sets/*/shard-*.h5"))  # the default `zc` baseline set
    assert len(shards) == 4 and len(set_shards) == 4
    assert len(submitted) == len(shards) + len(set_shards)
    jobs = subprocess.run(["squeue", "-t", "all", "-h", "-o", "%k %T"], capture_output=True, text=True).stdout
    for shard in shards:
        dataset, name = shard.parent.parent.name, shard.stem.split("-")[1]
        assert f"rule_score_wildcards_nb201_{dataset}_{name} COMPLETED" in jobs
    # same device and seed: identical scores and statistics, bit for bit (timings aside)
    for dataset in ("cifar10", "ImageNet16-120"):
        a, b = local / "nb201" / dataset / "set-zc.h5", slurm / "nb201" / dataset / "set-zc.h5"
        pd.testing.assert_frame_equal(
            _untimed(read_scores(a)),
            _untimed(read_scores(b)),
            check_exact=True,
        )
        a = local / "nb201" / dataset / "scores.h5"
        b = slurm / "nb201" / dataset / "scores.h5"
        sa = _untimed(read_scores(a))
        sb = _untimed(read_scores(b))
        pd.testing.assert_frame_equal(sa, sb, check_exact=True)
        for reader in (read_layers, read_params):
            pd.testing.assert_frame_equal(reader(a), reader(b), check_exact=True)
    pd.testing.assert_frame_equal(pd.read_csv(local / "correlations.csv"), pd.read_csv(slurm / "correlations.csv"))

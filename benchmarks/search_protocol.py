"""Which (batch, resolution) can InTrain-NAS score with and still rank like the paper's setting?

Issue 30, part 2. InTrain's cost falls with the batch B and the input side R; whether its
*ranking* survives is measured here, on architectures a real search visits:

1. **Trajectories.** Per FLOPs budget, Algorithm 1 (``intrain.search.evolution.evolve``, k = 10,
   seed 0, b = 1) runs ``--n`` iterations with the paper's scorer (InTrain at B = 64, R = 64)
   twice: from the space's initial structure (``cold``: the small networks of a search's early
   phase) and from the published ZiCo structure of that budget (``warm``: networks at the budget,
   as in a long search's late phase). The histories *are* search trajectories and their scores
   are the reference. The logs are resumable.
2. **Rescoring.** Every architecture of each history is scored again under each cheaper
   ``B:R`` setting (rows appended to ``<out>/scores.csv`` as they finish: a rerun resumes).
3. **Agreement.** Per budget and setting: Spearman and Kendall against the reference with
   percentile bootstrap CIs over architectures, and the top-10 % overlap (the fraction of the
   reference's top decile that the cheap setting also puts in its top decile).
4. **NB201 check** (``--nb201``): on the seeded NB201 1,000 sample (CIFAR-10), τ against test
   accuracy under each setting (R scaled by the same factor from NB201's native 32: a setting
   labelled ``B16_R32`` is scored on NB201 at R = 16, see the ``nb201_R`` column), with the
   paired bootstrap Δτ against the reference setting (``paired_tau_difference``).

A setting ``64:64:1`` (the reference's B and R under data seed 1) is the noise floor: how well
the paper's setting agrees with itself. The bootstrap resamples architectures as independent;
a trajectory's members are mutated near-copies of each other, so the intervals are narrower than
a resampling of whole trajectories would give (one trajectory per start and budget here).

The cheapest setting whose Spearman with the reference is >= 0.95 at every budget is the one
``config/search_fast.yaml`` ships. One torch thread; a shared machine's load changes the
seconds, never the scores.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python benchmarks/search_protocol.py --n 120 \\
        --settings 32:64 16:64 64:32 32:32 16:32 --out benchmarks/search_protocol
    PYTHONPATH=$PWD OMP_NUM_THREADS=1 INTRAIN_MIRROR=../shared/benchmarks python \\
        benchmarks/search_protocol.py --nb201 results/groundtruth/nb201.csv --out benchmarks/search_protocol
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from intrain.analysis.stats import correlate, paired_tau_difference  # noqa: E402
from intrain.core.records import ScoreSettings  # noqa: E402
from intrain.search.evolution import evolve  # noqa: E402
from intrain.search.problems import proxy_score  # noqa: E402
from intrain.spaces.zennas.mutation import ZenSearch  # noqa: E402

REFERENCE = (64, 64, 0)
BUDGETS = (450e6, 600e6, 1e9)


def parse_setting(text: str) -> tuple[int, int, int]:
    """``"B:R"`` or ``"B:R:seed"`` -> (B, R, seed); a seed other than 0 with the reference's B and R
    is the noise floor (how well the paper's setting agrees with itself under another data seed).

    Examples:
        >>> parse_setting("32:64"), parse_setting("64:64:1")
        ((32, 64, 0), (64, 64, 1))
    """
    try:
        parts = [int(v) for v in text.split(":")]
        b, r, seed = (*parts, 0) if len(parts) == 2 else parts
    except ValueError:
        raise SystemExit(f"setting {text!r}: expected B:R or B:R:seed with integers, e.g. 32:64") from None
    if b < 2 or r < 8 or seed < 0:
        raise SystemExit(f"setting {text!r}: B must be >= 2, R >= 8 and the seed >= 0")
    return b, r, seed


def label(setting: tuple[int, ...]) -> str:
    """``B32_R64``; ``B64_R64_s1`` for another seed.

    Examples:
        >>> label((32, 64, 0)), label((64, 64, 1))
        ('B32_R64', 'B64_R64_s1')
    """
    base = f"B{setting[0]}_R{setting[1]}"
    return base + (f"_s{setting[2]}" if len(setting) > 2 and setting[2] else "")


def top_overlap(ref: np.ndarray, cheap: np.ndarray, frac: float = 0.1) -> float:
    """Fraction of ``ref``'s top ``frac`` that ``cheap`` also ranks in its top ``frac``.

    Examples:
        >>> top_overlap(np.arange(20.0), np.arange(20.0)), top_overlap(np.arange(20.0), -np.arange(20.0))
        (1.0, 0.0)
    """
    k = max(1, int(round(frac * len(ref))))
    a = set(np.argsort(-ref, kind="stable")[:k])
    b = set(np.argsort(-cheap, kind="stable")[:k])
    return len(a & b) / k


def settings_for(b: int, r: int, seed: int = 0) -> ScoreSettings:
    return ScoreSettings(batch_size=b, resolution=r, seed=seed, proxies=("intrain",))


#: Warm starts: the published ZiCo structure of each budget (inside it by construction).
WARM = {450e6: "zico_450M", 600e6: "zico_600M", 1e9: "zico_1G"}


def trajectory(budget: float, start: str, n: int, out: Path) -> pd.DataFrame:
    """The history of an n-iteration Algorithm 1 run at the paper's setting (resumes its log)."""
    from intrain.spaces.zennas.published_structures import PUBLISHED

    problem = ZenSearch(budget) if start == "cold" else ZenSearch(budget, initial=PUBLISHED[WARM[budget]].structure)
    score = proxy_score("zennas", "imagenet", settings_for(*REFERENCE), "intrain", "cpu")
    res = evolve(
        problem, score, iterations=n, k=10, seed=0, log_path=out / f"traj-{int(budget)}-{start}.h5", progress=True
    )
    hist = res.history
    score_col = "score" if "score" in hist.columns else next(c for c in hist.columns if "score" in c)
    return pd.DataFrame(
        {"budget": budget, "start": start, "arch": hist["arch"].astype(str), "reference": hist[score_col].astype(float)}
    )


def rescore(rows: pd.DataFrame, settings: list[tuple[int, int, int]], path: Path) -> pd.DataFrame:
    """InTrain of every (budget, arch) under every setting, appended to ``path`` as it goes."""
    done = (
        pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["budget", "arch", "setting", "score", "seconds"])
    )
    have = set(zip(done["budget"].astype(float), done["arch"], done["setting"]))
    scorers = {s: proxy_score("zennas", "imagenet", settings_for(*s), "intrain", "cpu") for s in settings}
    uniq = rows.drop_duplicates(["budget", "arch"])
    total = len(uniq) * len(settings)
    k = 0
    for s in settings:
        for budget, arch in zip(uniq["budget"], uniq["arch"]):
            k += 1
            if (float(budget), arch, label(s)) in have:
                continue
            t0 = time.perf_counter()
            v = float(scorers[s](arch))
            row = pd.DataFrame(
                [{"budget": budget, "arch": arch, "setting": label(s), "score": v, "seconds": time.perf_counter() - t0}]
            )
            row.to_csv(path, mode="a", header=not path.exists(), index=False)
            if k % 25 == 0:
                print(f"rescored {k}/{total}", flush=True)
    return pd.read_csv(path)


def agreement(rows: pd.DataFrame, scores: pd.DataFrame, n_boot: int) -> pd.DataFrame:
    """Per (budget, setting): Spearman, Kendall (with CIs) and top-10 % overlap vs the reference,
    over both trajectories pooled (``start = all``) and within each (``cold``, ``warm``).

    The pooled rows mix the small networks of a search's start with budget-sized ones, whose scores
    differ by a wide margin, so their agreement is higher than within either; the search's choices
    are made among similar networks, so the per-start rows are the stricter test.
    """
    out = []
    uniq = rows.drop_duplicates(["budget", "arch"])
    for (budget, setting), g in scores.groupby(["budget", "setting"]):
        merged = uniq[uniq["budget"] == budget].merge(g, on=["budget", "arch"])
        for start, m in [("all", merged), *merged.groupby("start")]:
            out.append(_agree(m, n_boot) | {"budget_M": int(budget / 1e6), "setting": setting, "start": start})
    cols = ["budget_M", "setting", "start"]
    df = pd.DataFrame(out)
    return df[cols + [c for c in df.columns if c not in cols]]


def _agree(m: pd.DataFrame, n_boot: int) -> dict:
    ok = np.isfinite(m["reference"]) & np.isfinite(m["score"])
    c = correlate(m["score"].to_numpy(), m["reference"].to_numpy(), n_boot=n_boot)
    return {
        "n": int(ok.sum()),
        "spearman": c.spearman,
        "spearman_lo": c.spearman_lo,
        "spearman_hi": c.spearman_hi,
        "kendall": c.kendall,
        "kendall_lo": c.kendall_lo,
        "kendall_hi": c.kendall_hi,
        "top10_overlap": top_overlap(m["reference"][ok].to_numpy(), m["score"][ok].to_numpy()),
        "seconds_median": float(m["seconds"].median()),
    }


def nb201_check(groundtruth: Path, settings: list[tuple[int, int]], out: Path, n: int, n_boot: int) -> pd.DataFrame:
    """Paired Δτ (cheap − reference) against CIFAR-10 test accuracy on NB201's seeded n-sample."""
    from intrain.analysis.groundtruth import accuracy_column
    from intrain.planning.selection import select

    gt = pd.read_csv(groundtruth)
    sel = select(gt, n, seed=0, n_shards=1, dedup=False)
    acc = gt.set_index("arch_index").loc[sel["arch_index"], accuracy_column("cifar10", "test")].to_numpy()
    path = out / "nb201_scores.csv"
    done = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["arch_index", "setting", "score"])
    have = set(zip(done["arch_index"].astype(int), done["setting"]))
    scale = {s: s[1] / REFERENCE[1] for s in [REFERENCE, *settings]}
    for s in [REFERENCE, *settings]:
        r = int(round(32 * scale[s]))
        score = proxy_score("nb201", "cifar10", settings_for(s[0], r, s[2]), "intrain", "cpu")
        for i, arch in zip(sel["arch_index"].astype(int), sel["arch"]):
            if (i, label(s)) in have:
                continue
            row = pd.DataFrame([{"arch_index": i, "setting": label(s), "score": float(score(arch))}])
            row.to_csv(path, mode="a", header=not path.exists(), index=False)
    scores = pd.read_csv(path).pivot_table(index="arch_index", columns="setting", values="score")
    scores = scores.loc[sel["arch_index"].astype(int)]
    ref = scores[label(REFERENCE)].to_numpy()
    rows = []
    for s in settings:
        d = paired_tau_difference(scores[label(s)].to_numpy(), ref, acc, n_boot=n_boot)
        rows.append(
            {
                "setting": label(s),
                "nb201_R": int(round(32 * scale[s])),
                **{k: v for k, v in d.as_dict().items() if not k.startswith("rho")},
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=120, help="search iterations per budget and start")
    ap.add_argument("--budgets", type=float, nargs="+", default=list(BUDGETS))
    ap.add_argument("--starts", nargs="+", choices=["cold", "warm"], default=["cold", "warm"])
    ap.add_argument("--settings", nargs="+", default=["32:64", "16:64", "64:32", "32:32", "16:32"])
    ap.add_argument("--nb201", type=Path, help="NB201 ground-truth CSV: also run the NB201 paired-τ check")
    ap.add_argument("--nb201-n", type=int, default=1000)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/search_protocol"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    settings = [parse_setting(s) for s in args.settings]
    if args.n < 1 or args.nb201_n < 3:
        raise SystemExit(f"--n {args.n} / --nb201-n {args.nb201_n}: at least 1 iteration and 3 NB201 architectures")
    if "warm" in args.starts and any(b not in WARM for b in args.budgets):
        raise SystemExit(f"--budgets {args.budgets}: warm starts exist for {sorted(WARM)} (or pass --starts cold)")
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {
        "n": args.n,
        "budgets": args.budgets,
        "settings": args.settings,
        "reference": label(REFERENCE),
        "torch": torch.__version__,
    }
    (args.out / "meta.json").write_text(json.dumps(meta, indent=1))
    if args.nb201 is not None:
        table = nb201_check(args.nb201, settings, args.out, args.nb201_n, args.n_boot)
        table.to_csv(args.out / "nb201_agreement.csv", index=False)
        print(table.to_string(index=False))
        return 0
    rows = pd.concat(
        [trajectory(b, st, args.n, args.out) for b in args.budgets for st in args.starts], ignore_index=True
    )
    rows.to_csv(args.out / "reference.csv", index=False)
    scores = rescore(rows, settings, args.out / "scores.csv")
    table = agreement(rows, scores, args.n_boot)
    table.to_csv(args.out / "agreement.csv", index=False)
    print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

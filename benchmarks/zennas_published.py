"""Score the published Zen-NAS-space networks with InTrain, ZiCo, Zen and AZ-NAS; time a search step.

The paper's protocol: B = 64 Gaussian inputs at 64x64, seed 0, each proxy as registered in
``intrain.proxies`` (AZ-NAS's score is a rank aggregate, here over these networks). Writes
``<out>.csv`` (one row per network: counts, each proxy's score and rank, 1 = the proxy's favourite)
and ``<out>.md`` (the table); ``--step`` also times Algorithm 1 steps (mutation within the budget
+ an InTrain score) per budget and projects T = 100,000.

    OMP_NUM_THREADS=1 python benchmarks/zennas_published.py --out results/zennas_published --step 5
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from intrain.core.ranking import add_population_scores
from intrain.core.records import ScoreSettings
from intrain.scoring.scorer import Scorer
from intrain.spaces.zennas import flops as zf
from intrain.spaces.zennas.mutation import INITIAL, ZenSearch
from intrain.spaces.zennas.published_structures import PUBLISHED, budget_group

PROXIES = ("intrain", "zico", "zen", "az_nas")


def score_published(settings: ScoreSettings, device: str = "cpu") -> pd.DataFrame:
    """One row per published network: counts, each proxy's score (components too), seconds."""
    scorer = Scorer("zennas", "imagenet", settings, device=device)
    rows = []
    for i, p in enumerate(PUBLISHED.values()):
        rec = scorer.score(i, p.structure)
        row = {
            "key": p.key,
            "method": p.method,
            "budget": budget_group(p.budget),
            "confirmed": p.confirmed,
            "zen_flops_M": zf.budget_flops(p.structure) / 1e6,
            "params_M": zf.params(p.structure) / 1e6,
            "params_se_M": zf.params(p.structure, se=True) / 1e6,
            "seconds": rec.seconds,
        }
        for proxy, values in rec.proxies.items():
            for comp, v in values.items():
                row[f"{proxy}.{comp}" if comp != "score" or proxy == "az_nas" else proxy] = v
        rows.append(row)
        print(f"{p.key}: {rec.seconds:.1f} s", flush=True)
    df = add_population_scores(pd.DataFrame(rows), proxies=list(PROXIES))
    for proxy in PROXIES:
        df[f"{proxy}_rank"] = df[proxy].rank(ascending=False, method="min").astype(int)
    return df


def time_steps(settings: ScoreSettings, steps: int, device: str = "cpu") -> pd.DataFrame:
    """Seconds per Algorithm 1 step (mutate within budget + InTrain score) from each budget's published start.

    ``benchmarks/search_throughput.py`` times whole searches instead: the code before and after the
    cheap step (issue 30), one process against two workers, and the score against the bare network.
    """
    from intrain.search.problems import proxy_score

    score = proxy_score("zennas", "imagenet", settings, "intrain", device)
    rows = []
    for budget, start in (
        (450e6, PUBLISHED["zico_450M"].structure),
        (600e6, PUBLISHED["zico_600M"].structure),
        (1e9, PUBLISHED["zico_1G"].structure),
    ):
        problem = ZenSearch(budget)
        arch, mut, sc = start, [], []
        for i in range(steps):
            rng = np.random.default_rng([0, i])
            t0 = time.perf_counter()
            arch = problem.mutate_at(arch, rng, 11)
            t1 = time.perf_counter()
            score(arch)
            t2 = time.perf_counter()
            mut.append(t1 - t0)
            sc.append(t2 - t1)
        step = float(np.mean(mut) + np.mean(sc))
        rows.append(
            {
                "budget": budget_group(budget),
                "steps": steps,
                "mutate_s": float(np.mean(mut)),
                "score_s": float(np.mean(sc)),
                "step_s": step,
                "T100k_hours": step * 100_000 / 3600,
            }
        )
        print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def markdown(df: pd.DataFrame) -> str:
    cols = ["key", "budget", "zen_flops_M", "params_M", "params_se_M", *[c for p in PROXIES for c in (p, f"{p}_rank")]]
    out = df[cols].copy()
    head = "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n"
    body = "".join(
        "| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in r) + " |\n"
        for r in out.itertuples(index=False)
    )
    return head + body


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="results/zennas_published")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--step", type=int, default=0, help="also time this many search steps per budget")
    args = ap.parse_args()
    settings = ScoreSettings(batch_size=64, resolution=64, seed=0, proxies=PROXIES)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    df = score_published(settings, args.device)
    df.to_csv(out.with_suffix(".csv"), index=False)
    text = markdown(df)
    if args.step:
        steps = time_steps(
            ScoreSettings(batch_size=64, resolution=64, seed=0, proxies=("intrain",)), args.step, args.device
        )
        steps.to_csv(out.parent / (out.name + "_step.csv"), index=False)
        text += "\n" + steps.to_markdown(index=False) if hasattr(steps, "to_markdown") else "\n" + steps.to_string()
    out.with_suffix(".md").write_text(text)
    print(text)
    print(json.dumps({"initial_flops": zf.budget_flops(INITIAL)}))


if __name__ == "__main__":
    main()

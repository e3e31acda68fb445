"""The zoo overlay's architectures: a seeded per-family sample of the in1k-only rows, not a hand pick.

Rule (:func:`select_archs`), on the architectures of :func:`.groundtruth.read_groundtruth`:

1. drop timm's own test models (family ``test``) and architectures above ``max_params_m``
   million parameters (the table's ``param_count``; a cost cap for CPU scoring);
2. optionally keep only architectures an ``eligible`` predicate accepts (the overlay uses
   :func:`probe_ready`: every ``nn.Linear`` sees 2-D input, i.e. no token or channels-last MLPs,
   which the probe's layer statistics do not read yet);
3. keep families with at least ``per_family`` remaining architectures, draw ``n_families`` of
   them with ``seed``, and ``per_family`` architectures from each with ``seed``.

``python -m intrain.spaces.zoo.selection TABLE`` (in the environment of scripts/setup-models.sh)
prints the ``archs:`` list config/zoo.yaml holds, with the rule's parameters.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["full_subset", "probe_ready", "select_archs"]


def select_archs(
    table: pd.DataFrame,
    n_families: int = 20,
    per_family: int = 6,
    max_params_m: float = 60.0,
    seed: int = 0,
    eligible: Callable[[str], bool] | None = None,
) -> list[str]:
    """The rule above on a ground-truth table (columns ``arch``, ``family``, ``params_m``); sorted names.

    >>> t = pd.DataFrame({"arch": [f"net{i}_{k}" for i in range(3) for k in range(4)],
    ...                   "family": [f"net{i}" for i in range(3) for k in range(4)], "params_m": 1.0})
    >>> sel = select_archs(t, n_families=2, per_family=3)
    >>> len(sel), len({a.split("_")[0] for a in sel})
    (6, 2)
    """
    archs = table.drop_duplicates("arch")[["arch", "family", "params_m"]]
    archs = archs[(archs["family"] != "test") & (archs["params_m"] <= max_params_m)].sort_values("arch")
    rng = np.random.default_rng(seed)
    families = sorted(f for f, n in archs["family"].value_counts().items() if n >= per_family)
    chosen: list[str] = []
    for fam in rng.permutation(families):
        if len(chosen) >= n_families * per_family:
            break
        members = archs.loc[archs["family"] == fam, "arch"].tolist()
        picked = [a for a in rng.permutation(members) if eligible is None or eligible(str(a))][:per_family]
        if len(picked) == per_family:
            chosen.extend(str(a) for a in picked)
    return sorted(chosen)


def full_subset(archs: list[str], n: int = 20, seed: int = 0) -> list[str]:
    """``n`` of the selected architectures for the full-resolution protocol (seeded, sorted).

    >>> full_subset(["a", "b", "c"], n=2, seed=0) == full_subset(["c", "b", "a"], n=2, seed=0)
    True
    """
    pool = sorted(archs)
    return sorted(str(a) for a in np.random.default_rng(seed).permutation(pool)[: min(n, len(pool))])


def probe_ready(arch: str, resolution: int = 64) -> bool:
    """Whether the untrained ``arch`` builds, runs one image at ``resolution`` and feeds every
    ``nn.Linear`` a 2-D input (needs torch and timm)."""
    import torch

    from intrain.spaces.zoo.network import create

    try:
        model = create(arch).eval()
    except Exception:
        return False
    bad: list[int] = []
    hooks = [
        m.register_forward_hook(lambda _m, inp, _out: bad.append(inp[0].dim()) if inp[0].dim() != 2 else None)
        for m in model.modules()
        if isinstance(m, torch.nn.Linear)
    ]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, resolution, resolution))
    except Exception:
        return False
    finally:
        for h in hooks:
            h.remove()
    return not bad


def main(argv: list[str] | None = None) -> None:
    from intrain.spaces.zoo.groundtruth import read_groundtruth

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("table", help="timm results-imagenet.csv")
    p.add_argument("--n-families", type=int, default=20)
    p.add_argument("--per-family", type=int, default=6)
    p.add_argument("--max-params-m", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--full", type=int, default=20, help="architectures of the full-resolution subset")
    p.add_argument("--all-layouts", action="store_true", help="skip the probe_ready check")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    sel = select_archs(
        read_groundtruth(args.table),
        args.n_families,
        args.per_family,
        args.max_params_m,
        args.seed,
        None if args.all_layouts else probe_ready,
    )
    print(f"# {len(sel)} architectures; full-resolution subset: {full_subset(sel, args.full, args.seed)}")
    print("archs:")
    print("\n".join(f"  - {a}" for a in sel))


if __name__ == "__main__":
    main()

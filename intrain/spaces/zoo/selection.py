"""The zoo overlay's architectures: a seeded per-family sample of the in1k-only rows, not a hand pick.

Rule (`select_archs`), on the architectures of `.groundtruth.read_groundtruth`:

1. drop timm's own test models (family ``test``) and architectures above ``max_params_m``
   million parameters (the table's ``param_count``; a cost cap for CPU scoring);
2. optionally keep only architectures an ``eligible`` predicate accepts (the overlay uses
   `probe_ready`: every ``nn.Linear`` sees 2-D input, i.e. no token or channels-last MLPs,
   which the probe's layer statistics do not read yet);
3. keep families with at least ``per_family`` remaining architectures, draw ``n_families`` of
   them with ``seed``, and ``per_family`` architectures from each with ``seed``.

``python -m intrain.spaces.zoo.selection TABLE`` (in the environment of scripts/setup-models.sh)
prints the ``archs:`` list config/zoo.yaml holds, with the rule's parameters; with
``--token-layouts config/zoo.yaml`` it prints the token-layout extension (`select_token_archs`:
the transformer, MLP-Mixer and token-MLP families the first rule left out), the list
config/zoo-tokens.yaml holds.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection

import numpy as np
import pandas as pd

__all__ = ["config_archs", "full_subset", "probe_ready", "select_archs", "select_token_archs", "token_layout"]


def select_archs(
    table: pd.DataFrame,
    n_families: int = 20,
    per_family: int = 6,
    max_params_m: float = 60.0,
    seed: int = 0,
    eligible: Callable[[str], bool] | None = None,
) -> list[str]:
    """The rule above on a ground-truth table (columns ``arch``, ``family``, ``params_m``); sorted names.

    Examples:
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

    Examples:
        >>> full_subset(["a", "b", "c"], n=2, seed=0) == full_subset(["c", "b", "a"], n=2, seed=0)
        True
    """
    pool = sorted(archs)
    return sorted(str(a) for a in np.random.default_rng(seed).permutation(pool)[: min(n, len(pool))])


def _linear_input_ranks(arch: str, resolution: int) -> list[int] | None:
    """The input rank of every ``nn.Linear`` call in one forward of the untrained ``arch`` on one
    image at ``resolution``; None when it does not build or run (needs torch and timm)."""
    import torch

    from intrain.spaces.zoo.network import create

    try:
        model = create(arch).eval()
    except Exception:
        return None
    ranks: list[int] = []
    hooks = [
        m.register_forward_hook(lambda _m, inp, _out: ranks.append(inp[0].dim()))
        for m in model.modules()
        if isinstance(m, torch.nn.Linear)
    ]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, resolution, resolution))
    except Exception:
        return None
    finally:
        for h in hooks:
            h.remove()
    return ranks


def probe_ready(arch: str, resolution: int = 64) -> bool:
    """Whether the untrained ``arch`` builds, runs one image at ``resolution`` and feeds every
    ``nn.Linear`` a 2-D input (needs torch and timm)."""
    ranks = _linear_input_ranks(arch, resolution)
    return ranks is not None and all(r == 2 for r in ranks)


def token_layout(arch: str, resolution: int = 64) -> bool:
    """Whether the untrained ``arch`` builds, runs one image at ``resolution`` and feeds some
    ``nn.Linear`` a token (or channels-last) input of more than 2 dimensions: the transformers,
    MLP-Mixers and token MLPs the first selection left out (needs torch and timm)."""
    ranks = _linear_input_ranks(arch, resolution)
    return ranks is not None and any(r > 2 for r in ranks)


def select_token_archs(
    table: pd.DataFrame,
    exclude_families: Collection[str],
    per_family: int = 6,
    min_family: int = 4,
    max_params_m: float = 60.0,
    seed: int = 0,
    eligible: Callable[[str], bool] | None = None,
) -> list[str]:
    """The extension of `select_archs` to token-layout families; sorted names.

    Rule: on the same filtered architectures (no test models, ``<= max_params_m``), every family
    not in ``exclude_families`` (the first selection's) with at least ``min_family`` architectures
    whose alphabetically first architecture is ``eligible`` (the extension uses `token_layout`;
    a family whose first member is a CNN is skipped without building the rest); from each, up to
    ``per_family`` eligible architectures in the order of a ``seed`` permutation. A family keeps
    its draw when it has at least ``min_family`` of them. Families are visited alphabetically with
    one generator, so the draw depends only on the table, the exclusions and the parameters.

    Examples:
        >>> t = pd.DataFrame({"arch": [f"{f}_{k}" for f in ("cnn", "vit", "mix") for k in range(5)],
        ...                   "family": [f for f in ("cnn", "vit", "mix") for k in range(5)], "params_m": 1.0})
        >>> sel = select_token_archs(t, {"cnn"}, per_family=4, eligible=lambda a: not a.startswith("mix"))
        >>> len(sel), sorted({a.split("_")[0] for a in sel})
        (4, ['vit'])
    """
    archs = table.drop_duplicates("arch")[["arch", "family", "params_m"]]
    archs = archs[(archs["family"] != "test") & (archs["params_m"] <= max_params_m)].sort_values("arch")
    excluded = set(exclude_families)
    rng = np.random.default_rng(seed)
    chosen: list[str] = []
    for fam, n in sorted(archs["family"].value_counts().items()):
        if fam in excluded or n < min_family:
            continue
        members = sorted(archs.loc[archs["family"] == fam, "arch"].astype(str))
        order = [str(a) for a in rng.permutation(members)]
        if eligible is not None and not eligible(members[0]):
            continue
        picked = [a for a in order if eligible is None or a == members[0] or eligible(a)][:per_family]
        if len(picked) >= min_family:
            chosen.extend(picked)
    return sorted(chosen)


def config_archs(path: str) -> list[str]:
    """The ``spaces.zoo.archs`` list of a zoo config file (the selection an extension builds on)."""
    import yaml

    with open(path) as f:
        cfg = yaml.safe_load(f) or {}
    archs = ((cfg.get("spaces") or {}).get("zoo") or {}).get("archs")
    if not archs:
        raise ValueError(f"{path} has no spaces.zoo.archs list")
    return [str(a) for a in archs]


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
    p.add_argument(
        "--token-layouts",
        metavar="CONFIG",
        help="draw the token-layout extension instead: families not in CONFIG's archs (select_token_archs)",
    )
    p.add_argument("--min-family", type=int, default=4, help="with --token-layouts: smallest family kept")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    table = read_groundtruth(args.table)
    if args.token_layouts:
        base = set(config_archs(args.token_layouts))
        fams = set(table.loc[table["arch"].isin(base), "family"])
        sel = select_token_archs(
            table, fams, args.per_family, args.min_family, args.max_params_m, args.seed, token_layout
        )
        print(f"# {len(sel)} token-layout architectures, {len({*table.set_index('arch').loc[sel, 'family']})} families")
        print("archs:")
        print("\n".join(f"  - {a}" for a in sel))
        return
    sel = select_archs(
        table,
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

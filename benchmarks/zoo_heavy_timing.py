"""Seconds per network of each heavy proxy set at the zoo's cheap protocol (batch 8, 64 px, 1 thread).

Why: the zoo run's heavy sets are sized from these numbers (docs/beyond-cell-spaces.md). Run in the
timm environment (bash scripts/setup-models.sh):

    .venv-models/bin/python benchmarks/zoo_heavy_timing.py resnet18d efficientnet_b2 > zoo_heavy_timing.csv
"""

from __future__ import annotations

import argparse
import sys
import time

SETS = {
    "kernel": ["tenas", "gradalign_i", "gradalign_ii"],
    "az": ["az_nas"],
    "lga": ["lga"],
    "grasp": ["grasp"],
    "meco_swap": ["meco", "meco_opt", "swap"],
    "vkdnw": ["vkdnw"],
}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("archs", nargs="+", help="timm architecture names")
    p.add_argument("--sets", nargs="*", default=list(SETS), help=f"of {', '.join(SETS)}")
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--vkdnw-path", default=None, help="force one VKDNW Jacobian path (intrain.proxies.vkdnw.PATHS)")
    args = p.parse_args(argv)
    import torch

    import intrain
    from intrain.proxies import vkdnw

    vkdnw.PATH = args.vkdnw_path
    from intrain.spaces.zoo.network import build_network

    torch.set_num_threads(1)
    print("arch,set,seconds,values", flush=True)
    for arch in args.archs:
        for name in args.sets:
            t0 = time.perf_counter()
            try:
                res = intrain.score(
                    build_network(arch, "imagenet"),
                    SETS[name],
                    num_classes=1000,
                    input_shape=(3, args.resolution, args.resolution),
                    batch_size=args.batch,
                    device="cpu",
                )
                vals = " ".join(f"{k}={v:.4g}" for k, v in res.scores.items() if "." not in k)
            except Exception as e:  # report and go on: the timing of the other sets still counts
                vals = f"ERROR {type(e).__name__}: {e}".replace(",", ";")
            print(f"{arch},{name},{time.perf_counter() - t0:.1f},{vals}", flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()

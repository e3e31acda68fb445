"""Larger fuzz run of every loader and parser (tests/fuzz_targets.py), counts per target to a CSV.

    PYTHONPATH=$PWD python benchmarks/fuzz.py --examples 2000 --out benchmarks/fuzz_counts.csv

For each target: examples run, valid (loaded and round-tripped), refused (an IntrainError with a
message, no output left behind), foreign (any other exception: a bug; the first few are printed
with their input) and hangs (an example over --timeout seconds, interrupted by SIGALRM). The
default test suite (tests/test_fuzz.py) runs the same targets on a small fixed budget.
A crash (a signal killing the interpreter) ends the run; no count is written then.
"""

from __future__ import annotations

import argparse
import csv
import signal
import sys
import time
import traceback
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis.errors import HypothesisException

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fuzz_targets import outcome, targets  # noqa: E402


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def run_target(target, examples: int, seed: int, timeout: float, show: int) -> dict:
    counts = {"target": target.name, "examples": 0, "valid": 0, "refused": 0, "foreign": 0, "hangs": 0}
    shown = [0]

    @settings(max_examples=examples, database=None, deadline=None, derandomize=False, phases=["generate"],
              suppress_health_check=list(HealthCheck))
    @given(target.strategy())
    def one(value):
        counts["examples"] += 1
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            counts[outcome(target, value)] += 1
        except Hang:
            counts["hangs"] += 1
        except HypothesisException:
            raise
        except BaseException as e:  # noqa: BLE001  (the point: count what escapes)
            if isinstance(e, KeyboardInterrupt):
                raise
            counts["foreign"] += 1
            if shown[0] < show:
                shown[0] += 1
                print(f"--- {target.name}: foreign {type(e).__name__}: {e}\n    input: {value!r:.300}", file=sys.stderr)
                traceback.print_exc(limit=-3, file=sys.stderr)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    one._hypothesis_internal_use_seed = seed  # seeded: the same inputs for the same --seed
    one()
    return counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=1000, help="examples per target")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds before an example counts as a hang")
    ap.add_argument("--only", action="append", help="run these targets only (repeatable)")
    ap.add_argument("--show", type=int, default=3, help="foreign exceptions printed per target")
    ap.add_argument("--out", default="benchmarks/fuzz_counts.csv")
    args = ap.parse_args()
    signal.signal(signal.SIGALRM, _alarm)
    rows = []
    for name, target in targets().items():
        if args.only and name not in args.only:
            continue
        start = time.perf_counter()
        row = run_target(target, args.examples, args.seed, args.timeout, args.show)
        row["seconds"] = round(time.perf_counter() - start, 1)
        rows.append(row)
        print(",".join(str(row[k]) for k in row), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    bad = sum(r["foreign"] + r["hangs"] for r in rows)
    print(f"wrote {out}: {sum(r['examples'] for r in rows)} examples, {bad} foreign exceptions or hangs")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""Larger fuzz run of every loader and parser (tests/fuzz_targets.py), counts per target to a CSV.

    PYTHONPATH=$PWD python benchmarks/fuzz.py --examples 1000 --out benchmarks/fuzz_counts.csv

Each target runs in its own worker process under a memory limit (``RLIMIT_AS``, ``--memory-gib``)
so that what would take the machine down is counted instead:

- ``valid`` (loaded and round-tripped) and ``refused`` (an IntrainError with a message, no output
  left behind): the expected outcomes;
- ``foreign``: any other exception (a bug; the first few are printed with their input);
- ``crashes``: the worker killed by a signal (a segmentation fault in a C library);
- ``hangs``: an example over ``--timeout`` seconds, interrupted by SIGALRM, or, when it blocks in C
  where no signal handler runs, the worker killed after ``--timeout`` + ``--grace`` seconds
  without progress;
- ``blowups``: a ``MemoryError`` under the memory limit (a declared size believed);
- ``outside_reads``: bytes of a file outside the input reached a result or an output;
- ``executions``: a payload in the input ran (it created the marker file).

After a crash or a killed hang the worker is restarted (next seed) for the examples left, so
every target gets its ``--examples``. The default test suite (tests/test_fuzz.py) runs the same
targets on a small fixed budget; tests/test_fuzz.py also runs this harness on probe targets
(``INTRAIN_FUZZ_PROBES=1``) that crash, hang and blow up on purpose, to show each is counted.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import signal
import subprocess
import sys
import time
import traceback
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

COLUMNS = [
    "target",
    "examples",
    "valid",
    "refused",
    "foreign",
    "crashes",
    "hangs",
    "blowups",
    "outside_reads",
    "executions",
    "seconds",
]
BAD = ["foreign", "crashes", "hangs", "blowups", "outside_reads", "executions"]


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def _probe_targets() -> dict:
    """Targets that misbehave on purpose (every 4th example), to test the harness itself."""
    from hypothesis import strategies as st

    from tests.fuzz_targets import Target

    def crash(v, tmp):
        if v % 4 == 3:
            os.kill(os.getpid(), signal.SIGSEGV)

    def hang(v, tmp):
        if v % 4 == 3:  # blocked in "C": SIGALRM cannot interrupt it, the parent must
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(3600)

    def blowup(v, tmp):
        if v % 4 == 3:
            bytearray(64 << 30)

    ints = lambda: st.integers(0, 10**6)  # noqa: E731
    return {
        t.name: t
        for t in (
            Target("probe_crash", ints, crash),
            Target("probe_hang", ints, hang),
            Target("probe_blowup", ints, blowup),
        )
    }


def all_targets() -> dict:
    from tests.fuzz_targets import targets

    out = targets()
    if os.environ.get("INTRAIN_FUZZ_PROBES") == "1":
        out.update(_probe_targets())
    return out


# ----------------------------------------------------------------------------- worker


def worker(name: str, examples: int, seed: int, timeout: float, show: int, progress: Path) -> int:
    """Run ``examples`` examples of one target; one line per finished example to ``progress``."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import HypothesisException

    from tests.fuzz_targets import Executed, OutsideRead, outcome

    warnings.simplefilter("ignore")
    signal.signal(signal.SIGALRM, _alarm)
    target = all_targets()[name]
    shown = [0]
    log = progress.open("a", buffering=1)

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=False,
        phases=["generate"],
        suppress_health_check=list(HealthCheck),
    )
    @given(target.strategy())
    def one(value):
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            result = outcome(target, value)
        except Hang:
            result = "hangs"
        except HypothesisException:
            raise
        except MemoryError:
            result = "blowups"
        except OutsideRead:
            result = "outside_reads"
        except Executed:
            result = "executions"
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            result = "foreign"
            if shown[0] < show:
                shown[0] += 1
                print(
                    f"--- {name}: foreign {type(e).__name__}: {str(e)[:300]}\n    input: {value!r:.300}",
                    file=sys.stderr,
                )
                traceback.print_exc(limit=-3, file=sys.stderr)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        log.write(result + "\n")

    one._hypothesis_internal_use_seed = seed  # seeded: the same inputs for the same --seed
    one()
    return 0


# ----------------------------------------------------------------------------- parent


def _limit(gib: float):
    def apply():
        limit = int(gib * (1 << 30))
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        os.setsid()

    return apply


def run_target(
    name: str, examples: int, seed: int, timeout: float, grace: float, gib: float, show: int, workdir: Path
) -> dict:
    counts = {c: 0 for c in COLUMNS}
    counts["target"] = name
    start = time.perf_counter()
    attempt = 0
    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONPATH": str(REPO),
    }
    while counts["examples"] < examples:
        progress = workdir / f"{name}.{attempt}.progress"
        progress.write_text("")
        left = examples - counts["examples"]
        proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                name,
                "--examples",
                str(left),
                "--seed",
                str(seed + attempt),
                "--timeout",
                str(timeout),
                "--show",
                str(show),
                "--progress",
                str(progress),
            ],
            preexec_fn=_limit(gib),
            env=env,
        )
        seen, last = 0, time.monotonic()
        killed = False
        while proc.poll() is None:
            time.sleep(0.2)
            n = len(progress.read_text().splitlines())
            if n != seen:
                seen, last = n, time.monotonic()
            elif time.monotonic() - last > timeout + grace:
                os.killpg(proc.pid, signal.SIGKILL)  # blocked where SIGALRM cannot reach: a hang
                proc.wait()
                killed = True
        lines = progress.read_text().splitlines()
        for line in lines[:left]:
            counts[line] += 1
        counts["examples"] += min(len(lines), left)
        if killed:
            counts["hangs"] += 1
            counts["examples"] += 1
        elif proc.returncode < 0:
            counts["crashes"] += 1  # killed by a signal while running the next example
            counts["examples"] += 1
        elif proc.returncode != 0:
            raise SystemExit(f"worker for {name} failed (exit {proc.returncode})")
        elif len(lines) < left:
            break  # hypothesis ran out of distinct examples (small strategies)
        attempt += 1
    counts["examples"] = min(counts["examples"], examples)
    counts["seconds"] = round(time.perf_counter() - start, 1)
    return counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=1000, help="examples per target")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds before an example counts as a hang")
    ap.add_argument(
        "--grace", type=float, default=10.0, help="seconds beyond --timeout before a silent worker is killed"
    )
    ap.add_argument("--memory-gib", type=float, default=4.0, help="RLIMIT_AS of each worker")
    ap.add_argument("--only", action="append", help="run these targets only (repeatable)")
    ap.add_argument("--show", type=int, default=3, help="foreign exceptions printed per target")
    ap.add_argument("--out", default="benchmarks/fuzz_counts.csv")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--progress", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker, args.examples, args.seed, args.timeout, args.show, args.progress)
    import tempfile

    names = [n for n in all_targets() if not args.only or n in args.only]
    rows = []
    with tempfile.TemporaryDirectory(prefix="intrain-fuzz-") as d:
        for name in names:
            row = run_target(
                name, args.examples, args.seed, args.timeout, args.grace, args.memory_gib, args.show, Path(d)
            )
            rows.append(row)
            print(",".join(str(row[k]) for k in COLUMNS), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    bad = sum(r[c] for r in rows for c in BAD)
    print(f"wrote {out}: {sum(r['examples'] for r in rows)} examples, {bad} bad outcomes ({', '.join(BAD)})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

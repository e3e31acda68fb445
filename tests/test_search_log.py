"""The linear search log: a checkpoint writes its own rows (T = 100,000 in at most 3x the final
size), a torn or foreign journal is handled in words, a killed compaction applies nothing twice."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from intrain.core import search_log as sl
from intrain.core.search_log import SearchLog, SearchLogError, journal_path, read_log
from intrain.search.evolution import evolve
from intrain.spaces.nb201.search import NB201Edges

from .conftest import REPO


def synthetic(arch: str) -> float:
    return float(int(hashlib.sha256(arch.encode()).hexdigest()[:8], 16) % 1000)


def rows(first: int, n: int) -> list[dict]:
    return [
        {"iteration": i, "arch": f"a{i}", "score": i / 2, "new": 1, "flops": 1.0 * i} for i in range(first, first + n)
    ]


def test_t_100000_writes_at_most_three_times_the_final_log(tmp_path, monkeypatch):
    """A synthetic scorer (no network), T = 100,000, a checkpoint every 25 iterations: every byte the
    log writes is counted (its one writer, and the process's write syscalls as a cross-check)."""
    written = [0]
    real = sl._write_bytes

    def counting(f, data):
        written[0] += len(data)
        real(f, data)

    monkeypatch.setattr(sl, "_write_bytes", counting)

    def wchar() -> int | None:
        try:
            with open("/proc/self/io") as f:
                return next(int(line.split()[1]) for line in f if line.startswith("wchar"))
        except OSError:
            return None

    log = tmp_path / "log.h5"
    w0, start = wchar(), time.perf_counter()
    result = evolve(NB201Edges(), synthetic, iterations=100_000, k=10, seed=0, log_path=log, checkpoint_every=25)
    seconds = time.perf_counter() - start
    w1 = wchar()
    final = log.stat().st_size
    print(f"T=100,000: {seconds:.1f} s, {written[0]:,} bytes written, final log {final:,} bytes")
    assert len(result.history) == 100_000 and not journal_path(log).exists()
    assert written[0] <= 3 * final, (written[0], final)
    if w0 is not None and w1 is not None:  # no other writer: the process wrote about what was counted
        assert w1 - w0 <= 3 * final + (1 << 20)
    _, back = read_log(log)
    assert list(back["iteration"]) == list(range(100_000))


def test_the_old_rewrite_would_fail_the_bytes_bound(tmp_path, monkeypatch):
    """The bound can fail: rewriting the whole log at each checkpoint (the old log) breaks it."""
    written = [0]
    real = sl._write_bytes
    monkeypatch.setattr(sl, "_write_bytes", lambda f, d: (written.__setitem__(0, written[0] + len(d)), real(f, d)))
    log = SearchLog(tmp_path / "log.h5", {"seed": 0}, ["flops"])
    for c in range(40):
        log.append(rows(25 * c, 25))
        log.compact()  # a whole rewrite per checkpoint, as before
    assert written[0] > 3 * (tmp_path / "log.h5").stat().st_size


def test_appends_go_to_the_journal_and_compaction_folds_them(tmp_path):
    path = tmp_path / "log.h5"
    log = SearchLog(path, {"seed": 0}, ["flops"])
    log.append(rows(0, 3))
    base = path.read_bytes()
    log.append(rows(3, 4))
    log.append(rows(7, 2))
    assert path.read_bytes() == base  # the base is never touched by an append
    assert list(read_log(path)[1]["iteration"]) == list(range(9))
    again = SearchLog(path, {"seed": 0}, ["flops"])
    assert list(again.load()["arch"]) == [f"a{i}" for i in range(9)]
    again.append(rows(9, 1))
    again.compact()
    assert not journal_path(path).exists()
    with h5py.File(path, "r") as f:
        assert int(f.attrs["n_done"]) == 10
    assert list(read_log(path)[1]["flops"]) == [float(i) for i in range(10)]


def test_a_torn_last_record_is_ignored_and_cut_by_the_next_append(tmp_path):
    path = tmp_path / "log.h5"
    log = SearchLog(path, {"seed": 0}, ["flops"])
    log.append(rows(0, 3))
    log.append(rows(3, 3))
    j = journal_path(path)
    whole = j.stat().st_size
    with open(j, "ab") as f:  # half a record, as a writer killed mid-write leaves it
        f.write(sl.encode_record(log._state[0], 6, rows(6, 3), log.cols)[:50])
    assert len(read_log(path)[1]) == 6
    resumed = SearchLog(path, {"seed": 0}, ["flops"])
    assert len(resumed.load()) == 6
    resumed.append(rows(6, 2))
    assert len(read_log(path)[1]) == 8
    assert j.stat().st_size < whole * 2 + 200  # the torn bytes were cut, not kept


def test_a_damaged_or_foreign_journal_is_refused_in_words(tmp_path):
    path = tmp_path / "log.h5"
    log = SearchLog(path, {"seed": 0}, ["flops"])
    log.append(rows(0, 2))
    log.append(rows(2, 2))
    log.append(rows(4, 2))
    j = journal_path(path)
    data = bytearray(j.read_bytes())
    data[sl.HEADER_BYTES + 10] ^= 0xFF  # inside the first record, with a whole record after it
    j.write_bytes(bytes(data))
    with pytest.raises(SearchLogError, match="checksum mismatch"):
        read_log(path)
    other = SearchLog(tmp_path / "other.h5", {"seed": 0}, ["flops"])
    other.append(rows(0, 2))
    other.append(rows(2, 2))
    os.replace(journal_path(other.path), j)
    with pytest.raises(SearchLogError, match="belongs to another log"):
        read_log(path)
    j.write_bytes(b"x" * 200)
    with pytest.raises(SearchLogError, match="no record header"):
        read_log(path)
    j.unlink()
    j.symlink_to(journal_path(other.path).parent / "elsewhere")  # a link is never followed
    (tmp_path / "elsewhere").write_bytes(b"")
    with pytest.raises(SearchLogError, match="not a regular file"):
        read_log(path)


def test_a_compaction_killed_after_its_rename_applies_nothing_twice(tmp_path):
    path = tmp_path / "log.h5"
    log = SearchLog(path, {"seed": 0}, ["flops"])
    log.append(rows(0, 2))
    log.append(rows(2, 3))
    stale = journal_path(path).read_bytes()
    log.compact()
    journal_path(path).write_bytes(stale)  # the unlink after the rename never ran
    assert list(read_log(path)[1]["iteration"]) == list(range(5))
    again = SearchLog(path, {"seed": 0}, ["flops"])
    again.load()
    again.append(rows(5, 2))
    assert list(read_log(path)[1]["iteration"]) == list(range(7))


def test_a_log_written_before_journals_is_extended(tmp_path):
    path = tmp_path / "log.h5"
    log = SearchLog(path, {"seed": 0}, ["flops"])
    log.append(rows(0, 3))
    with h5py.File(path, "a") as f:  # the older layout: no log_id
        del f.attrs["log_id"]
    from .test_h5safety import _reseal

    _reseal(path)
    old = SearchLog(path, {"seed": 0}, ["flops"])
    assert len(old.load()) == 3
    old.append(rows(3, 2))
    old.append(rows(5, 2))
    assert list(read_log(path)[1]["iteration"]) == list(range(7))
    journal_path(path).write_bytes(b"")
    with h5py.File(path, "a") as f:
        del f.attrs["log_id"]
    _reseal(path)
    with pytest.raises(SearchLogError, match="no log_id"):
        read_log(path)


_KILLED = """
import hashlib, sys
from intrain.search.evolution import evolve
from intrain.spaces.nb201.search import NB201Edges
def s(a): return float(int(hashlib.sha256(a.encode()).hexdigest()[:8], 16) % 1000)
evolve(NB201Edges(), s, iterations=200, k=4, seed=3, log_path=sys.argv[1], checkpoint_every=10, batch=int(sys.argv[2]))
"""


@pytest.mark.parametrize("at,batch", [(1, 1), (4, 1), (7, 3)])
def test_killed_mid_record_resumes_to_the_same_history(tmp_path, at, batch):
    """SIGKILLed at the n-th write point (the base, or halfway through a journal record): the log
    reads as its last complete checkpoint and the resumed search equals an uninterrupted one."""
    straight = evolve(NB201Edges(), synthetic, iterations=200, k=4, seed=3, batch=batch)
    log = tmp_path / "log.h5"
    env = {**os.environ, "PYTHONPATH": str(REPO), "INTRAIN_FAULT": f"search_log.write:{at}"}
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED, str(log), str(batch)], env=env, capture_output=True, text=True
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    done = len(read_log(log)[1]) if log.exists() else 0
    assert done < 200
    if at > 1:
        assert journal_path(log).stat().st_size > 0  # the kill left a torn record behind
    resumed = evolve(
        NB201Edges(), synthetic, iterations=200, k=4, seed=3, log_path=log, checkpoint_every=10, batch=batch
    )
    assert list(resumed.history["arch"]) == list(straight.history["arch"])
    assert np.array_equal(resumed.history["score"], straight.history["score"])
    assert list(resumed.history["iteration"]) == list(range(200))


def test_a_mutated_journal_reads_as_a_prefix_or_is_refused_in_words(tmp_path):
    """300 seeded byte flips, truncations and insertions in a journal: the reader returns rows that
    are a prefix of the true ones or raises SearchLogError, never another exception."""
    path = tmp_path / "log.h5"
    log = SearchLog(path, {"seed": 0}, ["flops"])
    log.append(rows(0, 3))
    for c in range(5):
        log.append(rows(3 + 4 * c, 4))
    truth = read_log(path)[1]
    j = journal_path(path)
    good = j.read_bytes()
    rng = np.random.default_rng(0)
    outcomes = {"prefix": 0, "refused": 0}
    for _ in range(300):
        data = bytearray(good)
        how = rng.integers(3)
        at = int(rng.integers(len(data)))
        if how == 0:
            data[at] ^= 1 << int(rng.integers(8))
        elif how == 1:
            del data[at:]
        else:
            data[at:at] = rng.bytes(int(rng.integers(1, 16)))
        j.write_bytes(bytes(data))
        try:
            got = read_log(path)[1]
        except SearchLogError:
            outcomes["refused"] += 1
            continue
        n = len(got)
        assert n <= len(truth)
        assert list(got["arch"]) == list(truth["arch"][:n]) and list(got["flops"]) == list(truth["flops"][:n])
        outcomes["prefix"] += 1
    assert outcomes["prefix"] > 0 and outcomes["refused"] > 0, outcomes


# ----------------------------------------------------------------------------- attack findings (issue 30)


def _line_meta() -> dict:
    return {"k": 2, "seed": 0}


class Line:
    """A problem without describe columns, for logs written by hand."""

    def start(self, rng):
        return "0"

    def mutate(self, arch, rng):
        return str(int(arch) + int(rng.choice([-1, 1])))

    def describe(self, arch):
        return {}


def plain_rows(its: list[int]) -> list[dict]:
    return [{"iteration": i, "arch": str(i), "score": float(i), "new": 1} for i in its]


def test_a_second_run_on_a_log_in_use_is_refused_naming_the_first(tmp_path):
    """Two runs on one log corrupted its journal (one compacted while the other held an offset):
    the log is locked for a run's lifetime, a second run is refused naming the first's pid."""
    path = tmp_path / "log.h5"
    evolve(Line(), lambda a: -abs(int(a) - 5), iterations=6, k=2, log_path=path)
    holder = SearchLog(path, _line_meta(), [])
    holder.acquire()
    try:
        calls = []
        with pytest.raises(SearchLogError, match=rf"in use by another run \(pid {os.getpid()}\)"):
            evolve(Line(), lambda a: calls.append(a) or 0.0, iterations=12, k=2, log_path=path)
        assert calls == []  # refused before any work
    finally:
        holder.release()
    assert len(evolve(Line(), lambda a: -abs(int(a) - 5), iterations=12, k=2, log_path=path).history) == 12


def test_a_second_process_on_a_log_in_use_is_refused(tmp_path):
    """The same with a real second process (the identical command twice)."""
    path = tmp_path / "log.h5"
    holder = SearchLog(path, {"seed": 0}, ["flops"])
    holder.acquire()
    try:
        code = (
            "import sys; from intrain.core.search_log import SearchLog, SearchLogError\n"
            f"log = SearchLog({str(path)!r}, {{'seed': 0}}, ['flops'])\n"
            "try:\n    log.acquire()\nexcept SearchLogError as e:\n    print(e); sys.exit(3)\n"
        )
        proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
        assert proc.returncode == 3, proc.stdout + proc.stderr
        assert f"pid {os.getpid()}" in proc.stdout
    finally:
        holder.release()


def test_a_bad_journal_says_the_base_is_intact_and_moving_it_aside_resumes(tmp_path):
    path = tmp_path / "log.h5"
    log = SearchLog(path, {"seed": 0}, ["flops"])
    log.append(rows(0, 3))
    log.append(rows(3, 2))
    log.append(rows(5, 2))
    j = journal_path(path)
    data = bytearray(j.read_bytes())
    data[sl.HEADER_BYTES + 10] ^= 0xFF
    j.write_bytes(bytes(data))
    with pytest.raises(SearchLogError, match=r"intact with 3 complete rows: move the journal aside") as e:
        read_log(path)
    assert "delete the log" not in str(e.value)
    os.replace(j, tmp_path / "aside")
    assert list(read_log(path)[1]["iteration"]) == [0, 1, 2]


def test_an_oversized_length_in_a_first_record_is_refused_not_a_torn_tail(tmp_path):
    """A length field past the end with valid records after it is corruption: reading it as a torn
    tail silently dropped them, and the next append truncated them away."""
    path = tmp_path / "log.h5"
    log = SearchLog(path, {"seed": 0}, ["flops"])
    log.append(rows(0, 2))
    for first in (2, 4, 6):
        log.append(rows(first, 2))
    j = journal_path(path)
    data = bytearray(j.read_bytes())
    size = len(data)
    data[36:40] = (size * 4).to_bytes(4, "little")  # the first record's payload length
    j.write_bytes(bytes(data))
    with pytest.raises(SearchLogError, match=r"record at byte 0 claims .* yet a record of this log follows"):
        read_log(path)
    with pytest.raises(SearchLogError, match="claims"):
        SearchLog(path, {"seed": 0}, ["flops"]).load()
    assert j.stat().st_size == size  # nothing was truncated


def test_an_oversized_length_in_the_last_record_is_still_a_torn_tail(tmp_path):
    path = tmp_path / "log.h5"
    log = SearchLog(path, {"seed": 0}, ["flops"])
    log.append(rows(0, 2))
    log.append(rows(2, 2))
    j = journal_path(path)
    record = bytearray(sl.encode_record(log._state[0], 4, rows(4, 2), log.cols))
    record[36:40] = (10**6).to_bytes(4, "little")
    with open(j, "ab") as f:
        f.write(bytes(record[:70]))
    assert list(read_log(path)[1]["iteration"]) == [0, 1, 2, 3]


def test_a_record_whose_iterations_do_not_increase_is_refused_naming_the_row(tmp_path):
    path = tmp_path / "log.h5"
    log = SearchLog(path, _line_meta(), [])
    log.append(plain_rows([0, 1, 2]))
    log.append(plain_rows([1, 2]))  # well formed and checksummed, but history again
    with pytest.raises(SearchLogError, match=r"row 3 has iteration 1 after iteration 2"):
        read_log(path)
    with pytest.raises(SearchLogError, match=r"row 3 has iteration 1"):
        evolve(Line(), lambda a: 0.0, iterations=10, k=2, log_path=path)


def test_a_gap_in_the_iterations_is_refused_unless_rejected_children_count(tmp_path):
    path = tmp_path / "log.h5"
    log = SearchLog(path, _line_meta(), [])
    log.append(plain_rows([0, 1, 2]))
    log.append(plain_rows([7, 8]))  # increasing, but rows 3 .. 6 of a one-row-per-iteration log are missing
    with pytest.raises(SearchLogError, match=r"row 3 has iteration 7, expected 3"):
        evolve(Line(), lambda a: 0.0, iterations=12, k=2, log_path=path)


def test_a_journal_directory_without_a_log_is_refused_before_any_work(tmp_path):
    path = tmp_path / "log.h5"
    journal_path(path).mkdir()
    calls = []
    with pytest.raises(SearchLogError, match=rf"journal {journal_path(path)} is not a regular file"):
        evolve(Line(), lambda a: calls.append(a) or 0.0, iterations=6, k=2, log_path=path, checkpoint_every=2)
    assert calls == []


def test_a_journal_without_its_log_is_kept_aside_not_deleted(tmp_path, caplog):
    path = tmp_path / "log.h5"
    log = SearchLog(path, {"seed": 0}, ["flops"])
    log.append(rows(0, 2))
    log.append(rows(2, 2))
    kept = journal_path(path).read_bytes()
    path.unlink()  # the user deleted the visible log only
    fresh = SearchLog(path, {"seed": 0}, ["flops"])
    assert len(fresh.load()) == 0
    fresh.append(rows(0, 1))
    aside = list(tmp_path.glob(".log.h5.journal.orphan-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == kept
    assert "kept aside" in caplog.text
    fresh.append(rows(1, 1))
    path.unlink()
    SearchLog(path, {"seed": 0}, ["flops"]).append(rows(0, 1))  # an append without a load keeps it too
    assert len(list(tmp_path.glob(".log.h5.journal.orphan-*"))) == 2


def test_a_user_file_given_as_log_is_not_called_corrupt(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n" * 100)
    with pytest.raises(SearchLogError, match="is not a search log") as e:
        evolve(Line(), lambda a: 0.0, iterations=3, k=2, log_path=notes)
    assert "delete" not in str(e.value) and notes.read_text() == "my notes\n" * 100

"""The allocator setting keeps freed buffers mapped (fewer page faults) and leaves scores unchanged."""

import subprocess
import sys
import textwrap

import pytest
import torch

from intrain.core.records import ScoreSettings
from intrain.engine.allocator import retain_freed_memory
from intrain.scoring.scorer import Scorer

glibc = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's (Linux)")

# Allocate, touch and free buffers of a few MB the way a probe does; report the minor page faults.
FAULTS = textwrap.dedent("""
    import resource, sys, torch
    from intrain.engine.allocator import retain_freed_memory
    if sys.argv[1] == "1":
        assert retain_freed_memory()
    def faults():
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    sizes_mb = (24, 4, 24, 4)
    for _ in range(3):  # warm up
        bufs = [torch.ones(mb << 18) for mb in sizes_mb]; del bufs
    start = faults()
    for _ in range(40):
        bufs = [torch.ones(mb << 18) for mb in sizes_mb]
        del bufs
    print(faults() - start)
""")


# glibc's own default varies between processes (its dynamic mmap threshold: 0 to 12,000 faults
# per round measured here), so the control pins it to eager trimming: heap for these buffers,
# every freed byte returned to the kernel. retain_freed_memory() must override exactly that.
EAGER_TRIM = {"MALLOC_TRIM_THRESHOLD_": "0", "MALLOC_TOP_PAD_": "0", "MALLOC_MMAP_THRESHOLD_": str(32 << 20)}


def _faults(retain: bool) -> int:
    env = {"INTRAIN_RETAIN_MEMORY": "1", "PATH": "", **EAGER_TRIM}
    out = subprocess.run(
        [sys.executable, "-c", FAULTS, "1" if retain else "0"], check=True, capture_output=True, text=True, env=env
    )
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@glibc
def test_retained_memory_is_reused_without_page_faults():
    """40 rounds of 56 MB in four buffers: trimmed memory is faulted in again each round, retained is not."""
    trimmed, retained = _faults(False), _faults(True)
    assert trimmed > 40 * 3_000  # measured 6,000-11,000 pages per round: re-faulting is seen
    # A one-off first touch of a 24-MB buffer (6,144 pages) was seen once in six; a per-round
    # cost would be 40 times that.
    assert retained <= 2 * 6_144


def test_switch_turns_it_off(monkeypatch):
    monkeypatch.setenv("INTRAIN_RETAIN_MEMORY", "0")
    assert retain_freed_memory() is False


@pytest.mark.slow
@glibc
def test_scores_bitwise_equal_with_retained_memory():
    """Where buffers live does not change the arithmetic."""
    settings = ScoreSettings()
    arch = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|"
    before = Scorer("nb201", "ImageNet16-120", settings, "cpu").score(0, arch)
    assert retain_freed_memory()
    after = Scorer("nb201", "ImageNet16-120", settings, "cpu").score(0, arch)
    assert torch.equal(torch.as_tensor(before.probe.param_stats), torch.as_tensor(after.probe.param_stats))
    assert torch.equal(torch.as_tensor(before.probe.layer_stats), torch.as_tensor(after.probe.layer_stats))
    assert before.proxies == after.proxies

"""The server's malloc settings take on this machine's C library (glibc)."""

import platform

import pytest

from bot.allocator import tune_malloc


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_malloc_settings_are_accepted_by_glibc():
    assert tune_malloc() is True


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_free_memory_a_burst_left_behind_goes_back_to_the_system():
    import numpy as np

    from bot.allocator import release_free_memory

    def rss_kb() -> int:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))

    tune_malloc()
    # 3 MB blocks (under the 4 MB mmap threshold: heap), every other one kept, so the freed ones sit
    # between live ones where the trim threshold cannot return them.
    blocks = [np.ones(3 * 1024 * 1024 // 8) for _ in range(40)]
    kept = blocks[::2]
    del blocks
    before = rss_kb()
    assert release_free_memory() is True
    assert before - rss_kb() > 30 * 1024  # most of the 60 MB freed between the kept blocks
    assert all(float(b[0]) == 1.0 for b in kept)  # the live ones are untouched


def test_a_pool_runs_its_idle_hook_once_the_last_queued_job_is_done():
    import threading

    from bot.workers import TrackedPool

    calls: list[int] = []
    release = threading.Event()
    pool = TrackedPool(1, "test-idle", when_idle=lambda: calls.append(len(calls)))
    try:
        first = pool.submit(release.wait, 10)
        second = pool.submit(lambda: None)
        assert calls == []  # both queued: not idle
        release.set()
        first.result(10), second.result(10)
        assert pool.wait_idle(10)
        assert calls == [0]  # once, after the second: the first finished with another still queued
    finally:
        pool.shutdown()

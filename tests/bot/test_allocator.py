"""The server's malloc settings take on this machine's C library (glibc)."""

import platform

import pytest

from bot.allocator import tune_malloc


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_malloc_settings_are_accepted_by_glibc():
    assert tune_malloc() is True

"""glibc ``malloc`` settings for the long-running server (``mallopt`` through ctypes, standard library).

Why: each question allocates and frees tens of MB of activations (the embedder and the reader). With
glibc's defaults the freed blocks stay with the process: its mmap threshold rises after the first
large free, so later buffers come from the heap and fragment it, and every thread that allocates (16
ack workers, the answer and check workers) may get an arena of its own. Measured on the archive
(``bench`` part ``cold``, 30 questions through ``serve --http``): RSS 760 MB with the defaults. A
fixed threshold sends large buffers to ``mmap`` (returned to the OS on free) and two arenas bound
the fragmentation. The environment variables ``MALLOC_ARENA_MAX`` / ``MALLOC_MMAP_THRESHOLD_`` do the
same, but must be set before the process starts; this works from ``storydesk serve`` itself.

The thresholds trade latency against memory. Each question's activations are a few MB (the reader's
attention and feed-forward buffers): below the mmap threshold they come from the heap, which keeps
up to the trim threshold free at its top for the next question, instead of being mapped, faulted
in page by page and given back every time. Measured with the served reader (30 questions through
``serve --http``, then warm story-scoped / archive-wide p50 in a process tuned the same way):
256 KB / 256 KB 675 MB, 44.9 / 77.3 ms; 4 MB / 256 KB 29.0 / 58.7 ms; 4 MB / 16 MB 692 MB,
20.7 / 44.4 ms; 4 MB / 32 MB 696 MB, 20.2 / 41.7 ms; 4 MB / 64 MB 717 MB (the first and the last
before the reader shared the embedder's tokenizer, about 11 MB). Budgets: 700 MB, 30 / 60 ms.
``bench`` applies these settings too, so its latencies are a served process's.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

log = logging.getLogger(__name__)

# mallopt parameter numbers from glibc's <malloc.h>
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

SETTINGS = (
    (M_MMAP_THRESHOLD, 4 * 1024 * 1024),  # fixed: blocks this large are mmap'd and unmapped on free
    (M_TRIM_THRESHOLD, 16 * 1024 * 1024),  # give free heap tops back above this
    (M_ARENA_MAX, 2),  # one per core: threads share arenas instead of fragmenting 16 of them
)


@functools.cache  # find_library runs `ldconfig -p` in a subprocess: once per process, not per question
def _glibc(function: str):
    """``function`` from the C library when it is glibc's, else None (musl, macOS: their allocators differ)."""
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), function)
    except (OSError, AttributeError):
        log.debug("%s not available; allocator left at its defaults", function)
        return None


def tune_malloc() -> bool:
    """Apply :data:`SETTINGS` when the C library is glibc; True if every setting took."""
    mallopt = _glibc("mallopt")
    return mallopt is not None and all(mallopt(param, value) == 1 for param, value in SETTINGS)


def release_free_memory() -> bool:
    """Give every free page the allocator holds back to the system (``malloc_trim(0)``, about 2 ms).

    Why: the trim threshold only returns free memory at the heap's top; what questions free in
    its middle stays, so a server's RSS climbed from 674 MB after 30 questions to 711 after 100
    (flat to 300). Called when the answer worker falls idle, so a burst of questions keeps its
    buffers (no refaults) and the server holds its live memory only between bursts (in process:
    681 -> 621 MB after 150 questions). True if anything was released."""
    malloc_trim = _glibc("malloc_trim")
    return bool(malloc_trim(0)) if malloc_trim is not None else False

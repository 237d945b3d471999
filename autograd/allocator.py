"""glibc's malloc told to keep freed heap for the next training step (applied at import).

A training step allocates and frees the same few MiB of arrays every time. By default glibc
gives the freed top of its heap back to the kernel at the end of a step, and the next step
touches it again page by page: a small CNN step (benchmarks/ cnn_step) took ~2,700 page
faults and ~5 ms of system time per step, more than half of the step. Keeping a pad of
freed heap (M_TOP_PAD) removes them: 16.9-19.1 ms -> 4.5-5.6 ms per step in a plain
chainrule training loop, with the same peak RSS (benchmarks/README.md, "Allocator").

It changes a setting of the whole process, so it can be turned off: set the environment
variable CHAINRULE_MALLOC=default before importing autograd. Elsewhere than Linux with
glibc it does nothing.
"""
import ctypes
import os
import sys

TOP_PAD = 64 << 20  # bytes of freed heap glibc keeps instead of returning them
MMAP_THRESHOLD = 32 << 20  # blocks below this come from the heap (glibc's own adaptive maximum)
_M_TOP_PAD = -2  # mallopt parameter numbers, from glibc's malloc.h
_M_MMAP_THRESHOLD = -3


def keep_freed_heap(pad=TOP_PAD, mmap_threshold=MMAP_THRESHOLD):
    """Ask glibc to keep `pad` bytes of freed heap (mallopt(M_TOP_PAD)) and to serve blocks
    below `mmap_threshold` from the heap (mallopt(M_MMAP_THRESHOLD)); True if it did.

    NOTE: setting M_TOP_PAD switches off glibc's adaptive mmap threshold (man mallopt), which
    would otherwise rise to the size of the arrays a program frees (up to 32 MiB). Frozen
    wherever it stood at import (128 KiB in a fresh process), every larger array, a 4 MiB
    weight gradient, would be mapped fresh and page-faulted on every step; so the threshold
    is set to that adaptive maximum here.

    >>> keep_freed_heap() in (True, False)
    True
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt  # glibc only (musl has no mallopt)
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return mallopt(_M_TOP_PAD, int(pad)) == 1 and mallopt(_M_MMAP_THRESHOLD,
                                                          int(mmap_threshold)) == 1


applied = os.environ.get("CHAINRULE_MALLOC", "").lower() != "default" and keep_freed_heap()

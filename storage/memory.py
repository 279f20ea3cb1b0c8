"""Memory behaviour of the process: large buffers go back to the system when freed."""

from __future__ import annotations

_MALLOPT_DONE = False


def return_large_buffers_to_os() -> None:
    """Keep large buffers from piling up in glibc's per-thread arenas.

    glibc serves an allocation above its mmap threshold with mmap, but raises that
    threshold after the first such block is freed; from then on every thread's arena
    keeps the freed multi-MiB buffers, and peak memory grows with the number of threads
    or worker processes rather than with the bytes actually in flight. A fixed threshold
    (1 MiB) keeps large buffers mmapped, so each goes back to the system when freed.
    """
    global _MALLOPT_DONE
    if _MALLOPT_DONE:
        return
    _MALLOPT_DONE = True
    try:
        import ctypes
        import ctypes.util

        name = ctypes.util.find_library("c")
        if name:
            libc = ctypes.CDLL(name)
            if hasattr(libc, "mallopt"):
                libc.mallopt(-3, 1024 * 1024)  # M_MMAP_THRESHOLD
    except OSError:  # not glibc: its allocator, its behaviour
        pass

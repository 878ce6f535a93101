"""BLAS threads for loops of many small products.

With a thread pool, OpenBLAS spins on each of thousands of tiny matrix products; on a shared 2-core machine
a loop ran up to 10x slower than with one thread (measured on notebook 05's simulation: 85 s against 9 s).
"""
from __future__ import annotations

import functools

from threadpoolctl import threadpool_limits


def single_blas_thread():
    """Context manager: BLAS limited to one thread inside the block."""
    return threadpool_limits(limits=1, user_api="blas")


def one_blas_thread(func):
    """Decorator: run ``func`` with BLAS limited to one thread."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with single_blas_thread():
            return func(*args, **kwargs)
    return wrapper

"""BLAS threads for loops of many small products.

With a thread pool, OpenBLAS spins on each of thousands of tiny matrix products; on a shared 2-core machine
a loop ran up to 10x slower than with one thread (measured on notebook 05's simulation: 85 s against 9 s).
"""
from __future__ import annotations

import functools
import sys

from threadpoolctl import ThreadpoolController

_controller: ThreadpoolController | None = None
_modules_when_built = -1


def _blas_controller() -> ThreadpoolController:
    """threadpoolctl's controller of the loaded thread pools. Building it walks the process's shared libraries
    (about 2.5 ms); it is rebuilt only when modules have been imported since, as a new module may have loaded
    another BLAS."""
    global _controller, _modules_when_built
    if _controller is None or len(sys.modules) != _modules_when_built:
        _controller, _modules_when_built = ThreadpoolController(), len(sys.modules)
    return _controller


def single_blas_thread():
    """Context manager: BLAS limited to one thread inside the block."""
    return _blas_controller().limit(limits=1, user_api="blas")


def one_blas_thread(func):
    """Decorator: run ``func`` with BLAS limited to one thread."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with single_blas_thread():
            return func(*args, **kwargs)
    return wrapper

"""sparsebounds.harness.blas: one BLAS thread inside the block, every BLAS restored after it, and the controller
built once (building it walks the shared libraries) unless modules were imported since."""
import sys
import types

import numpy as np
import scipy.linalg  # noqa: F401  (loads SciPy's own BLAS beside numpy's)
from threadpoolctl import threadpool_info

from sparsebounds.harness import blas


def _blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_one_thread_inside_for_every_blas_and_restored_after():
    before = _blas_threads()
    assert len(before) >= 1
    with blas.single_blas_thread():
        assert _blas_threads() == [1] * len(before)
    assert _blas_threads() == before
    assert blas.one_blas_thread(_blas_threads)() == [1] * len(before)


def test_the_controller_is_reused_and_rebuilt_after_an_import():
    first = blas._blas_controller()
    assert blas._blas_controller() is first
    sys.modules["_sparsebounds_test_new_module"] = types.ModuleType("_sparsebounds_test_new_module")
    try:
        assert blas._blas_controller() is not first                     # a new module may have loaded a BLAS
    finally:
        del sys.modules["_sparsebounds_test_new_module"]
    with blas.single_blas_thread():
        assert (np.ones((3, 3)) @ np.ones(3) == 3.0).all()

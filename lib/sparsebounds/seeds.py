"""Named random streams: every random draw of the collection comes from :func:`rng`.

A stream is named by the experiment's seed, a word saying what it draws (``"design"``, ``"signal"``,
``"noise"``, ``"init"``, ``"batches"``, ...) and integer keys saying for which unit (a dimension, a trial, a
width). Different (seed, name, keys) give independent streams (numpy's ``SeedSequence`` with the name and keys
as its spawn key), so there are no magic stream numbers and no seed arithmetic (``seed + 1000 * j``), and
adding a stream or a size never moves the numbers of another one. The name is hashed with CRC-32, which is the
same on every machine and Python (``hash()`` is not).
"""
from __future__ import annotations

import zlib

import numpy as np


def _ints(x) -> list[int]:
    if type(x) is int:                                         # the common cases, without numpy's object arrays
        out = [x]
    elif type(x) is tuple and all(type(v) is int for v in x):
        out = list(x)
    else:
        out = [int(v) for v in np.atleast_1d(np.asarray(x, dtype=object)).ravel()]
    if any(v < 0 for v in out):
        raise ValueError(f"seeds and keys are non-negative integers, got {x!r}")
    return out


def name_key(name: str) -> int:
    """The stream name as an integer: CRC-32 of its UTF-8 bytes."""
    if not name or not isinstance(name, str):
        raise ValueError(f"a stream needs a name (what it draws), got {name!r}")
    return zlib.crc32(name.encode("utf-8"))


def sequence(seed: int, name: str, *keys) -> np.random.SeedSequence:
    """The ``SeedSequence`` of stream ``name`` of ``seed`` (one non-negative int) for the integer ``keys``.

    Everything that tells units apart goes into ``keys``, never into the seed (as a seed, ``(7, 0)`` and ``7``
    are the same entropy)."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"the seed is one non-negative int (put the rest into the keys), got {seed!r}")
    return np.random.SeedSequence(entropy=_ints(seed)[0], spawn_key=(name_key(name), *(_ints(keys) if keys else [])))


def rng(seed, name: str, *keys) -> np.random.Generator:
    """The generator of stream ``name`` of ``seed`` for the integer ``keys``, e.g. ``rng(seed, "design", d, j)``."""
    return np.random.default_rng(sequence(seed, name, *keys))


def streams(seed, *names: str, keys=()) -> tuple[np.random.Generator, ...]:
    """One generator per name, all for the same ``keys``: ``design, noise = streams(seed, "design", "noise")``."""
    return tuple(rng(seed, name, *keys) for name in names)

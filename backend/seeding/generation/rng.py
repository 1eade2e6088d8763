"""Counter-based randomness: every value is a pure function of (seed, field, ordinal).

A chunk's rows therefore depend only on the run's seed, the kind and the rows'
ordinals, never on which process writes them, in what order, or how the plan is
cut into chunks. A retried chunk regenerates exactly the bytes it wrote before.

The mixer is SplitMix64's finaliser, vectorised with numpy's wrapping uint64
arithmetic. Only integer operations are used, so results are identical on every
platform; nothing here calls ``hash()`` (salted per process) or the clock.
"""

from __future__ import annotations

import zlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))
_MASK64 = (1 << 64) - 1


def mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser over a uint64 array (a bijection on 64-bit integers)."""
    z = (x ^ (x >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def _scalar_mix(value: int) -> int:
    return _finalise((value + 0x9E3779B97F4A7C15) & _MASK64)


def _finalise(z: int) -> int:
    """``mix`` on one Python integer."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


class Stream:
    """Independent random numbers for one named field of one seed.

    ``Stream(seed, "asset.type").ints(ordinals, 6)`` gives, for each ordinal, a
    number in [0, 6) that never changes for that (seed, field, ordinal).
    """

    __slots__ = ("key",)

    def __init__(self, seed: int, field: str):
        # crc32 is stable across processes and versions, unlike hash(str).
        self.key = np.uint64(_scalar_mix(_scalar_mix(seed & _MASK64) ^ zlib.crc32(field.encode())))

    def bits(self, ordinals: np.ndarray) -> np.ndarray:
        """64 random bits per ordinal."""
        return mix(ordinals.astype(np.uint64, copy=False) * _GOLDEN + self.key)

    def ints(self, ordinals: np.ndarray, n: int) -> np.ndarray:
        """Uniform integers in [0, n) as int64 (n up to 2**53)."""
        return ((self.bits(ordinals) >> _S11) % np.uint64(n)).astype(np.int64)

    def int(self, ordinal: int, n: int) -> int:
        """``ints`` for one ordinal, in plain Python: a story's few draws without numpy's per-call cost."""
        bits = _finalise((ordinal * 0x9E3779B97F4A7C15 + int(self.key)) & _MASK64)
        return (bits >> 11) % n

    def below(self, ordinals: np.ndarray, numerator: int, denominator: int) -> np.ndarray:
        """Booleans, true with probability numerator/denominator."""
        return self.ints(ordinals, denominator) < numerator

    def weighted(self, ordinals: np.ndarray, weights: WeightTable) -> np.ndarray:
        """Indices into ``weights``, drawn with the table's integer weights."""
        return np.searchsorted(weights.cumulative, self.ints(ordinals, weights.total), side="right")


class WeightTable:
    """Integer weights for categorical draws; integers keep draws exact everywhere."""

    __slots__ = ("cumulative", "total")

    def __init__(self, weights: list[int] | np.ndarray):
        self.cumulative = np.cumsum(np.asarray(weights, dtype=np.int64))
        self.total = int(self.cumulative[-1])

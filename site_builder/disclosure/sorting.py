"""Sorts and ranks of rows of several integer keys, done as one sort of one combined key
where the keys' spans allow (protect's complement choices and the cube search sort millions
of rows this way each round)."""

from __future__ import annotations

import math

import numpy as np


def lex_order(*keys: np.ndarray) -> np.ndarray:
    """The order ``np.lexsort(keys[::-1])`` gives (``keys[0]`` the primary key; ties in
    input order), by one stable sort of one integer key where the keys' spans multiply to
    under 2**62 (a full-state year's complement choices: a sort of millions of candidates,
    each time a round picks)."""
    if not len(keys[0]):
        return np.zeros(0, np.int64)
    lows = [int(k.min()) for k in keys]
    spans = [int(k.max()) - lo + 1 for k, lo in zip(keys, lows, strict=True)]
    if math.prod(spans) >= 2**62:
        return np.lexsort(keys[::-1])
    combined = np.zeros(len(keys[0]), np.int64)
    for k, lo, span in zip(keys, lows, spans, strict=True):
        combined = combined * span + (k.astype(np.int64) - lo)
    return np.argsort(combined, kind="stable")


def dense_rank(*keys: np.ndarray, within: np.ndarray | None = None) -> np.ndarray:
    """Each row's dense rank (1, 2, ...; equal rows share one) in the lexicographic order
    of ``keys``, as polars' ``pl.struct(*keys).rank("dense")`` gives it; ``within``: ranked
    apart per value of this key, as ``.over(within)`` (a polars rank of a struct took 2.3 s
    of a full-state year's cube search)."""
    n = len(keys[0])
    if not n:
        return np.zeros(0, np.int64)
    group = [] if within is None else [within]
    cols = [*group, *keys]
    order = lex_order(*cols)
    new = np.zeros(n, bool)
    new[0] = True
    for k in cols:
        s = k[order]
        new[1:] |= s[1:] != s[:-1]
    rank = np.cumsum(new)
    if within is not None:
        w = within[order]
        first = np.r_[True, w[1:] != w[:-1]]
        rank = rank - np.maximum.accumulate(np.where(first, rank, 0)) + 1
    out = np.empty(n, np.int64)
    out[order] = rank
    return out

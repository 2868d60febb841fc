"""Audit what is published, not what was intended.

:func:`audit_published` reads the public CSVs back from disk, rebuilds every linear relation
between the published numbers, and computes with linear programming (HiGHS) the range of
values each withheld number could take, given everything an attacker can read:

* every published count and numerator, exactly;
* a coded rate (">=95%") as the interval of numerators it allows, given its denominator;
* the reason column: a primary-suppressed count is 1..min_cell_size-1; a complementary count
  is at least min_cell_size (zeros are published and never chosen as complements); a
  complementary numerator with a published denominator was not extreme (inside the bands);
* all counts >= 0 and numerators <= denominators;
* relations: group, grade, school->district->state, level and measure sums.

A withheld value fails when its range holds only one integer (exact disclosure) or is
narrower than the policy's protection (approximate disclosure). A relation whose withheld
head-count parts add up to 1..min_cell_size-1 students is a derived small group. This module
does not import the protection code.

Large linked groups (a state's districts and schools tied together by the hierarchy) are too big
for one LP per withheld value. For those the audit *proves* each range instead of computing it
exactly: two feasible points of the whole system that differ in a value by the required width
show its range is at least that wide. The points come from small LPs over a neighbourhood of the
value with everything outside held at a feasible starting point: either a *hint* (any candidate
values, e.g. the unprotected aggregates, checked here against every published constraint before
use; a hint that breaks one is ignored) or an LP solution. The neighbourhoods, in order: each
*proof region* (neighbouring counties' districts, :mod:`regions`, found from the published
district codes alone) on its own; a district together with the *partner districts* that have
the most room to move in the state totals that link them (a rare group's count in one district
moves against the same group's counts where there are most of them); a region together with
the *partner region* that has the most room in those totals (where the partner district is
itself held by its own region's other totals). Districts' shares of state
totals are also proven by *trades*: points of each district alone that move its shares, combined
by a small master LP so that the moves cancel in every state total (each combined point is checked
against every published constraint before use). A value no neighbourhood can prove wide enough
gets the exact LP of its whole linked group; where that group is too large to solve in time, the
value is reported as unproven, and an unproven value fails the audit like any other. A *regional*
audit (``protect()``'s rounds) stops after the partner pass: it solves the whole group exactly only
when few values are left, and otherwise reports the rest unproven, so that protection withholds
more near them instead of waiting on LPs of the whole state.

*Witnesses* carry proofs from one audit to the next: the points that proved each value's range
(:class:`Witnesses`, kept by ``protect()`` beside the raw cells, restricted like them). Given
witnesses, the audit checks every point against every published number first (a point that breaks
one, or moves a number that is published, proves nothing) and searches only for the proofs still
missing. Withholding more only loosens the published system, so a point that proved a range before
still proves it: ``protect()``'s rounds and the publication gate's audit then cost a check, not a
search.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import highspy
import numpy as np
import polars as pl
from scipy.sparse import coo_matrix, csc_matrix, csr_matrix, vstack
from scipy.sparse.csgraph import connected_components

from site_builder.cells import CSV_COLUMNS, KEY
from site_builder.disclosure.policy import Policy
from site_builder.disclosure.relations import System, build_system, with_population
from site_builder.parallel import pool

log = logging.getLogger(__name__)

BIG = 1.0e7
"""Upper bound for values nothing else bounds (more students than any state has)."""
EPS = 1e-6
DUAL_EPS = 1e-7
"""A row dual above this (in absolute value) marks a row that holds an exact LP's optimum."""
N_DIRECTIONS = 2
MAX_FOCUSED_ROUNDS = 8
BATCH_COLUMNS = 150
"""Pairs of random objective directions solved over all hidden values at once; every var
whose spread over those feasible points is already wide enough needs no LP of its own."""
LARGE_COMPONENT = 2000
"""Linked groups with more withheld values than this are proven by neighbourhoods."""
EXACT_LIMIT = 3000
"""Largest linked group whose exact LP ranges are computed for values no neighbourhood proves."""
NEIGHBOURHOOD_HOPS = 2
"""Neighbourhoods: the values within at least this many shared relations of a value."""
MAX_HOPS = 12
"""... and at most this many."""
ALONE_COLUMNS = 3000
"""Largest neighbourhood of a single value (solved exactly)."""
LOCAL_COLUMNS = 15000
"""Largest neighbourhood LP (columns)."""
WHOLE_GROUP_COLUMNS = 25000
"""A group up to this size is its own neighbourhood (one interior-point LP per direction)
when it has at least one short value per SEED_COLUMNS columns..."""
SEED_COLUMNS = 100
"""... otherwise a neighbourhood holds up to this many columns per short value in it."""
LOCAL_ROUNDS = 4
"""Random-direction rounds (a min and a max LP each) per neighbourhood LP."""
IPM_COLUMNS = 40000
"""LPs with more columns than this that need only feasible points (random directions) use
the interior-point solver; smaller ones warm-started simplex. Full state 2024: over the ten
regions of 3,000-7,000 columns simplex took 5.5 s against 24.3 s and left 177 values short
against 256 (with 3,000 here, the first audit round took 80 s; now 58 s). Over a whole group
of 19,792 columns, interior point took 14.2 s and left 359 short, simplex 11.4 s and 2,091:
its vertices spread less than interior points do. Session 55: the largest of the full
state's 83 proof regions (23,000-28,000 withheld rows) pass 10,000 columns, and since each
grade's tested count is bounded by its enrolment they hold short values round after round.
With 10,000 here the full state's 2024 took 411.1 s (region LPs 73.1 s in the first audit
round, 37.0 s for 9 values in the fourth); with 40,000, 246.3 s (24.2 s and 10.0 s), side by
side, with 51 fewer rows withheld and as many values left unproven (benchmarks/README.md,
"session 55")."""
ALONE_COUNT = 400
"""Values per large group tried alone in their own neighbourhood (exact there)."""
EXACT_COUNT = 150
"""Exact min/max LPs for values left short in one large linked group; the rest are unproven."""
TRADE_SLACK = 40.0
"""How far a region's shares of its linking rows may move in its own trade points."""
TRADE_ROUNDS = 4
"""Random-direction rounds (a min and a max LP each) per region for trade points."""
TRADE_POINTS_PER_ROW = 8
"""... or more, so that the points number at least this many per linking row."""
TRADE_TARGETS = 60
"""Regions whose short columns one master LP of the trades pass pushes."""
TRADE_MASTER_ROUNDS = 60
"""Master LP rounds per trades iteration."""
TRADE_ITERATIONS = 3
"""Master rounds, then more points for the regions still short, this many times."""
EXACT_LARGE_COUNT = 60
"""A thorough audit solves exactly over a group of up to EXACT_LARGE_COLUMNS columns when at
most this many of its values are left unproven (interior point, a few seconds a solve on
20,000 columns)..."""
EXACT_LARGE_COLUMNS = 40000
"""... and no larger: over the full state's largest groups (80,000-190,000 columns) these
solves take minutes (one group of 83,260 columns: 9 minutes for 3 values, unfinished when
stopped). What is left there is unproven, and protect() answers it with complements. Nor does
a thorough audit run the neighbourhood passes over such a group: on the full state's
127,160-column group they proved 2 of 1,922 values in 328 s and 0 of 1,920 in 57 s."""
PARTNERS = 4
"""Districts a district with short values is solved with, exactly, in the partners pass:
those with the most room to move in the rows (state totals) that link them to it."""
REGIONAL_EXACT_COUNT = 40
"""In protect()'s regional rounds, a group of at most EXACT_LARGE_COLUMNS columns with at most
this many values left unproven after the partner districts gets exact LPs over the whole
group for them (values whose proofs need moves between many districts; complements near them
would not help those proofs). A round may pass its own ``exact_count`` instead, for a group
of any size (protect() does when its rounds stall). On the full state's Algebra I group
(127,018 columns) the first exact solve for 27 values ran over 15 minutes; where 590 values
were left there instead (too many for it), complements near them let the next round's
partner districts prove every one in 8 s."""
FEW_SHORT = 20
"""An exact neighbourhood LP with fewer values than this to prove goes straight to their exact
ranges (see :func:`_directions`)."""
PARTNER_REGION_COUNT = 400
"""The partner regions pass runs where at most this many values are left after the partner
districts: each pair of regions is an exact LP (full state: up to about 12,000 columns and
2 s), so many values spread over many regions would take minutes; that many are answered with
complements near them."""
REGION_EXACT_COUNT = 100
"""Where at most this many values are left after the partner passes, each gets exact LPs
over its own region (the first pass's random directions can miss a value that its region
alone does let move: full state 2024 spent a whole audit round, about 9 s, on one such
value, a school's count at 0 that no pass had a partner for)."""
CRAWL_ITERATIONS = 3000
"""Simplex iterations an exact LP over a whole large group may take with primal simplex's
bound perturbation before it is solved again without it (see :func:`_guarded`). Full state
2025, an exact round's LPs over a group of 298,785 columns: 0-477 iterations each; the LP
that crawled (2023) was unfinished after 44,152 dual iterations (150 s) from its basis."""
STALLED_CHECKS = 50
"""Checks of HiGHS's limits in a row without an iteration after which such an LP is solved
again the same way (see :func:`_guarded`; an LP's first solve from a crossover basis makes
3; the LP that crawled in 2023 was stopped after 97 iterations and 51 such checks)."""
PROBE_COUNT = 6
"""Exact LPs for more values than this over a pair of regions (see ``partner_regions``), or
over one region, are first solved for this many of them, spread over the list; if that
proves none of them, the rest are left to the later passes (see ``probed``). Full state
2025, session 61: regions 69 and 33 with 55 short values took 93 solves over 39,072 columns,
then 93 over 53,017 (124 s), and proved none; the probe took 7.6 s. Each pair the probe left
there had proved none of its values without it: the year took 690.8 s against 900.4 s, with
the same rows withheld; probing the regions' exact LPs too, 666.8 s and 2 rows fewer (a
heuristic: a value left here may have been provable, and then costs a complement)."""
PARTNER_HOPS = 2
"""How far (in relations) around the linked values a partners LP reaches."""
PARTNER_ROOM = 10.0
"""Room to move counted per value and side when ranking partners (a value at 0 can only go
up, so its partners need values above 0 that can go down)."""



SEVERITY = {"untrue": 0, "exact": 1, "derived_group": 2, "approximate": 3, "inconsistent": 4,
            "unproven": 5}
"""The order failures are listed in: disclosed exactly first, merely unproven last."""


@dataclass(frozen=True)
class Failure:
    """One published set of numbers that discloses something."""

    kind: str
    """exact | approximate | unproven | derived_group | inconsistent | untrue"""
    cell: str
    """The withheld cell (or the relation) in plain words."""
    low: float | None = None
    high: float | None = None
    required: int | None = None
    pinned_by: tuple[str, ...] = ()
    """Published numbers in the relations that pin it."""
    var_id: int | None = None
    rel_id: int | None = None
    binding_rels: tuple[int, ...] = ()
    """Relations whose published numbers hold the value where it is: the rows with a
    nonzero dual in its exact LP (empty when no exact LP was solved for it). Withholding a
    published member of one of them is what can widen it."""

    def render(self) -> str:
        if self.kind == "derived_group":
            head = f"derived group of {self.low:g} students: {self.cell}"
        elif self.kind == "inconsistent":
            head = f"published numbers do not add up: {self.cell}"
        elif self.kind == "untrue":
            head = f"what is published does not fit the true values: {self.cell}"
        else:
            lo = "-inf" if self.low is None else f"{self.low:g}"
            hi = "inf" if self.high is None else f"{self.high:g}"
            if self.kind == "unproven":
                head = (f"not proven protected: {self.cell} was only shown to range over "
                        f"{lo}..{hi} (needs {self.required}); its linked group is too large "
                        "for an exact LP")
            else:
                what = ("exactly disclosed" if self.kind == "exact"
                        else "approximately disclosed")
                head = (f"{what}: {self.cell} can only be {lo}..{hi}"
                        + (f" (needs a range of {self.required})"
                           if self.kind == "approximate" else ""))
        if self.pinned_by:
            head += "\n    pinned by: " + "; ".join(self.pinned_by)
        return head


@dataclass
class AuditReport:
    """What the audit found. ``ok`` is True when nothing is disclosed."""

    failures: list[Failure] = field(default_factory=list)
    n_cells: int = 0
    n_values: int = 0
    n_withheld: int = 0
    n_components: int = 0
    n_lp_solves: int = 0
    seconds: float = 0.0
    witnesses: dict[int, Witnesses] = field(default_factory=dict)
    """Per year: the points that prove the withheld values proven here (see Witnesses)."""

    @property
    def ok(self) -> bool:
        return not self.failures

    @classmethod
    def combined(cls, reports: Iterable[AuditReport], n_cells: int) -> AuditReport:
        """One report for independent parts (years) audited apart (``seconds`` left 0)."""
        out = cls(n_cells=n_cells)
        for r in reports:
            out.failures += r.failures
            out.n_values += r.n_values
            out.n_withheld += r.n_withheld
            out.n_components += r.n_components
            out.n_lp_solves += r.n_lp_solves
            out.witnesses.update(r.witnesses)
        return out

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.failures:
            out[f.kind] = out.get(f.kind, 0) + 1
        return out

    def render(self, limit: int = 50) -> str:
        head = (f"Audited {self.n_cells:,} published cells: {self.n_values:,} distinct "
                f"numbers, {self.n_withheld:,} withheld, {self.n_components:,} linked groups "
                f"of withheld numbers, {self.n_lp_solves:,} LP solves, {self.seconds:.1f} s.")
        if self.ok:
            return head + "\nOK: no withheld number can be worked out or narrowed too far."
        kinds = ", ".join(f"{v} {k}" for k, v in sorted(self.counts().items()))
        lines = [head, f"FAILED: {len(self.failures)} disclosure(s) ({kinds})."]
        # What is shown disclosed before what is only not proven protected: a reader of the
        # first lines (a full-state year's 296 failures, 11 of them exact) sees the worst.
        worst = sorted(self.failures, key=lambda f: SEVERITY.get(f.kind, len(SEVERITY)))
        lines += ["  " + f.render() for f in worst[:limit]]
        if len(self.failures) > limit:
            lines.append(f"  ... and {len(self.failures) - limit} more")
        return "\n".join(lines)


_I0 = np.zeros(0, np.int64)
_F0 = np.zeros(0, np.float64)
_PTR0 = np.zeros(1, np.int64)
for _a in (_I0, _F0, _PTR0):  # shared by every empty set of witnesses: never written to
    _a.setflags(write=False)


def _ptr(lengths: np.ndarray) -> np.ndarray:
    """Offsets of pieces of ``lengths`` in a flat array (``n + 1`` of them, from 0)."""
    return np.r_[np.int64(0), np.cumsum(lengths, dtype=np.int64)]


@dataclass(frozen=True, eq=False)
class Witnesses:
    """Certificates that withheld values' ranges are wide: feasible points of one year's
    published system, found by this audit's LPs, kept so that a later audit of the same or a
    more suppressed pattern need not search for them again. Each point is the hint (the true
    values) plus a weighted sum of *moves*; a move changes some variables (``build_system``
    ids of ``fingerprint``'s system) by some amounts. A point proves nothing by itself: the
    audit checks every point against every published number before it counts (a point that
    breaks one, or that moves a value that is now published, is ignored).

    Kept flat, as a year holds about 200,000 points of a few moves each: move ``i`` changes
    ``m_var[m_ptr[i]:m_ptr[i + 1]]`` by ``m_delta[...]`` (the same slice); point ``j`` is
    the moves ``p_move[p_ptr[j]:p_ptr[j + 1]]`` with weights ``p_weight[...]``."""

    fingerprint: str
    m_ptr: np.ndarray = field(default_factory=lambda: _PTR0)
    m_var: np.ndarray = field(default_factory=lambda: _I0)
    m_delta: np.ndarray = field(default_factory=lambda: _F0)
    p_ptr: np.ndarray = field(default_factory=lambda: _PTR0)
    p_move: np.ndarray = field(default_factory=lambda: _I0)
    p_weight: np.ndarray = field(default_factory=lambda: _F0)

    @classmethod
    def of(cls, fingerprint: str, move_vars: list[np.ndarray], move_deltas: list[np.ndarray],
           point_moves: list[np.ndarray], point_weights: list[np.ndarray]) -> Witnesses:
        """From one array per move (its variables, its amounts) and per point (its moves, its
        weights)."""
        return cls(fingerprint, _ptr(_lengths(move_vars)), _flat(move_vars, np.int64),
                   _flat(move_deltas, np.float64), _ptr(_lengths(point_moves)),
                   _flat(point_moves, np.int64), _flat(point_weights, np.float64))

    def lists(self) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray],
                             list[np.ndarray]]:
        """(move_vars, move_deltas, point_moves, point_weights), one array per move or
        point: the inverse of :meth:`of`."""
        m, p = self.m_ptr[1:-1], self.p_ptr[1:-1]
        return (np.split(self.m_var, m) if self.n_moves else [],
                np.split(self.m_delta, m) if self.n_moves else [],
                np.split(self.p_move, p) if len(self) else [],
                np.split(self.p_weight, p) if len(self) else [])

    def __len__(self) -> int:
        return len(self.p_ptr) - 1

    @property
    def n_moves(self) -> int:
        return len(self.m_ptr) - 1

    @staticmethod
    def joined(fingerprint: str, parts: Iterable[Witnesses]) -> Witnesses:
        """The points of ``parts`` one after another, each part's moves renumbered after
        those of the parts before it."""
        parts = list(parts)
        if not parts:
            return Witnesses(fingerprint)
        shifts = np.cumsum([0] + [w.n_moves for w in parts[:-1]])
        m_len = np.concatenate([np.diff(w.m_ptr) for w in parts])
        p_len = np.concatenate([np.diff(w.p_ptr) for w in parts])
        return Witnesses(fingerprint, _ptr(m_len), np.concatenate([w.m_var for w in parts]),
                         np.concatenate([w.m_delta for w in parts]), _ptr(p_len),
                         np.concatenate([w.p_move + s for w, s in zip(parts, shifts,
                                                                      strict=True)]),
                         np.concatenate([w.p_weight for w in parts]))

    def merged(self, other: Witnesses) -> Witnesses:
        """Both sets of points (``other``'s moves renumbered after this one's); a set with
        another fingerprint is left out."""
        if other.fingerprint != self.fingerprint:
            return self
        return Witnesses.joined(self.fingerprint, [self, other])

    def points(self, pids: np.ndarray) -> Witnesses:
        """The points ``pids`` (in that order) and the moves they use (in their order here,
        renumbered from 0)."""
        p_len, at = self.slices(pids)
        pm = self.p_move[at]
        mids = np.unique(pm)
        new_id = np.full(self.n_moves, -1, np.int64)
        new_id[mids] = np.arange(len(mids))
        m_len = np.diff(self.m_ptr)[mids]
        mat = _gather(self.m_ptr[:-1][mids], m_len)
        return Witnesses(self.fingerprint, _ptr(m_len), self.m_var[mat], self.m_delta[mat],
                         _ptr(p_len), new_id[pm], self.p_weight[at])

    def slices(self, pids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points ``pids``: how many moves each has, and where those are in ``p_move`` and
        ``p_weight`` (point by point)."""
        p_len = np.diff(self.p_ptr)[pids]
        return p_len, _gather(self.p_ptr[:-1][pids], p_len)

    def digest(self) -> str:
        """SHA-256 of the fingerprint and every move and point (lengths included): the same
        witnesses give the same digest (for the publication gate's audit cache)."""
        h = hashlib.sha256(self.fingerprint.encode())
        for a, dtype in ((self.m_ptr, np.int64), (self.m_var, np.int64),
                         (self.m_delta, np.float64), (self.p_ptr, np.int64),
                         (self.p_move, np.int64), (self.p_weight, np.float64)):
            h.update(np.int64(len(a)).tobytes())
            h.update(np.ascontiguousarray(a, dtype).tobytes())
        return h.hexdigest()

    def frames(self, year: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(moves, points) as frames, for :func:`write_witnesses`."""
        mv, md, pm, pw = self.lists()
        moves = pl.DataFrame({
            "year": pl.Series([year] * self.n_moves, dtype=pl.Int32),
            "move": pl.Series(range(self.n_moves), dtype=pl.Int64),
            "vars": pl.Series([v.tolist() for v in mv], dtype=pl.List(pl.Int64)),
            "deltas": pl.Series([d.tolist() for d in md], dtype=pl.List(pl.Float64))})
        points = pl.DataFrame({
            "year": pl.Series([year] * len(self), dtype=pl.Int32),
            "fingerprint": pl.Series([self.fingerprint] * len(self), dtype=pl.String),
            "moves": pl.Series([m.tolist() for m in pm], dtype=pl.List(pl.Int64)),
            "weights": pl.Series([w.tolist() for w in pw], dtype=pl.List(pl.Float64))})
        return moves, points


class _Recorder:
    """Witnesses as an audit finds them: moves one at a time, points naming moves by
    number (in the order recorded), and whole sets of checked points; put together once,
    by :meth:`witnesses`. Records nothing when ``on`` is false (point numbers stay 0)."""

    def __init__(self, on: bool) -> None:
        self.on = on
        self.n_moves = 0
        self.n_points = 0
        self._parts: list[Witnesses] = []  # p_move in the numbering of every move
        self._mv: list[np.ndarray] = []
        self._md: list[np.ndarray] = []
        self._pm: list[np.ndarray] = []
        self._pw: list[np.ndarray] = []

    def move(self, cols: np.ndarray, vals: np.ndarray) -> int:
        if not self.on:
            return -1
        self._mv.append(cols)
        self._md.append(vals)
        self.n_moves += 1
        return self.n_moves - 1

    def point(self, ids: list[int] | np.ndarray, weights: np.ndarray) -> int:
        """Records a point; returns its number."""
        if self.on:
            self._pm.append(np.asarray(ids, np.int64))
            self._pw.append(np.asarray(weights, np.float64))
            self.n_points += 1
        return self.n_points - 1 if self.on else 0

    def _flush(self) -> None:
        if self._mv or self._pm:
            w = Witnesses.of("", self._mv, self._md, self._pm, self._pw)
            self._parts.append(w)
            self._mv, self._md, self._pm, self._pw = [], [], [], []

    def points_of(self, w: Witnesses, keep: np.ndarray) -> None:
        """Every move of ``w``, and its points ``keep`` (numbered next, in that order)."""
        if not self.on:
            return
        self._flush()
        p_len, at = w.slices(keep)
        self._parts.append(Witnesses("", w.m_ptr, w.m_var, w.m_delta, _ptr(p_len),
                                     w.p_move[at] + self.n_moves, w.p_weight[at]))
        self.n_moves += w.n_moves
        self.n_points += len(keep)

    def witnesses(self) -> Witnesses:
        """Everything recorded (point ``j`` is the ``j``-th recorded)."""
        self._flush()
        parts = self._parts
        return Witnesses(
            "", _ptr(_flat([np.diff(w.m_ptr) for w in parts], np.int64)),
            _flat([w.m_var for w in parts], np.int64),
            _flat([w.m_delta for w in parts], np.float64),
            _ptr(_flat([np.diff(w.p_ptr) for w in parts], np.int64)),
            _flat([w.p_move for w in parts], np.int64),
            _flat([w.p_weight for w in parts], np.float64))


def _lengths(arrays: list[np.ndarray]) -> np.ndarray:
    return np.fromiter(map(len, arrays), np.int64, len(arrays))


def _flat(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(0, dtype)


def _gather(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The indices of the pieces ``starts[i] : starts[i] + lengths[i]``, one after another."""
    return np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(
        int(lengths.sum()))


def _owners(lengths: np.ndarray) -> np.ndarray:
    """For each element of a flat array of pieces of ``lengths``, its piece."""
    return np.repeat(np.arange(len(lengths)), lengths)


WITNESS_FILES = ("witness_moves.parquet", "witness_points.parquet")
"""The files that hold witnesses beside the raw cells (restricted, like them)."""


def witness_frames(witnesses: dict[int, Witnesses]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per-year witnesses as (moves, points) frames, for the files in WITNESS_FILES."""
    parts = [w.frames(y) for y, w in sorted(witnesses.items())] or [Witnesses("").frames(0)]
    return pl.concat([m for m, _ in parts]), pl.concat([p for _, p in parts])


def read_witnesses(in_dir: Path) -> dict[int, Witnesses]:
    """The witnesses in ``in_dir`` (WITNESS_FILES; empty when they are not there)."""
    paths = [Path(in_dir) / name for name in WITNESS_FILES]
    if not all(p.is_file() for p in paths):
        return {}
    moves, points = (pl.read_parquet(p) for p in paths)
    out: dict[int, Witnesses] = {}
    for (year,), pts in points.group_by("year", maintain_order=True):
        mv = moves.filter(pl.col("year") == year).sort("move")
        out[int(year)] = Witnesses(
            str(pts["fingerprint"][0]) if pts.height else "",
            *_flat_lists(mv["vars"], np.int64), _flat_lists(mv["deltas"], np.float64)[1],
            *_flat_lists(pts["moves"], np.int64), _flat_lists(pts["weights"], np.float64)[1])
    return out


def _flat_lists(s: pl.Series, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """A list column as (offsets, flat values): see :class:`Witnesses`."""
    lengths = s.list.len().fill_null(0).to_numpy().astype(np.int64)
    # An empty list explodes to one null.
    flat: np.ndarray = s.explode().drop_nulls().to_numpy().astype(dtype)
    if len(flat) != int(lengths.sum()):
        raise ValueError(f"witness file: column {s.name!r} holds missing values")
    return _ptr(lengths), flat


# ---------------------------------------------------------------------------- reading

def fingerprint(system: System) -> str:
    """What witnesses of ``system`` are tied to: its variables, in order."""
    return system.digest


def read_published(csv_paths: Iterable[Path]) -> pl.DataFrame:
    """Published cells from CSVs on disk, one row per KEY (cells in several files merged)."""
    frames = []
    for p in csv_paths:
        df = pl.read_csv(p, infer_schema=False)
        missing = [c for c in CSV_COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(f"{p}: missing columns {missing}")
        frames.append(df.select(list(CSV_COLUMNS)))
    if not frames:
        return pl.DataFrame(schema={c: pl.String() for c in CSV_COLUMNS})
    df = pl.concat(frames)
    keys = [c for c in KEY if c != "year"]
    df = df.with_columns(
        pl.col(keys + ["display", "reason"]).fill_null(""),
        pl.col("year").cast(pl.Int32),
        pl.col("n_students").cast(pl.Int64), pl.col("n_meeting").cast(pl.Int64),
        pl.col("rate").cast(pl.Float64),
        (pl.col("suppressed").str.to_lowercase() == "true").alias("suppressed"))
    return df.unique(subset=None, maintain_order=True)


def audit_published(csv_paths: list[Path], policy: Policy, workers: int = 1,
                    hint: pl.DataFrame | None = None,
                    witnesses: dict[int, Witnesses] | None = None) -> AuditReport:
    """Audit published CSV files (columns ``cells.CSV_COLUMNS``; withheld = empty field)."""
    return audit_cells(read_published(csv_paths), policy, workers=workers, hint=hint,
                       witnesses=witnesses)


def published_csvs(site_dir: Path) -> list[Path]:
    """A site's CSVs of published numbers: every CSV under ``downloads/`` but the data
    dictionary."""
    return sorted(p for p in (Path(site_dir) / "downloads").glob("**/*.csv")
                  if p.name != "data_dictionary.csv")


def audit_site(site_dir: Path, policy: Policy, workers: int = 1,
               hint: pl.DataFrame | None = None,
               witnesses: dict[int, Witnesses] | None = None) -> AuditReport:
    """Audit every CSV of :func:`published_csvs`."""
    return audit_published(published_csvs(site_dir), policy, workers=workers, hint=hint,
                           witnesses=witnesses)


# ---------------------------------------------------------------------------- knowledge

@dataclass
class Knowledge:
    """What an attacker knows about each variable of a :class:`System`."""

    known: np.ndarray     # bool: the value is published
    value: np.ndarray     # float: the published value (nan if withheld)
    lo: np.ndarray        # float bounds for withheld values
    hi: np.ndarray
    required: np.ndarray  # int: range width a withheld value needs
    failures: list[Failure]


def _knowledge(cells: pl.DataFrame, system: System, policy: Policy) -> Knowledge:
    m = policy.min_cell_size
    w = policy.protection.min_range_primary
    nv = system.vars.height
    is_den = system.vars["is_den"].to_numpy()
    den_id = system.vars["den_id"].to_numpy()
    failures: list[Failure] = []
    rows = cells.select(
        pl.Series("den", system.den_of_row), pl.Series("num", system.num_of_row),
        "n_students", "n_meeting", "rate", "reason")

    # Denominators: published wherever a row shows them; all rows must agree.
    dn = rows.filter(pl.col("n_students").is_not_null()).group_by("den").agg(
        pl.col("n_students").min().alias("lo"), pl.col("n_students").max().alias("hi"))
    known = np.zeros(nv, bool)
    value = np.full(nv, np.nan)
    d_idx = dn["den"].to_numpy()
    known[d_idx] = True
    value[d_idx] = dn["lo"].to_numpy()
    bad = dn.filter(pl.col("lo") != pl.col("hi"))
    descr = None
    if bad.height:
        descr = system.descriptions
        for r in bad.iter_rows(named=True):
            failures.append(Failure("inconsistent", f"{descr[r['den']]} is published as both "
                                    f"{r['lo']} and {r['hi']}", var_id=r["den"]))
    # Numerators.
    nm = rows.filter(pl.col("num").is_not_null() & pl.col("n_meeting").is_not_null())
    known[nm["num"].to_numpy()] = True
    value[nm["num"].to_numpy()] = nm["n_meeting"].to_numpy()

    lo = np.zeros(nv)
    hi = np.full(nv, BIG)
    required = np.ones(nv, np.int64)
    # Withheld denominators: primary -> 1..m-1; otherwise (complementary) >= m.
    dr = rows.filter(pl.col("n_students").is_null()).group_by("den").agg(
        (pl.col("reason") == "primary").any().alias("primary"))
    dr = dr.filter(~pl.Series(known[dr["den"].to_numpy()]))
    didx = dr["den"].to_numpy()
    prim = dr["primary"].to_numpy()
    lo[didx] = np.where(prim, 1, m)
    hi[didx] = np.where(prim, m - 1, BIG)
    required[didx] = np.where(prim, w, 1)

    # Withheld numerators.
    nr = rows.filter(pl.col("num").is_not_null() & pl.col("n_meeting").is_null())
    nidx = nr["num"].to_numpy()
    reason = nr["reason"].to_numpy()
    rate = nr["rate"].to_numpy()
    d = value[den_id[nidx]]
    dk = known[den_id[nidx]]
    bands = sorted(policy.coding_bands, key=lambda b: b.min_n)
    starts = np.array([b.min_n for b in bands])
    bi = np.clip(np.searchsorted(starts, np.nan_to_num(d), side="right") - 1, 0, len(bands) - 1)
    bottom = np.array([b.bottom for b in bands])[bi]
    top = np.array([b.top for b in bands])[bi]
    nlo = np.zeros(len(nidx))
    nhi = np.where(dk, d, BIG)
    req = np.ones(len(nidx), np.int64)
    is_top = (reason == "top_coded") & dk
    is_bot = (reason == "bottom_coded") & dk
    nlo = np.where(is_top, np.ceil(top * d / 100 - EPS), nlo)
    nhi = np.where(is_bot, np.floor(bottom * d / 100 + EPS), nhi)
    req = np.where(is_top | is_bot, np.minimum(w, nhi - nlo).astype(np.int64), req)
    # Not coded and denominator published: the rate was not extreme.
    inside = (reason == "complementary") & dk & (d >= m)
    nlo = np.where(inside, np.floor(bottom * d / 100 + EPS) + 1, nlo)
    nhi = np.where(inside, np.ceil(top * d / 100 - EPS) - 1, nhi)
    # A published rate without its numerator: the rounding interval.
    has_rate = ~np.isnan(rate) & dk
    nlo = np.where(has_rate, np.maximum(nlo, d * (rate - 0.05) / 100), nlo)
    nhi = np.where(has_rate, np.minimum(nhi, d * (rate + 0.05) / 100), nhi)
    # A numerator inside a primary-suppressed group: the group's count carries the width
    # requirement; its numerator only needs to be not exact.
    lo[nidx], hi[nidx], required[nidx] = nlo, nhi, req
    # Numerators <= denominators; published numerators bound withheld denominators.
    nums = np.flatnonzero(~is_den)
    kd = nums[known[nums] & ~known[den_id[nums]]]
    np.maximum.at(lo, den_id[kd], value[kd])
    return Knowledge(known, value, lo, hi, required, failures)


# ---------------------------------------------------------------------------- checks

def _pins(system: System, var: int, known: np.ndarray, value: np.ndarray,
          descr: list[str], limit: int = 6) -> tuple[str, ...]:
    e = system.edges
    rels = e.filter(pl.col("var_id") == var)["rel_id"]
    mem = e.filter(pl.col("rel_id").is_in(rels.implode()))["var_id"].unique().sort().to_numpy()
    out = [f"{descr[v]} = {value[v]:g}" for v in mem if known[v]]
    return tuple(out[:limit]) + ((f"... {len(out) - limit} more",) if len(out) > limit else ())


def check_system(system: System, k: Knowledge, policy: Policy,
                 report: AuditReport | None = None,
                 hint: np.ndarray | None = None,
                 thorough: bool = True, witnesses: Witnesses | None = None,
                 year: int = 0, regional: bool = False,
                 exact_count: int | None = None,
                 settled: np.ndarray | None = None) -> AuditReport:
    """LP ranges of every withheld value, derived groups, consistency. ``hint``: candidate
    values per variable (NaN where unknown), used only as a starting point, after a check.
    ``thorough=False`` skips the
    slowest proofs of large groups (a value they would have proven is reported unproven).
    ``witnesses``: points found by an earlier audit (each checked before it counts); the
    points that prove this audit's large groups go to ``report.witnesses[year]``.

    ``settled``: per variable, True where an earlier audit proved the value's range wide
    enough in a pattern this one only adds to (more withheld, nothing published again): no
    LP looks at it again. Withholding more only removes constraints, so its range can only
    have grown (protect()'s rounds; the publication gate proves everything)."""
    report = report or AuditReport()
    t0 = time.perf_counter()
    m = policy.min_cell_size
    failures = list(k.failures)
    nv = len(k.known)
    descr = system.descriptions
    e = system.edges
    e_rel = e["rel_id"].to_numpy()
    e_var = e["var_id"].to_numpy()
    e_tot = e["is_total"].to_numpy()
    n_rel = int(e_rel.max()) + 1 if len(e_rel) else 0
    hid = ~k.known
    e_hid = hid[e_var]
    lp = withheld_lp(system, k)
    n_hid_rel, known_sum = lp.n_hid_rel, lp.known_sum

    # Published numbers must add up.
    bad = np.flatnonzero((n_hid_rel == 0) & (np.abs(known_sum) > EPS))
    for r in bad[:100]:
        tv = e_var[(e_rel == r) & e_tot][0]
        failures.append(Failure("inconsistent", f"{descr[tv]} is not the sum of its parts "
                                f"(off by {known_sum[r]:g})", rel_id=int(r)))
    # Derived groups: withheld head-count parts of a published total.
    rel_is_count = np.zeros(n_rel, bool)
    rel_is_count[e_rel] = e["is_count"].to_numpy()
    tot_var = np.zeros(n_rel, np.int64)
    tot_var[e_rel[e_tot]] = e_var[e_tot]
    derived = known_sum  # total - sum of published parts = sum of withheld parts
    dg = np.flatnonzero(rel_is_count & (n_hid_rel >= 1) & k.known[tot_var]
                        & (derived > 0.5) & (derived < m - 0.5))
    for r in dg:
        parts = e_var[(e_rel == r) & ~e_tot & e_hid]
        failures.append(Failure(
            "derived_group", f"{descr[tot_var[r]]} minus its published parts "
            f"({', '.join(str(descr[p]).split(': ')[0] for p in parts[:4])})",
            low=float(derived[r]), rel_id=int(r)))

    # The LP over withheld values.
    hvars, col, A, lo, hi, rlo_a, rhi_a = lp.hvars, lp.col, lp.A, lp.lo, lp.hi, lp.rlo, lp.rhi

    if len(hvars):
        start = None
        if hint is not None:
            x0 = hint[hvars]
            if _feasible(A, x0, lo, hi, rlo_a, rhi_a):
                start = x0
            else:
                failures += _untrue(system, k, lp, hint, descr)
        region = system.regions[hvars]
        unit = np.unique(system.districts[hvars], return_inverse=True)[1]
        req = k.required[hvars]
        if settled is not None:
            req = np.where(settled[hvars], 0, req)
        fingerprint = system.digest
        w_in = None
        if witnesses is not None and witnesses.fingerprint == fingerprint:
            # In this LP's columns: a value that is published now is -1, and a point that
            # moves one is not a point of this LP (``_by_group`` leaves it out).
            w_in = replace(witnesses, fingerprint="", m_var=col[witnesses.m_var])
        w_out: list[Witnesses] | None = [] if start is not None else None
        held: dict[int, np.ndarray] = {}
        rng_lo, rng_hi, n_comp, n_solves, unproven = _ranges(
            A, lo, hi, rlo_a, rhi_a, req, start=start, region=region, thorough=thorough,
            witness_in=w_in, witness_out=w_out, regional=regional, unit=unit,
            exact_count=exact_count, binding_out=held)
        if w_out is not None:
            w = Witnesses.joined(fingerprint, w_out)
            report.witnesses[year] = replace(w, m_var=hvars[w.m_var])
        report.n_components = n_comp
        report.n_lp_solves = n_solves
        ilo = np.ceil(rng_lo - EPS)
        ihi = np.floor(rng_hi + EPS)
        width = ihi - ilo
        fail = np.flatnonzero(_short(rng_lo, rng_hi, req))
        for i in fail:
            v = int(hvars[i])
            kind = ("unproven" if unproven[i] else "exact" if width[i] < 1
                    else "approximate")
            rels = lp.row_rel[held.get(int(i), np.zeros(0, np.int64))]
            failures.append(Failure(kind, str(descr[v]), low=float(ilo[i]),
                                    high=float(ihi[i]) if ihi[i] < BIG / 2 else None,
                                    required=int(req[i]), var_id=v,
                                    binding_rels=tuple(sorted(set(rels[rels >= 0].tolist())))))
    # Name the published numbers that pin each failure (the first 100: enough to act on).
    for j, f in enumerate(failures[:100]):
        pv = f.var_id if f.var_id is not None else (
            int(tot_var[f.rel_id]) if f.rel_id is not None else None)
        if pv is not None:
            failures[j] = replace(f, pinned_by=_pins(system, pv, k.known, k.value, descr))
    report.failures = failures
    report.n_values = nv
    report.n_withheld = int(hid.sum())
    report.seconds += time.perf_counter() - t0
    return report


def _untrue(system: System, k: Knowledge, lp: WithheldLP, hint: np.ndarray,
            descr: list[str]) -> list[Failure]:
    """Where ``hint`` is the truth of these cells (every value known, and every published
    one as published) and yet no point of the audit's LP: what the published reason codes
    and bands say is not so (a complementary rate over a published head count is not
    extreme; a band holds). The LP's ranges are then of no real release, and nothing
    about them can be trusted (a bug in protect(); or, with two releases together, an
    earlier number no longer true). The first value or relation that does not fit."""
    x0 = hint[lp.hvars]
    if not np.all(np.isfinite(hint)) or not np.allclose(hint[k.known], k.value[k.known]):
        return []  # not this release's truth (another extract's cells): only not a start
    out = np.flatnonzero((x0 < lp.lo - 1e-6) | (x0 > lp.hi + 1e-6))
    if len(out):
        v = int(lp.hvars[out[0]])
        hi = "" if lp.hi[out[0]] >= BIG / 2 else f"{lp.hi[out[0]]:g}"
        what = (f"{descr[v]} is {x0[out[0]]:g}, but what is published (its reason code, a "
                f"band, a rate) puts it at {lp.lo[out[0]]:g}..{hi}")
        var: int | None = v
    else:
        ax = lp.A @ x0
        row = int(np.flatnonzero((ax < lp.rlo - 1e-6) | (ax > lp.rhi + 1e-6))[0])
        rel = int(lp.row_rel[row])
        e = system.edges
        tot = e.filter((pl.col("rel_id") == rel) & pl.col("is_total"))["var_id"] if rel >= 0 \
            else pl.Series([], dtype=pl.Int64)
        what = (f"the true values of {descr[int(tot[0])]} and its withheld parts do not "
                "fit its published numbers" if len(tot) else "a withheld value is above a "
                "withheld head count it is part of")
        var = None
    return [Failure("untrue", f"{what} ({len(out):,} withheld value(s) out of their "
                    "published bounds). The audit's ranges would be of numbers that cannot "
                    "be; nothing it finds can be trusted.", var_id=var)]


@dataclass(frozen=True)
class WithheldLP:
    """The withheld values of a system as an LP: ``rlo <= A x <= rhi``, ``lo <= x <= hi``,
    one column per withheld variable (``hvars[c]``; ``col[v]`` is -1 for a published one)."""

    hvars: np.ndarray
    col: np.ndarray
    A: csc_matrix
    lo: np.ndarray
    hi: np.ndarray
    rlo: np.ndarray
    rhi: np.ndarray
    n_hid_rel: np.ndarray
    """Per relation: how many of its members are withheld."""
    known_sum: np.ndarray
    """Per relation: total minus parts over its published members."""
    row_rel: np.ndarray
    """Per row of ``A``: its relation (-1 for the rows "numerator <= denominator" and
    "part <= whole")."""


def withheld_lp(system: System, k: Knowledge) -> WithheldLP:
    """What the published numbers say about the withheld ones, as linear constraints: every
    relation with a withheld member (the published members moved to the right-hand side),
    numerators <= denominators, parts <= wholes (:attr:`relations.System.bounds`), and each
    value's bounds from :func:`_knowledge`."""
    nv = len(k.known)
    e = system.edges
    e_rel = e["rel_id"].to_numpy()
    e_var = e["var_id"].to_numpy()
    e_tot = e["is_total"].to_numpy()
    n_rel = int(e_rel.max()) + 1 if len(e_rel) else 0
    coef = np.where(e_tot, 1.0, -1.0)
    hid = ~k.known
    e_hid = hid[e_var]
    n_hid_rel = np.bincount(e_rel, weights=e_hid, minlength=n_rel)
    pub_terms = np.where(e_hid, 0.0, coef * np.nan_to_num(k.value[e_var]))
    known_sum = np.bincount(e_rel, weights=pub_terms, minlength=n_rel)
    hvars = np.flatnonzero(hid)
    col = np.full(nv, -1)
    col[hvars] = np.arange(len(hvars))
    lo = k.lo[hvars].copy()
    hi = k.hi[hvars].copy()
    is_den = system.vars["is_den"].to_numpy()
    den_id = system.vars["den_id"].to_numpy()
    # Withheld numerators with a published denominator: n <= d as a bound.
    hn = hvars[~is_den[hvars] & k.known[den_id[hvars]]]
    hi[col[hn]] = np.minimum(hi[col[hn]], k.value[den_id[hn]])
    rows_used = np.flatnonzero(n_hid_rel >= 1)
    row_of = np.full(n_rel, -1)
    row_of[rows_used] = np.arange(len(rows_used))
    sel = e_hid & (row_of[e_rel] >= 0)
    # Head counts within head counts (tested <= enrolled): a published whole bounds its
    # withheld part from above, a published part its withheld whole from below.
    part, whole = system.bounds[:, 0], system.bounds[:, 1]
    up = hid[part] & ~hid[whole]
    np.minimum.at(hi, col[part[up]], k.value[whole[up]])
    down = ~hid[part] & hid[whole]
    np.maximum.at(lo, col[whole[down]], k.value[part[down]])
    both = hid[part] & hid[whole]
    # n - d <= 0 (and part - whole <= 0) when both are withheld.
    hn2 = hvars[~is_den[hvars] & hid[den_id[hvars]]]
    small = np.r_[hn2, part[both]]
    big = np.r_[den_id[hn2], whole[both]]
    base = len(rows_used)
    ri2 = base + np.arange(len(small))
    r_i = np.concatenate([row_of[e_rel[sel]], ri2, ri2])
    c_i = np.concatenate([col[e_var[sel]], col[small], col[big]])
    v_i = np.concatenate([coef[sel], np.ones(len(small)), -np.ones(len(small))])
    rlo = np.concatenate([-known_sum[rows_used], np.full(len(small), -np.inf)])
    rhi = np.concatenate([-known_sum[rows_used], np.zeros(len(small))])
    A = coo_matrix((v_i, (r_i, c_i)), shape=(base + len(small), len(hvars))).tocsc()
    row_rel = np.r_[rows_used, np.full(len(small), -1, np.int64)]
    return WithheldLP(hvars, col, A, lo, hi, rlo, rhi, n_hid_rel, known_sum, row_rel)


_BANNER_DONE = False
"""Whether this process has made its first HiGHS instance (see :func:`_new_highs`)."""


def _new_highs() -> highspy.Highs:
    """A new HiGHS instance. The first of a process prints HiGHS's banner ("Running HiGHS
    1.16.0 (git hash ...): Copyright ...") on standard output whatever its options are
    (highspy 1.16; ERGO-Code/HiGHS#2749): once per process, into the console of every
    publish and into the executed compute notebook, in words that tell an analyst nothing.
    That one instance is made with the standard output *descriptor* pointed at /dev/null
    (the banner is written from C++, and flushed); nothing else is printed meanwhile."""
    global _BANNER_DONE
    if _BANNER_DONE:
        return highspy.Highs()
    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)
    _BANNER_DONE = True
    return h


def _model(A: csc_matrix, lo: np.ndarray, hi: np.ndarray, rlo: np.ndarray,
           rhi: np.ndarray, ipm: bool = False) -> highspy.Highs:
    """``ipm``: interior point without crossover, for large LPs whose points only need to be
    feasible (about 5x faster than simplex on a 14,000-column group; the point is not a
    vertex, which is fine for a spread)."""
    h = _new_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("presolve", "off")
    if ipm:
        h.setOptionValue("solver", "ipm")
        h.setOptionValue("run_crossover", "off")
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = A.shape[1], A.shape[0]
    lp.col_cost_ = np.zeros(A.shape[1])
    lp.col_lower_, lp.col_upper_ = lo, hi
    lp.row_lower_, lp.row_upper_ = rlo, rhi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    h.passModel(lp)
    return h


def _solve(h: highspy.Highs, cost: np.ndarray, sense: highspy.ObjSense) -> np.ndarray | None:
    h.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)
    h.changeObjectiveSense(sense)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    # The next solves of this model change only its objective: the basis stays primal
    # feasible, so primal simplex goes on from it (3 ms against 40 ms for dual simplex on a
    # 3,500-column partners LP; the first solve is faster with dual). No effect under ipm.
    h.setOptionValue("simplex_strategy", 4)
    return np.asarray(h.getSolution().col_value)


def _set(h: highspy.Highs, name: str, value: float | int) -> None:
    """Set a HiGHS option the audit relies on, or fail loudly: a HiGHS without it would
    silently solve another way."""
    if h.setOptionValue(name, value) != highspy.HighsStatus.kOk:
        raise RuntimeError(f"this HiGHS has no option {name} (or refuses {value!r}): pin "
                           "highspy to the version in uv.lock")


SolveFn = Callable[[highspy.Highs, np.ndarray, highspy.ObjSense], "np.ndarray | None"]


class _Crawl:
    """Whether a solve crawls, from the simplex iteration counts HiGHS gives at its checks of
    its limits: more than ``limit`` iterations, or more than STALLED_CHECKS checks in a row
    without an iteration (see :func:`_guarded`)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.reset()

    def reset(self) -> None:
        """Before each solve."""
        self.iterations, self.stalled = -1, 0

    def check(self, iterations: int) -> bool:
        self.stalled = self.stalled + 1 if iterations == self.iterations else 0
        self.iterations = iterations
        return iterations > self.limit or self.stalled > STALLED_CHECKS


def _guarded(h: highspy.Highs, limit: int) -> SolveFn:
    """:func:`_solve` for the exact LPs over a whole large group, guarded against a crawl.
    Primal simplex perturbs the bounds, and usually ends sooner for it (full state 2025: an
    exact round of 25 values over a group of 298,785 columns, 267.9 s with it against
    460.9 s without). But it may end on the perturbed bounds and hand the rest to dual
    simplex, which can crawl: full state 2023, the 25th LP of an exact round over a group
    of 294,917 columns ran over 10 minutes, where the same LP without the perturbation took
    117 iterations (session 59). Seen there (gdb): dual simplex finding no entering column,
    trying to prove the LP infeasible and failing, pass after pass, without an iteration
    (so ``simplex_iteration_limit`` never stops it). So HiGHS calls back at every check of
    its limits, and a solve is interrupted after ``limit`` simplex iterations or
    STALLED_CHECKS checks without one (the round's LPs took 0-477 iterations); it is then
    solved again from the basis it started from, without the perturbation and unguarded.
    Dual simplex prices by Devex: its default, exact steepest-edge weights, spent 96 s on
    that LP's basis (458,533 rows) before its first check. Counts, not seconds: what is
    solved, and so the pattern, does not depend on the machine's speed."""
    _set(h, "simplex_dual_edge_weight_strategy", 1)  # Devex
    perturbation = float(h.getOptionValue("primal_simplex_bound_perturbation_multiplier")[1])
    crawl = _Crawl(limit)

    def check(kind: highspy.cb.HighsCallbackType, message: str,
              out: highspy.cb.HighsCallbackOutput,
              into: highspy.cb.HighsCallbackInput, data: object) -> None:
        # Set every time: HiGHS keeps the flag from one solve to the next.
        into.user_interrupt = crawl.check(out.simplex_iteration_count)

    h.setCallback(check, None)
    interrupt = highspy.cb.HighsCallbackType.kCallbackSimplexInterrupt

    def solve(h: highspy.Highs, cost: np.ndarray, sense: highspy.ObjSense) -> np.ndarray | None:
        start = h.getBasis()
        crawl.reset()
        h.startCallback(interrupt)
        try:
            x = _solve(h, cost, sense)
        finally:
            h.stopCallback(interrupt)
        if x is not None or h.getModelStatus() != highspy.HighsModelStatus.kInterrupt:
            return x
        log.info("an exact LP over %d columns interrupted after %d iterations (%d checks "
                 "without one): solved again without bound perturbation", h.getNumCol(),
                 crawl.iterations, crawl.stalled)
        if start.valid:
            h.setBasis(start)
        else:
            h.clearSolver()
        _set(h, "primal_simplex_bound_perturbation_multiplier", 0.0)
        try:
            return _solve(h, cost, sense)
        finally:
            _set(h, "primal_simplex_bound_perturbation_multiplier", perturbation)

    return solve


_SCHEDULER_READY = False
"""Whether this process has run HiGHS once (see :func:`_from_point`)."""


def _from_point(h: highspy.Highs, x: np.ndarray) -> None:
    """Start ``h`` from a basis at a vertex near ``x``, a feasible point, found by HiGHS's
    crossover: its first solve then takes next to no iterations. Solving from nothing took
    about 4,500 dual simplex iterations on a 6,000-column partner LP (0.13 s; the solves
    after it take about 8), crossover 0.02 s. If crossover fails, the model is solved from
    nothing as before."""
    global _SCHEDULER_READY
    if not _SCHEDULER_READY:
        # HiGHS sets up its task scheduler in run(), not in crossover(): a crossover before
        # any run() in the process crashes it (highspy 1.16: a segfault, whatever the model;
        # tests/test_disclosure_regions.py). So one run of a one-value model comes first.
        _model(csc_matrix(np.ones((1, 1))), np.zeros(1), np.ones(1), np.zeros(1),
               np.ones(1)).run()
        _SCHEDULER_READY = True
    sol = highspy.HighsSolution()
    sol.col_value = x
    sol.value_valid = True
    if h.crossover(sol) != highspy.HighsStatus.kOk or not h.getBasis().valid:
        h.clearSolver()


def _feasible(A: csc_matrix, x: np.ndarray, lo: np.ndarray, hi: np.ndarray, rlo: np.ndarray,
              rhi: np.ndarray, tol: float = 1e-6) -> bool:
    """Whether ``x`` meets every bound and every row of the audit's LP."""
    if not np.all(np.isfinite(x)):
        return False
    ax = A @ x
    return bool(np.all(x >= lo - tol) and np.all(x <= hi + tol)
                and np.all(ax >= rlo - tol) and np.all(ax <= rhi + tol))


def _ranges(A: csc_matrix, lo: np.ndarray, hi: np.ndarray, rlo: np.ndarray, rhi: np.ndarray,
            required: np.ndarray, start: np.ndarray | None = None,
            region: np.ndarray | None = None, thorough: bool = True,
            witness_in: Witnesses | None = None, witness_out: list[Witnesses] | None = None,
            regional: bool = False, unit: np.ndarray | None = None,
            exact_count: int | None = None,
            binding_out: dict[int, np.ndarray] | None = None,
            ) -> tuple[np.ndarray, np.ndarray, int, int, np.ndarray]:
    """Range [min, max] of every column subject to rlo <= A x <= rhi, lo <= x <= hi.

    Columns split into connected components (withheld values linked through relations);
    components are solved in batches of about BATCH_COLUMNS columns (small LPs are much
    faster than one big one). In each batch a few LPs with random directions give feasible
    points: a column whose spread over those points is already wide enough needs nothing
    more (its true range contains the spread). Each remaining column gets its own min and
    max LP, warm-started from the previous solve of its batch.

    Components larger than LARGE_COMPONENT are proven by :func:`_prove_large` instead
    (``start``: a feasible point; ``region``: a label per column that groups columns likely
    to be linked, e.g. the district). The last array is True for columns whose range was
    neither proven wide enough nor computed exactly. ``witness_in`` / ``witness_out``: see
    :func:`_prove_large` (here in this LP's column indices); a small component whose every
    value to prove the points of ``witness_in`` prove (each checked against every bound and
    row) is not solved at all, and those points go to ``witness_out``. ``binding_out``: see
    :func:`_batch_ranges` (column -> rows, in this LP's indices).
    """
    n = A.shape[1]
    n_rows = A.shape[0]
    B = A.tocsr().tocoo()
    graph = coo_matrix(
        (np.ones(2 * B.nnz), (np.concatenate([B.row + n, B.col]),
                              np.concatenate([B.col, B.row + n]))),
        shape=(n + n_rows, n + n_rows))
    _, labels = connected_components(graph, directed=False)
    comp = labels[:n]
    rows_comp = labels[n:]
    n_comp = len(np.unique(comp))
    mn = np.full(n, np.inf)
    mx = np.full(n, -np.inf)
    solves = 0
    rng = np.random.default_rng(12345)
    A_csr = A.tocsr()
    # Batches of whole components, in label order (deterministic).
    col_order = np.argsort(comp, kind="stable")
    row_order = np.argsort(rows_comp, kind="stable")
    sizes = np.bincount(comp, minlength=labels.max() + 1)
    # A component with no value to prove (every one settled by an earlier audit) is skipped.
    idle = np.bincount(comp, weights=required > 0, minlength=len(sizes)) == 0
    sizes[idle] = 0
    unproven = np.zeros(n, bool)
    large = np.flatnonzero(sizes > LARGE_COMPONENT)
    w_by: dict[int, Witnesses] = {}
    if witness_in is not None and start is not None:
        group = _point_groups(witness_in, comp)
        w_by = _by_group(witness_in, comp, large, group)
        # A small group whose every value to prove a witness point proves needs no LP.
        small = group >= 0
        small[small] = (sizes[group[small]] > 0) & (sizes[group[small]] <= LARGE_COMPONENT)
        if small.any():
            pts = witness_in.points(np.flatnonzero(small))
            bad, e_col, e_pt, x = _check_points(A_csr, start, A_csr @ start, lo, hi, rlo,
                                                rhi, pts)
            keep = ~bad[e_pt]
            w_lo, w_hi = start.copy(), start.copy()
            np.minimum.at(w_lo, e_col[keep], x[keep])
            np.maximum.at(w_hi, e_col[keep], x[keep])
            short = _short(w_lo, w_hi, required)
            done = (np.bincount(comp, weights=short, minlength=len(sizes)) == 0) & (sizes > 0)
            done[large] = False
            at = done[comp]
            mn[at], mx[at] = w_lo[at], w_hi[at]
            sizes[done] = 0
            idle |= done
            if witness_out is not None:  # the points that proved them, for the next audit
                witness_out.append(pts.points(np.flatnonzero(~bad & done[group[small]])))
    for lab in large:
        cols = np.flatnonzero(comp == lab)
        rws = np.flatnonzero(rows_comp == lab)
        sub = A_csr[rws][:, cols].tocsc()
        base = None if start is None else start[cols]
        reg = np.zeros(len(cols), np.int64) if region is None else region[cols]
        out: list[Witnesses] | None = None if witness_out is None else []
        held: dict[int, np.ndarray] = {}
        m_lo, m_hi, s, unp = _prove_large(sub, lo[cols], hi[cols], rlo[rws], rhi[rws],
                                          required[cols], base, reg, rng, thorough,
                                          witness_in=w_by.get(int(lab)), witness_out=out,
                                          regional=regional, exact_count=exact_count,
                                          unit=None if unit is None else unit[cols],
                                          binding_out=held)
        if binding_out is not None:
            for c, r in held.items():
                binding_out[int(cols[c])] = rws[r]
        mn[cols], mx[cols], unproven[cols] = m_lo, m_hi, unp
        solves += s
        if out is not None and witness_out is not None:
            witness_out += [replace(w, m_var=cols[w.m_var]) for w in out]
    sizes[large] = 0
    batch_of_label = np.cumsum(sizes) // BATCH_COLUMNS
    col_batch = batch_of_label[comp[col_order]]
    # Rows of large and idle groups are in no batch (with none of a batch's columns, such a
    # row would read "0 = its published total" and make the batch's LP infeasible).
    batch_of_label[large] = -1
    batch_of_label[idle] = -1
    row_batch = batch_of_label[rows_comp[row_order]]
    col_cuts = np.flatnonzero(np.r_[True, col_batch[1:] != col_batch[:-1], True])
    for a, b in zip(col_cuts[:-1], col_cuts[1:], strict=True):
        cols = col_order[a:b]
        cols = cols[sizes[comp[cols]] > 0]
        if not len(cols):
            continue
        bid = col_batch[a]
        rws = row_order[row_batch == bid]
        sub = A_csr[rws][:, cols].tocsc()
        m_lo, m_hi, s = _batch_ranges(
            sub, lo[cols], hi[cols], rlo[rws], rhi[rws], required[cols], comp[cols], rng,
            on_binding=None if binding_out is None else _put_binding(binding_out, cols, rws))
        mn[cols], mx[cols] = m_lo, m_hi
        solves += s
    return mn, mx, n_comp, solves, unproven


def _put_binding(out: dict[int, np.ndarray], cols: np.ndarray,
                 rws: np.ndarray) -> Callable[[int, np.ndarray], None]:
    """An ``on_binding`` for an LP over ``cols`` and ``rws`` of a bigger one: records the
    column and its rows in the bigger LP's indices."""
    def put(c: int, r: np.ndarray) -> None:
        out[int(cols[c])] = rws[r]
    return put


def _short(mn: np.ndarray, mx: np.ndarray, required: np.ndarray) -> np.ndarray:
    """Where the whole numbers between ``mn`` and ``mx`` span less than ``required``. A
    column that needs nothing (``required`` 0: one an LP holds but is not asked about) is
    never short, even where every point found gives it the same fraction (there
    ``floor(mx) - ceil(mn)`` is -1: until session 62 such columns were solved exactly, one
    by one, in the partner districts' LPs: 2,700-3,300 solves a district where 5-23 were
    needed, on a toy state of six districts)."""
    return (np.floor(mx + EPS) - np.ceil(mn - EPS) < required) & (required > 0)


def _moved(A_csc: csc_matrix, A_csr: csr_matrix, base: np.ndarray, lo: np.ndarray,
           hi: np.ndarray, rlo: np.ndarray, rhi: np.ndarray, move_cols: list[np.ndarray],
           move_vals: list[np.ndarray], weights: np.ndarray, tol: float = 1e-6,
           a_base: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """The point base + sum(weights * moves) as (columns it moves, their values), or None
    if it breaks a bound or a row. ``base`` must be feasible: only the rows the moved
    columns are in can break. ``a_base``: ``A_csr @ base``, if the caller has it (then only
    the moved columns are read, not the whole of their rows: a state total's row holds a
    value of every district)."""
    if not move_cols:
        return np.zeros(0, np.int64), np.zeros(0)
    c = np.concatenate(move_cols)
    v = np.concatenate([w * d for w, d in zip(weights, move_vals, strict=True)])
    sup, inv = np.unique(c, return_inverse=True)
    d = np.bincount(inv, weights=v, minlength=len(sup))
    x = base[sup] + d
    if not (np.all(np.isfinite(x)) and np.all(x >= lo[sup] - tol)
            and np.all(x <= hi[sup] + tol)):
        return None
    if a_base is None:
        rws = np.unique(A_csc[:, sup].indices)
        sub = A_csr[rws]
        ax = sub @ base + sub[:, sup] @ d
    else:
        S = A_csc[:, sup]
        rws, inv = np.unique(S.indices, return_inverse=True)
        ax = a_base[rws] + np.bincount(inv, weights=S.data * np.repeat(d, np.diff(S.indptr)),
                                       minlength=len(rws))
    if not (np.all(ax >= rlo[rws] - tol) and np.all(ax <= rhi[rws] + tol)):
        return None
    return sup, x


def _moved_near(rws: np.ndarray, S: csc_matrix, d: np.ndarray, sup: np.ndarray,
                base: np.ndarray, lo: np.ndarray, hi: np.ndarray, rlo: np.ndarray,
                rhi: np.ndarray, a_base: np.ndarray, tol: float = 1e-6,
                ) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`_moved` of a move ``d`` over all the columns of ``S`` (rows ``rws`` of the
    whole matrix, every row those columns are in), ``sup`` the columns it moves (sorted):
    the same verdict and point. Every row of ``S`` is checked, by one product: a row the
    move leaves alone holds as it does at ``base``, which must be feasible (full state
    2024: finding the rows a local LP's point moves, for each of about 9,000 points, took
    3 s of the first audit round)."""
    x = base[sup] + d[d != 0]
    if not (np.all(np.isfinite(x)) and np.all(x >= lo[sup] - tol)
            and np.all(x <= hi[sup] + tol)):
        return None
    ax = a_base[rws] + S @ d
    if not (np.all(ax >= rlo[rws] - tol) and np.all(ax <= rhi[rws] + tol)):
        return None
    return sup, x


def _linking_rows(B: coo_matrix, labels: np.ndarray) -> np.ndarray:
    """Per row of ``B``: whether its entries fall in columns of more than one label (rows
    linking regions or districts: their shares of state totals)."""
    lab = labels[B.col]
    o = np.lexsort((lab, B.row))
    first = np.r_[True, (B.row[o][1:] != B.row[o][:-1]) | (lab[o][1:] != lab[o][:-1])]
    return np.bincount(B.row[o][first], minlength=B.shape[0]) > 1


def _check_points(A_csr: csr_matrix, base: np.ndarray, a_base: np.ndarray, lo: np.ndarray,
                  hi: np.ndarray, rlo: np.ndarray, rhi: np.ndarray, w: Witnesses,
                  tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every point of ``w`` (moves in ``A_csr``'s columns from ``base``, a feasible point
    whose row sums are ``a_base``) checked against every bound and row, in a few sparse
    products. Returns which points break one, and every value a point moves: its column
    (each column's together, in point order), its point, and its value there."""
    n = A_csr.shape[1]
    npt = len(w)
    m_len = np.diff(w.m_ptr)
    pm = w.p_move
    k = m_len[pm]
    at = _gather(w.m_ptr[:-1][pm], k)
    P = coo_matrix((w.m_delta[at] * np.repeat(w.p_weight, k),
                    (w.m_var[at], np.repeat(_owners(np.diff(w.p_ptr)), k))),
                   shape=(n, npt)).tocsc()
    P.sum_duplicates()
    # Each column's entries together, in point order (CSR of the CSC: a counting sort).
    Pr = P.tocsr()
    e_col = np.repeat(np.arange(n), np.diff(Pr.indptr))
    e_pt = Pr.indices
    x = base[e_col] + Pr.data
    bad = np.zeros(npt, bool)
    bad[e_pt[~np.isfinite(x) | (x < lo[e_col] - tol) | (x > hi[e_col] + tol)]] = True
    R = (A_csr @ P).tocoo()
    ax = a_base[R.row] + R.data
    bad[R.col[(ax < rlo[R.row] - tol) | (ax > rhi[R.row] + tol)]] = True
    return bad, e_col, e_pt, x


def _point_groups(w: Witnesses, comp: np.ndarray) -> np.ndarray:
    """Each point's linked group (``comp``: each column's group), or -1 for none: a point
    belongs to the group of its first move's first value, and only if every value it moves
    is in that group (else it cannot be a point of this system; a negative column is in
    none)."""
    n_mv = w.n_moves
    m_len = np.diff(w.m_ptr)
    m_of = _owners(m_len)
    m_flat = w.m_var
    m_comp = np.where(m_flat >= 0, comp[np.maximum(m_flat, 0)], -2)
    m_group = np.full(n_mv, -1, np.int64)  # -1: moves nothing
    m_group[m_len > 0] = m_comp[w.m_ptr[:-1][m_len > 0]]
    mixed = np.zeros(n_mv, bool)
    mixed[m_of[m_comp != m_group[m_of]]] = True
    p_len = np.diff(w.p_ptr)
    p_of = _owners(p_len)
    p_flat = w.p_move
    group = np.full(len(p_len), -1, np.int64)
    group[p_len > 0] = m_group[p_flat[w.p_ptr[:-1][p_len > 0]]]
    other = mixed[p_flat] | ((m_group[p_flat] != group[p_of]) & (m_group[p_flat] != -1))
    group[p_of[other]] = -1
    return np.maximum(group, -1)


def _by_group(w: Witnesses, comp: np.ndarray, large: np.ndarray,
              group: np.ndarray | None = None) -> dict[int, Witnesses]:
    """The points of ``w`` by large linked group (``comp``: each column's group; ``large``:
    the groups wanted), each in its group's own column indices (the columns of the group in
    order). A point's group: :func:`_point_groups` (``group``, if the caller has it). Each
    group's points keep their order; the moves they use are renumbered within the group."""
    local = np.zeros(len(comp), np.int64)
    for lab in large:
        cols = np.flatnonzero(comp == lab)
        local[cols] = np.arange(len(cols))
    is_large = np.zeros(int(comp.max(initial=-1)) + 1, bool)
    is_large[large] = True
    if group is None:
        group = _point_groups(w, comp)
    ok = group >= 0
    ok[ok] = is_large[group[ok]]
    local_w = replace(w, m_var=local[np.maximum(w.m_var, 0)])
    out: dict[int, Witnesses] = {}
    for lab in np.unique(group[ok]).tolist():
        out[lab] = replace(local_w.points(np.flatnonzero(ok & (group == lab))), fingerprint="")
    return out


def _prove_large(A: csc_matrix, lo: np.ndarray, hi: np.ndarray, rlo: np.ndarray,
                 rhi: np.ndarray, required: np.ndarray, base: np.ndarray | None,
                 region: np.ndarray, rng: np.random.Generator, thorough: bool = True,
                 witness_in: Witnesses | None = None, witness_out: list[Witnesses] | None = None,
                 regional: bool = False, unit: np.ndarray | None = None,
                 exact_count: int | None = None,
                 binding_out: dict[int, np.ndarray] | None = None,
                 ) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """Ranges of one large linked group, proven wide enough where they are.

    Every point found is a feasible point of the whole group (neighbourhood LPs hold the rest
    at ``base``, itself feasible), so the spread of a column over the points found is inside
    its true range: a spread as wide as required proves it. Passes, each only for the columns
    still short: (1) each region's columns together, random directions; (2) each district
    (``unit``) with short columns together with its PARTNERS partner districts, exact; (3)
    with at most PARTNER_REGION_COUNT short columns left, each region with short columns
    together with its partner region, exact (see ``partner_regions``), then, with at most
    REGION_EXACT_COUNT left, each region's exact LPs for its values; (4) in a group of at
    most WHOLE_GROUP_COLUMNS columns, the neighbourhoods of (6) below; (5) trades: regions
    moving their shares of the linking rows against each other (see ``trades``); a
    ``regional`` audit runs exact LPs over the whole group instead, where its limits allow,
    and reports what is left as unproven. Then, with ``thorough`` (the slow passes; a quick
    audit reports what is left as unproven): each region with short columns paired with the
    region it shares the most linking rows with (random directions); (6)
    the columns within NEIGHBOURHOOD_HOPS relations of the short ones, in chunks (the
    whole group when it is small and many are short); (7) each short column alone in its
    own neighbourhood, exact min and max there ((6) and (7) only over a group of at most
    EXACT_LARGE_COLUMNS columns); (8) for a group of at most EXACT_LIMIT
    columns, or (thorough) with at most EXACT_LARGE_COUNT columns left and at most
    EXACT_LARGE_COLUMNS columns in all, exact LPs over the whole group for up to
    EXACT_COUNT columns. What is left is unproven.

    Witnesses (column indices of this group, moves from ``base``, which must then be the
    hint): the points of ``witness_in`` that meet every row and bound count first; the points
    that prove a column proven here (its lowest and highest) go to ``witness_out``.
    ``binding_out``: for a column an exact LP left short, the rows holding it (see
    :func:`_batch_ranges`).
    """
    n = A.shape[1]
    solves = 0
    if base is None:  # no usable hint: one feasible point of the whole group
        h = _model(A, lo, hi, rlo, rhi, ipm=True)
        base = _solve(h, np.zeros(n), highspy.ObjSense.kMinimize)
        solves += 1
        if base is None:  # the published numbers contradict each other: nothing proven
            return lo.copy(), lo.copy(), solves, np.ones(n, bool)
        witness_in = witness_out = None  # witnesses are moves from the hint
    mn, mx = base.copy(), base.copy()
    A_csr = A.tocsr()
    A_csc = A.tocsc()
    a_base = A_csr @ base

    # Every point found, as moves from base, and which point gave each column's min and max.
    record = witness_out is not None
    rec = _Recorder(record)
    arg_mn = np.full(n, -1, np.int64)
    arg_mx = np.full(n, -1, np.int64)

    def new_move(cols: np.ndarray, vals: np.ndarray) -> int:
        return rec.move(cols, vals)

    def fold(move_cols: list[np.ndarray], move_vals: list[np.ndarray], weights: np.ndarray,
             ids: list[int] | None = None,
             near: tuple[np.ndarray, csc_matrix, np.ndarray] | None = None) -> bool:
        """Take the point base + sum(weights * moves) into the spreads if it meets every row
        and bound. Every point is checked this way, exactly as a later audit checks it as a
        witness, so that a witness proves there what it proved here. ``near`` (a local LP's
        point, one move): its rows, its matrix there, and the move over all its columns;
        the same check, without looking up the moved columns' rows."""
        x = (_moved(A_csc, A_csr, base, lo, hi, rlo, rhi, move_cols, move_vals, weights,
                    a_base=a_base) if near is None else
             _moved_near(*near, move_cols[0], base, lo, hi, rlo, rhi, a_base))
        if x is None:
            return False
        sup, xs = x
        if record and ids is None:
            ids = [new_move(c, v) for c, v in zip(move_cols, move_vals, strict=True)]
        pid = rec.point(ids if ids is not None else [], weights)
        low = xs < mn[sup]
        high = xs > mx[sup]
        mn[sup[low]] = xs[low]
        arg_mn[sup[low]] = pid
        mx[sup[high]] = xs[high]
        arg_mx[sup[high]] = pid
        return True

    def fold_local(cols: np.ndarray, x: np.ndarray,
                   near: tuple[np.ndarray, csc_matrix] | None = None) -> None:
        """A point over ``cols`` with every other column at base; ``near``: the rows of
        ``cols`` and the matrix there (see :func:`fold`)."""
        d = x - base[cols]
        nz = np.flatnonzero(d)
        fold([cols[nz]], [d[nz]], np.ones(1), near=None if near is None else (*near, d))

    def fold_all(w: Witnesses, tol: float = 1e-6) -> int:
        """Every point of ``w``, as :func:`fold` takes them one by one (the same checks, the
        same spreads, the same first point for each column's lowest and highest), in a few
        sparse products. Returns how many points hold."""
        npt = len(w)
        bad, e_col, e_pt, x = _check_points(A_csr, base, a_base, lo, hi, rlo, rhi, w, tol)
        ok = np.flatnonzero(~bad)
        pid = np.full(npt, -1, np.int64)
        pid[ok] = rec.n_points + np.arange(len(ok))
        rec.points_of(w, ok)  # all of w's moves (only those of the points kept are written out)
        keep = ~bad[e_pt]
        col, pt, val = e_col[keep], pid[e_pt[keep]], x[keep]
        if not len(col):
            return len(ok)
        # Per column (its entries are together, in point order): the most extreme value,
        # and the first point that reaches it.
        starts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
        seg = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(col)]))
        for sign, ext, arg in ((1.0, mn, arg_mn), (-1.0, mx, arg_mx)):
            sv = sign * val
            best = np.minimum.reduceat(sv, starts)
            at = np.flatnonzero(sv == best[seg])
            at = at[np.r_[True, seg[at][1:] != seg[at][:-1]]]
            c_, v_, p_ = col[at], val[at], pt[at]
            better = sign * v_ < sign * ext[c_]
            ext[c_[better]] = v_[better]
            arg[c_[better]] = p_[better]
        return len(ok)

    if witness_in is not None and len(witness_in):
        t0 = time.perf_counter()
        held = fold_all(witness_in)
        log.info("large group of %d: %d of %d witnesses hold; %d values left to prove "
                 "in %.1f s", n, held, len(witness_in), int(_short(mn, mx, required).sum()),
                 time.perf_counter() - t0)

    def local(cols: np.ndarray, todo: np.ndarray, exact: bool,
              rounds: int = LOCAL_ROUNDS) -> None:
        """LPs over ``cols`` (sorted) with every other column held at ``base``; ``rounds`` of
        random directions first."""
        nonlocal solves
        # The rows of cols, with what the columns outside hold fixed at base (read from
        # A @ base: a state total's row holds a value of every district).
        C = A_csc[:, cols]
        rws, inv = np.unique(C.indices, return_inverse=True)
        S = csc_matrix((C.data, inv, C.indptr), shape=(len(rws), len(cols)))
        fixed = a_base[rws] - np.bincount(
            inv, weights=C.data * np.repeat(base[cols], np.diff(C.indptr)), minlength=len(rws))
        # Independent pieces of the neighbourhood: one LP holds them all, solved per piece.
        B = S.tocoo()
        k = len(cols)
        g = coo_matrix((np.ones(2 * B.nnz), (np.concatenate([B.row + k, B.col]),
                                             np.concatenate([B.col, B.row + k]))),
                       shape=(k + len(rws), k + len(rws)))
        piece = connected_components(g, directed=False)[1][:k]
        req = np.where(np.isin(cols, todo), required[cols], 0)
        _, _, s = _batch_ranges(S, lo[cols], hi[cols], rlo[rws] - fixed, rhi[rws] - fixed,
                                req, piece, rng, exact=exact,
                                ipm=not exact and k > IPM_COLUMNS, rounds=rounds,
                                on_point=lambda x: fold_local(cols, x, (rws, S)),
                                on_binding=None if binding_out is None else
                                _put_binding(binding_out, cols, rws),
                                start=base[cols])
        solves += s

    def exactly_over(cols: np.ndarray) -> Callable[[np.ndarray], None]:
        """Exact LPs over ``cols`` for the values given."""
        def run(mine: np.ndarray) -> None:
            local(cols, mine, exact=True, rounds=_directions(len(mine)))
        return run

    def around(seeds: np.ndarray, limit: int) -> np.ndarray:
        """The columns within NEIGHBOURHOOD_HOPS relations of ``seeds``, and further out
        (cycles through the hierarchy are long) while that stays within ``limit``."""
        near = np.zeros(n, bool)
        near[seeds] = True
        for hop in range(MAX_HOPS):
            rws = np.unique(A_csc[:, np.flatnonzero(near)].indices)
            wider = near.copy()
            wider[np.unique(A_csr[rws].indices)] = True
            if hop >= NEIGHBOURHOOD_HOPS and wider.sum() > limit:
                break
            if wider.sum() == near.sum():
                break
            near = wider
        return np.flatnonzero(near)

    def step(name: str, run: Callable[[np.ndarray], None], todo: np.ndarray) -> np.ndarray:
        if not len(todo):
            return todo
        t0 = time.perf_counter()
        run(todo)
        left = np.flatnonzero(_short(mn, mx, required))
        log.info("large group of %d: %s proved %d of %d in %.1f s", n, name,
                 len(todo) - len(left), len(todo), time.perf_counter() - t0)
        return left

    def by_region(todo: np.ndarray, exact: bool = False) -> None:
        order = np.argsort(region, kind="stable")
        cuts = np.flatnonzero(np.r_[True, region[order][1:] != region[order][:-1], True])
        short_region = np.zeros(region.max() + 1, bool)
        short_region[region[todo]] = True
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            if short_region[region[order[a]]]:
                cols = np.sort(order[a:b])
                if exact:
                    probed(f"region {region[order[a]]}, exactly",
                           todo[region[todo] == region[order[a]]], exactly_over(cols))
                else:
                    local(cols, todo, exact=False)

    # The nonzeros of A, and the rows that link regions (districts adding up to the state).
    entries = A_csr.tocoo()
    is_link_row = _linking_rows(entries, region)
    # Room to move from base, per side, as the partner passes rank their partners.
    room = np.minimum(hi - base, PARTNER_ROOM) + np.minimum(base - lo, PARTNER_ROOM)

    def trades(todo: np.ndarray) -> None:
        """Regions trading their shares of the rows that link them. Each region alone, with
        its linking rows loosened by TRADE_SLACK, gives points that meet every row of its
        own and move its shares of the linking rows. A small master LP then picks, per
        region, a convex combination of its points (or the starting point) such that the
        moved shares cancel in every linking row: the result is a feasible point of the
        whole group (checked before use), and random objectives push the short columns."""
        link_rows = np.flatnonzero(is_link_row)
        if not len(link_rows):
            return
        nonlocal solves
        n_reg = int(region.max()) + 1
        order = np.argsort(region, kind="stable")
        cuts = np.flatnonzero(np.r_[True, region[order][1:] != region[order][:-1], True])
        # Enough points that their moves can cancel: several per linking row.
        n_linked = len(np.unique(region[np.unique(A_csr[link_rows].indices)]))
        rounds = max(TRADE_ROUNDS, -(-TRADE_POINTS_PER_ROW * len(link_rows) // (2 * n_linked)))
        if not TRADE_ROUNDS:
            rounds = 0
        p_cols: list[np.ndarray] = []
        p_vals: list[np.ndarray] = []
        p_reg: list[int] = []
        p_mid: list[int] = []  # the move each point is recorded as

        def region_points(regions: np.ndarray, targeted: bool) -> None:
            nonlocal solves
            short_now = _short(mn, mx, required)
            for a, b in zip(cuts[:-1], cuts[1:], strict=True):
                g = int(region[order[a]])
                if not regions[g]:
                    continue
                cols = np.sort(order[a:b])
                rws = np.unique(A_csc[:, cols].indices)
                lk = is_link_row[rws]
                if not lk.any():
                    continue
                goal = short_now[cols]
                if targeted and not goal.any():
                    continue
                sub = A_csr[rws]
                inside = np.zeros(n, bool)
                inside[cols] = True
                fixed = sub @ np.where(inside, 0.0, base)
                S = sub[:, cols].tocsc()
                rl = np.where(lk, rlo[rws] - fixed - TRADE_SLACK, rlo[rws] - fixed)
                rh = np.where(lk, rhi[rws] - fixed + TRADE_SLACK, rhi[rws] - fixed)
                h = _model(S, lo[cols], hi[cols], rl, rh)
                if not targeted:  # also push the columns on linking rows: trade partners
                    goal = goal.copy()
                    goal[np.unique(S.tocsr()[np.flatnonzero(lk)].indices)] = True
                for _ in range(rounds):
                    c = np.zeros(len(cols))
                    c[goal] = rng.choice([-1.0, 1.0], int(goal.sum()))
                    for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
                        x = _solve(h, c, sense)
                        solves += 1
                        if x is None:
                            continue
                        dx = x - base[cols]
                        nz = np.flatnonzero(np.abs(dx) > EPS)
                        if len(nz):
                            p_cols.append(cols[nz])
                            p_vals.append(dx[nz])
                            p_reg.append(g)
                            p_mid.append(new_move(cols[nz], dx[nz]))

        def master() -> None:
            """Rounds of the master LP; afterwards only the points it used, and the first
            pass's points (the trade partners of every region), are kept."""
            nonlocal solves, p_cols, p_vals, p_reg, p_mid
            npt = len(p_cols)
            if not npt:
                return
            P = csc_matrix((np.concatenate(p_vals), (
                np.concatenate(p_cols), np.repeat(np.arange(npt), [len(c) for c in p_cols]))),
                shape=(n, npt))
            G = (A_csr[link_rows] @ P).tocsc()
            cap = coo_matrix((np.ones(npt), (np.array(p_reg), np.arange(npt))),
                             shape=(n_reg, npt))
            at = A_csr[link_rows] @ base
            M = vstack([G, cap]).tocsc()
            h = _model(M, np.zeros(npt), np.ones(npt),
                       np.r_[rlo[link_rows] - at, np.full(n_reg, -np.inf)],
                       np.r_[rhi[link_rows] - at, np.ones(n_reg)])
            Pt = P.T.tocsr()
            used = np.zeros(npt, bool)
            turn = 0
            gained = 0
            for _ in range(TRADE_MASTER_ROUNDS):
                left = np.flatnonzero(_short(mn, mx, required))
                if not len(left):
                    break
                regs = np.unique(region[left])
                if turn >= len(regs):  # a full turn: go on only while it pays
                    if gained < 0.05 * len(left):
                        break
                    turn, gained = 0, 0
                # Regions in turn, TRADE_TARGETS at a time (deterministic rotation).
                pick = regs[turn:turn + TRADE_TARGETS]
                turn += TRADE_TARGETS
                left = left[np.isin(region[left], pick)]
                s = np.zeros(n)
                s[left] = rng.choice([-1.0, 1.0], len(left))
                c = Pt @ s
                for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
                    lam = _solve(h, c, sense)
                    solves += 1
                    if lam is None:
                        continue
                    lam = np.clip(lam, 0.0, 1.0)
                    on = np.flatnonzero(lam)
                    before = int(_short(mn[left], mx[left], required[left]).sum())
                    if fold(  # checked against every row and bound before use
                            [p_cols[i] for i in on], [p_vals[i] for i in on], lam[on],
                            [p_mid[i] for i in on]):
                        gained += before - int(_short(mn[left], mx[left], required[left]).sum())
                        used |= lam > EPS
            keep = np.flatnonzero(used | (np.arange(npt) < n_first))
            p_cols = [p_cols[i] for i in keep]
            p_vals = [p_vals[i] for i in keep]
            p_reg = [p_reg[i] for i in keep]
            p_mid = [p_mid[i] for i in keep]

        t0 = time.perf_counter()
        region_points(np.ones(n_reg, bool), targeted=False)
        n_first = len(p_cols)
        log.debug("trades: %d points in %.1f s", len(p_cols), time.perf_counter() - t0)
        for it in range(TRADE_ITERATIONS):
            t0 = time.perf_counter()
            master()
            left = np.flatnonzero(_short(mn, mx, required))
            log.debug("trades: master left %d in %.1f s", len(left), time.perf_counter() - t0)
            if not len(left) or it + 1 == TRADE_ITERATIONS:
                return
            regs = np.zeros(n_reg, bool)
            regs[region[left]] = True
            t0 = time.perf_counter()
            region_points(regs, targeted=True)
            log.debug("trades: %d points in %.1f s", len(p_cols), time.perf_counter() - t0)

    def pairs(todo: np.ndarray) -> None:
        """Each region with short columns together with the region it shares the most
        linking rows with (rows that span regions: districts adding up to the state). A
        district's share of a state total cannot move alone (its region LP holds it), but
        it can trade with another district's share of the same totals."""
        if region.max() < 1:
            return
        n_reg = int(region.max()) + 1
        rr = region[entries.col]
        link = is_link_row[entries.row]
        member = coo_matrix((np.ones(int(link.sum())), (rr[link], entries.row[link])),
                            shape=(n_reg, A.shape[0])).tocsr()
        member.data[:] = 1.0
        is_todo = np.zeros(n, bool)
        is_todo[todo] = True
        sel = link & is_todo[entries.col]
        short_member = coo_matrix((np.ones(int(sel.sum())), (rr[sel], entries.row[sel])),
                                  shape=(n_reg, A.shape[0])).tocsr()
        short_member.data[:] = 1.0
        shared = (short_member @ member.T).toarray()
        shared = shared + shared.T
        np.fill_diagonal(shared, 0.0)
        count = np.bincount(region[todo], minlength=n_reg)
        seeded = np.zeros(n_reg, bool)
        for a in np.argsort(-count, kind="stable"):
            if count[a] == 0 or seeded[a]:
                continue
            b = int(np.argmax(shared[a]))  # ties: the lowest region (deterministic)
            seeded[a] = True
            if shared[a, b] <= 0:
                continue
            seeded[b] = True
            local(np.flatnonzero((region == a) | (region == b)), todo, exact=False)

    def neighbourhoods(todo: np.ndarray) -> None:
        if n <= WHOLE_GROUP_COLUMNS and len(todo) * SEED_COLUMNS >= n:
            local(np.arange(n), todo, exact=False)  # one LP beats many chunks
            return
        # Chunks of short columns (in region order) whose neighbourhood stays small; a few
        # short columns get a neighbourhood in proportion.
        limit = min(LOCAL_COLUMNS, max(ALONE_COLUMNS, SEED_COLUMNS * len(todo)))
        seeds = todo[np.argsort(region[todo], kind="stable")]
        size = len(seeds)
        i = 0
        while i < len(seeds):
            while True:
                cols = around(seeds[i:i + size], limit)
                if len(cols) <= limit or size == 1:
                    break
                size = max(1, size // 2)
            local(cols, seeds[i:i + size], exact=False)
            i += size

    def partners(todo: np.ndarray) -> None:
        """Each district (``unit``) with short values together with the PARTNERS districts
        that have the most room to move in the rows linking them (a rare group's value in one
        district moves against the same group's values in the districts that have the most of
        it), exact for the short values."""
        if unit is None or unit.max() < 1:
            return
        n_u = int(unit.max()) + 1
        uu = unit[entries.col]
        link = _linking_rows(entries, unit)[entries.row]
        is_todo = np.zeros(n, bool)
        is_todo[todo] = True
        # Rows of each unit's short values, the unit's columns in them, and their linking rows.
        R1 = np.zeros(A.shape[0], bool)
        R1[entries.row[is_todo[entries.col]]] = True
        near = np.zeros(n, bool)
        near[entries.col[R1[entries.row]]] = True
        sel = link & near[entries.col]
        M = coo_matrix((np.ones(int(sel.sum())), (uu[sel], entries.row[sel])),
                       shape=(n_u, A.shape[0])).tocsr()
        sel = link & (room[entries.col] > EPS)
        W = coo_matrix((room[entries.col[sel]], (uu[sel], entries.row[sel])),
                       shape=(n_u, A.shape[0])).tocsr()
        score = (M @ W.T).toarray()
        np.fill_diagonal(score, 0.0)
        for a in np.unique(unit[todo]):
            left = todo[(unit[todo] == a) & _short(mn[todo], mx[todo], required[todo])]
            if not len(left):
                continue
            best = np.argsort(-score[a], kind="stable")[:PARTNERS]
            best = best[score[a, best] > 0]
            # The short values, and the partners' values in the rows linking them, with what
            # lies within PARTNER_HOPS relations of those in the same districts.
            # Over the allowed columns only: a state total's row holds every district.
            allowed = np.flatnonzero(np.isin(unit, np.r_[a, best]))
            cols = linked(allowed, left, M[a].indices)
            t0, s0 = time.perf_counter(), solves
            local(cols, left, exact=True, rounds=_directions(len(left)))
            log.debug("partners of %d: %d columns for %d short, %d solves, %.2f s", a,
                      len(cols), len(left), solves - s0, time.perf_counter() - t0)

    def linked(allowed: np.ndarray, short: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Of the columns ``allowed`` (sorted): the ``short`` ones, those in ``rows``, and
        what lies within PARTNER_HOPS relations of those among ``allowed`` (over the allowed
        columns only: a state total's row holds every district)."""
        S = A_csc[:, allowed]
        S_r = S.tocsr()
        grow = np.zeros(len(allowed), bool)
        grow[np.searchsorted(allowed, short)] = True
        grow[S_r[rows].indices] = True
        for _ in range(PARTNER_HOPS):
            wider = grow.copy()
            wider[S_r[np.unique(S[:, np.flatnonzero(grow)].indices)].indices] = True
            if wider.sum() == grow.sum():
                break
            grow = wider
        return allowed[grow]

    def partner_regions(todo: np.ndarray) -> None:
        """Each region with short values together with the one other region that has the
        most room to move in the rows linking the short values to other regions (their own
        rows, or else their neighbours'), exact for the short values. A rare group's share
        of a state total that is the only one above 0 in its region is held by its region's
        LP, and a partner district alone is held by its own region's rows; with the whole
        region around the partner it can move (full state 2023: 17 of 18 sampled district
        Science counts that no region or partner district proved, 0.6 s each). Each pair is
        first solved with only the partner region's values near the linking rows (see
        ``linked``), then whole for what that leaves (full state 2024: 176 LPs of 1,700
        columns on average, 52 of them then whole; 6.6 s against 9.2 s, the same output).
        A pair with many short values is probed with a few of them first (PROBE_COUNT)."""
        if region.max() < 1:
            return
        n_reg = int(region.max()) + 1
        link = is_link_row[entries.row]
        # Each linking row's room in each region.
        W = coo_matrix((room[entries.col[link]], (entries.row[link], region[entries.col[link]])),
                       shape=(A.shape[0], n_reg)).tocsr()
        best = np.full(len(todo), -1, np.int64)
        links: list[np.ndarray] = []
        for i, c in enumerate(todo):
            rws = A_csc[:, [c]].indices
            own = rws[is_link_row[rws]]
            if not len(own):  # held through its neighbours' shares (a school's: its district's)
                near = np.unique(A_csr[rws].indices)
                rws = np.unique(A_csc[:, near].indices)
                own = rws[is_link_row[rws]]
            links.append(own)
            if not len(own):
                continue
            score = np.asarray(W[own].sum(axis=0)).ravel()
            score[region[c]] = 0.0
            b = int(np.argmax(score))  # ties: the lowest region (deterministic)
            if score[b] > 0:
                best[i] = b
        pair_key = np.where(best >= 0, region[todo] * n_reg + best, -1)
        for key in np.unique(pair_key[best >= 0]):
            a, b = divmod(int(key), n_reg)
            at = np.flatnonzero(pair_key == key)
            mine = todo[at]
            is_short = _short(mn[mine], mx[mine], required[mine])
            at, mine = at[is_short], mine[is_short]
            if not len(mine):
                continue
            # First the partner region's values near the linking rows only (a few hundred
            # columns where the whole region has thousands), then the whole of both regions
            # for what that leaves short.
            whole = np.flatnonzero((region == a) | (region == b))
            mine_rows = np.unique(np.concatenate([links[i] for i in at]))
            near = np.union1d(np.flatnonzero(region == a),
                              linked(np.flatnonzero(region == b), mine[:0], mine_rows))
            probed(f"partner regions {a}+{b}", mine, partial(pair, a, b, near, whole))

    def pair(a: int, b: int, near: np.ndarray, whole: np.ndarray, mine: np.ndarray) -> None:
        """Exact LPs for ``mine`` over the pair's columns near the linking rows, then over
        both regions whole for what that leaves short."""
        for cols in (near, whole):
            t0, s0 = time.perf_counter(), solves
            local(cols, mine, exact=True, rounds=_directions(len(mine)))
            log.debug("partner regions %d+%d: %d columns for %d short, %d solves, %.2f s",
                      a, b, len(cols), len(mine), solves - s0, time.perf_counter() - t0)
            mine = mine[_short(mn[mine], mx[mine], required[mine])]
            if not len(mine):
                break

    def probed(name: str, mine: np.ndarray, run: Callable[[np.ndarray], None]) -> None:
        """``run`` (exact LPs for the values given) for ``mine``; for more than PROBE_COUNT
        values, first for PROBE_COUNT of them spread over the list, and for the rest only
        if that proved any (where LPs prove none of a few values, they have proved none
        of the rest either, in the full state's 2025)."""
        if len(mine) > PROBE_COUNT:
            probe = mine[np.linspace(0, len(mine) - 1, PROBE_COUNT).round().astype(int)]
            run(probe)
            if _short(mn[probe], mx[probe], required[probe]).all():
                log.debug("%s: none of %d probed proved; %d left", name, len(probe),
                          len(mine))
                return
            # (Those the probe left short were solved exactly by the same LPs: not again.)
            mine = np.setdiff1d(mine[_short(mn[mine], mx[mine], required[mine])], probe)
        if len(mine):
            run(mine)

    def whole_group(todo: np.ndarray) -> None:
        """Exact LPs over the whole group for the few values no neighbourhood proves (simplex
        from a vertex near ``base``, each value going on from the last basis: seconds a value
        on the full state's largest groups), guarded against a crawl (see :func:`_guarded`)."""
        nonlocal solves
        req = np.zeros(n, np.int64)
        req[todo] = required[todo]
        _, _, s = _batch_ranges(A, lo, hi, rlo, rhi, req, np.zeros(n, np.int64), rng,
                                rounds=0, on_point=lambda x: fold_local(np.arange(n), x),
                                on_binding=None if binding_out is None else
                                binding_out.__setitem__, start=base,
                                crawl_limit=CRAWL_ITERATIONS)
        solves += s

    def one_by_one(todo: np.ndarray) -> None:
        for c in todo[:ALONE_COUNT]:
            if _short(mn[c:c + 1], mx[c:c + 1], required[c:c + 1])[0]:
                local(around(np.array([c]), ALONE_COLUMNS), np.array([c]), exact=True)

    todo = np.flatnonzero(_short(mn, mx, required))
    todo = step("regions", by_region, todo)
    todo = step("partner districts", partners, todo)
    if len(todo) <= PARTNER_REGION_COUNT:
        todo = step("partner regions", partner_regions, todo)
    if len(todo) <= REGION_EXACT_COUNT:
        todo = step("regions, exactly", lambda t: by_region(t, exact=True), todo)
    if n <= WHOLE_GROUP_COLUMNS:  # one LP over the whole group: cheap enough, and strong
        todo = step("neighbourhoods", neighbourhoods, todo)
    skip = np.zeros(0, np.int64)
    if regional:
        # Over a group larger than EXACT_LARGE_COLUMNS only when protect() asks (its rounds
        # stalled): the first solve alone can take many minutes there, and complements near
        # the values usually let the next round's partner districts prove them in seconds.
        limit = exact_count if exact_count is not None else (
            REGIONAL_EXACT_COUNT if n <= EXACT_LARGE_COLUMNS else 0)
        if 0 < len(todo) <= limit:
            # Every one solved exactly: what is still short is narrow, not unproven, and its
            # failure names the relations that hold it (protect() withholds in them). Called
            # unproven, a school's count shown to range over 28..30 only got complements
            # elsewhere, round after round, until protect() gave up (full state 2024).
            step("the whole group, exactly", whole_group, todo)
            todo = np.zeros(0, np.int64)
        todo, skip = skip, todo  # the rest: unproven, for protect() to withhold more near
    todo = step("trades between regions", trades, todo)
    if thorough:
        todo = step("pairs of regions", pairs, todo)
        if n <= EXACT_LARGE_COLUMNS:  # larger: they take minutes and prove next to nothing
            if n > WHOLE_GROUP_COLUMNS:
                todo = step("neighbourhoods", neighbourhoods, todo)
            todo = step("single-value neighbourhoods", one_by_one, todo)
    unproven = np.zeros(n, bool)
    unproven[skip] = True
    if len(todo):
        if n <= EXACT_LIMIT or (thorough and len(todo) <= EXACT_LARGE_COUNT
                                and n <= EXACT_LARGE_COLUMNS):
            req = np.zeros(n, np.int64)
            req[todo] = required[todo]
            done: list[np.ndarray] = []
            _, _, s = _batch_ranges(A, lo, hi, rlo, rhi, req, np.zeros(n, np.int64), rng,
                                    max_exact_rounds=EXACT_COUNT, solved=done,
                                    ipm=n > IPM_COLUMNS,
                                    on_point=lambda x: fold_local(np.arange(n), x),
                                    on_binding=None if binding_out is None else
                                    binding_out.__setitem__)
            solves += s
            # Exact where solved (both ends); the rest only got what the budget allowed.
            left = np.flatnonzero(_short(mn, mx, required))
            unproven[left[~np.isin(left, np.concatenate([[-1], *done]))]] = True
        else:
            unproven[todo] = True
    if record and witness_out is not None:
        # Only the points that some proven column needs (its lowest and its highest).
        proven = ~_short(mn, mx, required) & (required > 0)
        pids = np.unique(np.r_[arg_mn[proven], arg_mx[proven]])
        witness_out.append(rec.witnesses().points(pids[pids >= 0]))
    return mn, mx, solves, unproven


def _directions(n_short: int) -> int:
    """Rounds of random directions before the exact LPs of a neighbourhood with ``n_short``
    values to prove: none for a few (each exact value takes one or two solves, where the
    random rounds take four before any; full state 2024: partner LPs 3 solves where they
    took 6), else LOCAL_ROUNDS."""
    return 0 if n_short < FEW_SHORT else LOCAL_ROUNDS


def _batch_ranges(A: csc_matrix, lo: np.ndarray, hi: np.ndarray, rlo: np.ndarray,
                  rhi: np.ndarray, required: np.ndarray, comp: np.ndarray,
                  rng: np.random.Generator, exact: bool = True,
                  max_exact_rounds: int | None = None,
                  solved: list[np.ndarray] | None = None, ipm: bool = False,
                  rounds: int = N_DIRECTIONS + MAX_FOCUSED_ROUNDS,
                  on_point: Callable[[np.ndarray], None] | None = None,
                  on_binding: Callable[[int, np.ndarray], None] | None = None,
                  start: np.ndarray | None = None, perturb: bool = True,
                  crawl_limit: int | None = None,
                  ) -> tuple[np.ndarray, np.ndarray, int]:
    """Min and max of every column with ``required`` > 0 (``exact=False``: only as far as
    random directions get; the spread found is then a lower bound on the range; with
    ``max_exact_rounds``, exact for at most that many columns per component, listed in
    ``solved``). ``on_point`` is given every point found, the first being the solution of a
    zero objective, which widens spreads by itself: starting from a known feasible point
    instead, to save that solve, left 7-13% more values unproven (central and full state
    2024, measured in session 16). ``on_binding(column, rows)``: for a column its exact LP
    leaves short, the rows with a nonzero dual there (on its side with more room): the
    relations that hold it. ``start``: a feasible point the first basis is found from (see
    :func:`_from_point`; ignored under ``ipm``). The first point is then a vertex near it,
    which widens spreads less than the vertex a cold solve ends at, but it comes far sooner:
    full state 2024, first audit round, back to back: region LPs 11.3 s against 18.6 s (39
    more values left to the partner passes), partner LPs 10.0 s against 14.9 s,
    partner-region LPs 5.1 s against 14.3 s, and the round 39.8 s against 61.0 s with the
    same 67 values failing; an exact LP over a whole group of 36,849 columns for 5 values
    0.7 s against 5.8 s, with the same ranges. ``perturb=False``: primal simplex without its
    bound perturbation; ``crawl_limit``: with it, but guarded (see :func:`_guarded`)."""
    n = A.shape[1]
    h = _model(A, lo, hi, rlo, rhi, ipm=ipm)
    if not perturb:
        _set(h, "primal_simplex_bound_perturbation_multiplier", 0.0)
    if start is not None and not ipm:
        _from_point(h, start)
    solve = _solve if crawl_limit is None else _guarded(h, crawl_limit)
    row_comp = None  # each row's component (rows of one component hold only its columns)
    if on_binding is not None:
        Ar = A.tocsr()
        has = np.diff(Ar.indptr) > 0
        row_comp = np.full(A.shape[0], -1, np.int64)
        row_comp[has] = comp[Ar.indices[Ar.indptr[:-1][has]]]
    solves = 1
    x = solve(h, np.zeros(n), highspy.ObjSense.kMinimize)
    if x is None:  # published numbers contradict each other: nothing is proven
        return lo.copy(), lo.copy(), solves
    mn, mx = x.copy(), x.copy()
    if on_point is not None:
        on_point(x)

    def short() -> np.ndarray:
        return np.flatnonzero(_short(mn, mx, required))

    todo = short()
    for i in range(rounds):
        if not len(todo) or (i >= N_DIRECTIONS and len(todo) < 20):
            break
        c = np.zeros(n)
        c[todo] = rng.choice([-1.0, 1.0], len(todo))
        for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
            x = solve(h, c, sense)
            solves += 1
            if x is not None:
                mn, mx = np.minimum(mn, x), np.maximum(mx, x)
                if on_point is not None:
                    on_point(x)
        before, todo = len(todo), short()
        if i >= N_DIRECTIONS and len(todo) > 0.8 * before:
            break
    # Exact min and max of the rest. Components are independent, so one LP gives the
    # min (max) of one column of every component at once: round k takes the k-th
    # unresolved column of each component.
    rounds = 0
    while exact and len(todo) and (max_exact_rounds is None or rounds < max_exact_rounds):
        rounds += 1
        order = np.lexsort((todo, comp[todo]))
        t = todo[order]
        first = np.r_[True, comp[t][1:] != comp[t][:-1]]
        pick = t[first]
        if solved is not None:
            solved.append(pick)
        # Each picked column towards the side with more room; the other side too only where
        # it is not at its bound yet (then it is exact already). Columns of different
        # components are independent, so one LP serves all of them, whatever their sides.
        up = hi[pick] - mx[pick] >= mn[pick] - lo[pick]
        both = (mn[pick] > lo[pick] + EPS) & (mx[pick] < hi[pick] - EPS)
        cost = np.zeros(n)
        cost[pick] = np.where(up, 1.0, -1.0)
        senses = (highspy.ObjSense.kMaximize,) + (
            (highspy.ObjSense.kMinimize,) if both.any() else ())
        duals = None
        for sense in senses:
            x = solve(h, cost, sense)
            solves += 1
            if x is None:  # cannot happen for a feasible, bounded model; stay safe
                mn[pick], mx[pick] = lo[pick], lo[pick]
                continue
            if duals is None and row_comp is not None:
                duals = np.abs(np.asarray(h.getSolution().row_dual)) > DUAL_EPS
            mn, mx = np.minimum(mn, x), np.maximum(mx, x)
            if on_point is not None:
                on_point(x)
        if duals is not None and on_binding is not None and row_comp is not None:
            held = pick[_short(mn[pick], mx[pick], required[pick])]
            if len(held):
                nz = np.flatnonzero(duals)
                for c in held:
                    on_binding(int(c), nz[row_comp[nz] == comp[c]])
        todo = np.setdiff1d(todo, pick)
        rest = short()
        todo = np.intersect1d(todo, rest)
    return mn, mx, solves


def hint_values(cells: pl.DataFrame, system: System, hint: pl.DataFrame) -> np.ndarray:
    """Candidate values per variable from ``hint`` (KEY, n_students, n_meeting), NaN where
    the hint has no row. Only ever a starting point: :func:`check_system` checks it."""
    h = hint.select([*KEY, "n_students", "n_meeting"]).cast(
        {"n_students": pl.Float64, "n_meeting": pl.Float64})
    rows = cells.select(KEY).with_row_index("_r").join(h, on=list(KEY), how="left").sort("_r")
    out = np.full(system.vars.height, np.nan)
    den = system.den_of_row.to_numpy()
    ns = rows["n_students"].to_numpy()
    ok = ~np.isnan(ns)
    out[den[ok]] = ns[ok]
    has_num = system.num_of_row.is_not_null().to_numpy()
    out[system.num_of_row.to_numpy()[has_num].astype(np.int64)] = rows["n_meeting"].to_numpy()[
        has_num]
    return out


def audit_cells(published: pl.DataFrame, policy: Policy, workers: int = 1,
                hint: pl.DataFrame | None = None, thorough: bool = True,
                witnesses: dict[int, Witnesses] | None = None,
                regional: bool = False, exact_count: int | None = None,
                system: tuple[System, np.ndarray] | None = None,
                settled: np.ndarray | None = None) -> AuditReport:
    """Audit published cells (a frame with the CSV columns). Years are independent; with
    ``workers > 1`` they are audited on that many cores (see :func:`parallel.processes`),
    unless every year has witnesses (see :func:`in_pool`).
    ``hint``: candidate true values (raw cells), which make large linked groups much faster
    to prove; they are checked against everything published and ignored if they do not
    fit. ``witnesses``: per year, points found by an earlier audit (see :class:`Witnesses`);
    the report carries this audit's. ``regional`` (one year at a time only): protect()'s
    rounds, see the module docstring; ``exact_count``: how many values left in a large group
    still get exact LPs over the whole group there (default REGIONAL_EXACT_COUNT).
    ``system`` (one year only): the :func:`build_system` of ``published``'s rows, in their
    order, and :func:`hint_values` of ``hint`` over it, when the caller has them: protect()'s
    rounds audit patterns of the same cells, whose system does not change (``hint`` is then
    not read). ``settled`` (with ``system`` only): per variable of that system, True where an
    earlier audit of this year proved the value (see :func:`check_system`)."""
    years = published["year"].unique().sort().to_list()
    if workers > 1 and not in_pool(years, witnesses):
        workers = 1
    if workers == 1 and len(years) > 1:
        # Always year by year, so that a year's proofs do not depend on what else is audited
        # with it (the publication gate audits years apart, protect() protects them apart).
        t0 = time.perf_counter()
        out = AuditReport.combined(
            [_audit_year(published.filter(pl.col("year") == y), policy,
                         None if hint is None else hint.filter(pl.col("year") == y),
                         thorough, (witnesses or {}).get(y)) for y in years],
            published.height)
        out.seconds = time.perf_counter() - t0
        return out
    if workers > 1 and len(years) > 1:
        t0 = time.perf_counter()
        parts = [(published.filter(pl.col("year") == y),
                  None if hint is None else hint.filter(pl.col("year") == y)) for y in years]
        with pool(len(years), workers) as procs:
            reports = procs.starmap(_audit_year, [(p, policy, h, thorough,
                                                   (witnesses or {}).get(y))
                                                  for y, (p, h) in zip(years, parts,
                                                                       strict=True)])
        out = AuditReport.combined(reports, published.height)
        out.seconds = time.perf_counter() - t0
        return out
    t0 = time.perf_counter()
    cells = with_population(published, policy)
    if system is None:
        sys_ = build_system(cells, policy)
        x0 = None if hint is None else hint_values(cells, sys_, hint)
    else:
        sys_, x0 = system
        if len(years) > 1 or not _is_system_of(sys_, cells):
            raise ValueError("audit_cells: the system given is not that of these cells, "
                             "row for row, in one year")
    if settled is not None and (system is None or len(settled) != sys_.vars.height):
        raise ValueError("audit_cells: settled needs the system given, one flag per variable")
    k = _knowledge(cells, sys_, policy)
    report = AuditReport(n_cells=published.height)
    report.seconds = time.perf_counter() - t0
    year = int(years[0]) if years else 0
    return check_system(sys_, k, policy, report, hint=x0, thorough=thorough,
                        witnesses=(witnesses or {}).get(year), year=year, regional=regional,
                        exact_count=exact_count, settled=settled)


def in_pool(years: list[int], witnesses: dict[int, Witnesses] | None) -> bool:
    """Whether audits of ``years`` given ``witnesses`` are worth a pool of processes. Not
    when every year has witnesses: each audit then mostly checks points (about 4 s for a
    full-state year), and a pool costs more than it saves (each year's cells and hint,
    about 300 MB, pickled to a fresh process that imports polars, SciPy and HiGHS first).
    The gate's audit of the full demo state, 5 years on 2 cores: 33.2 s in this process
    against 39.5-41.7 s in a pool of three (benchmarks/README.md, session 37)."""
    return len(years) > 1 and not all(y in (witnesses or {}) for y in years)


def _is_system_of(system: System, cells: pl.DataFrame) -> bool:
    """Whether ``system`` is :func:`build_system` of ``cells``' rows in their order: each
    row's denominator and numerator variables have its key."""
    if len(system.den_of_row) != cells.height:
        return False
    where = ["year", "level", "district_code", "school_code", "subject", "grade",
             "group_family", "student_group"]
    dens = system.vars[system.den_of_row.to_numpy()]
    if not dens.select(where).equals(cells.select(where)) or not dens["series"].equals(
            ("d:" + cells["population"]).alias("series")):
        return False
    rate = system.num_of_row.is_not_null()
    nums = system.vars[system.num_of_row.filter(rate).to_numpy()]
    return nums.select("topic", "measure").equals(cells.filter(rate).select("topic", "measure"))


def _audit_year(published: pl.DataFrame, policy: Policy, hint: pl.DataFrame | None,
                thorough: bool = True, witnesses: Witnesses | None = None) -> AuditReport:
    return audit_cells(published, policy, hint=hint, thorough=thorough,
                       witnesses=None if witnesses is None else {
                           int(published["year"][0]): witnesses})

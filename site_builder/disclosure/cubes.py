"""Witnesses built, not searched for: the hypercube moves of a suppression pattern.

A withheld value is protected when the published numbers allow it a wide enough range. The
classic way to show that is a *hypercube* (Repsilber's hypercube method, GHMITER, as in
tau-Argus): pick, along each axis of the tables, a partner for the value, and move the value
and the partners' corners by +d and -d in turn. Along every relation the moves cancel, so
every published number stays as it is, and the value can be d higher or d lower than it is.

Here the axes are the ones the policy's relations run along:

* **where**: a school against a sibling school of its district, or a district (with one of
  its schools) against another district (with one of its schools);
* **who**: a student group against a sibling in its partition (Black against Asian), or a
  grade against another grade of All students;
* **what**: a level against another level of the same rate (with "proficient or advanced"
  following when the move crosses it), a tested count together with one of its levels.

A cube is the product of one move per axis; its corners must all be withheld values. Each
cube is then checked against the audit's own LP (:func:`audit.withheld_lp`: every relation,
every bound, numerators within denominators), which also gives how far it can move each way.
The cubes that prove a value wide enough become :class:`audit.Witnesses`: the audit checks
each point again before it counts, so a wrong cube here costs time, never safety.

The same cubes choose complements (:func:`cube_complements`, as the hypercube method does):
for a value no cube of withheld values proves, the cube that proves it at the least cost
(fewest published corners; counts and All-students rows dearest) has its published corners
withheld, so the pattern is one the audit can check instead of search. What no cube can
prove (a state total, a value with no partner anywhere) is left to the audit's LPs.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.sparse import csr_matrix

from site_builder.disclosure import audit as _audit
from site_builder.disclosure.policy import Policy
from site_builder.disclosure.relations import System
from site_builder.disclosure.sorting import dense_rank

log = logging.getLogger(__name__)

PLACES = 3
"""Places tried per rectangle: sibling schools, and other districts (cheapest, then most
students first)."""
SIBLINGS = 6
"""Sibling groups tried per value (up to this many)."""
TEMPLATES = 6
"""Moves along "what" tried per value (up to this many)."""
CHUNK = 20_000
"""Values whose cubes are built at once (bounds memory)."""
_PAIRS = 2_000_000
"""(rectangle, place) pairs checked at once (bounds memory)."""


@dataclass
class _Space:
    """A year's variables on the cube axes (each coordinate as a small integer), with a
    lookup from coordinates back to variables."""

    fix: np.ndarray
    geo: np.ndarray
    who: np.ndarray
    what: np.ndarray
    who_t: pl.DataFrame
    what_t: pl.DataFrame
    dgeo: np.ndarray
    level: np.ndarray
    shape: tuple[int, int, int]
    dense: np.ndarray
    """Variable id at each key (-1: none): the key space is small (years x subjects x
    places x groups and grades x series; 6.7 million for a full-state year)."""
    geo_level: np.ndarray
    """Each place's level (state, district or school)."""
    schools: tuple[np.ndarray, np.ndarray]
    """The schools of each place (CSR: pointers by geo, school geos): a district's
    schools; none for a school or the state."""
    whole: np.ndarray
    """Per variable: the head count it is part of (:attr:`relations.System.bounds`: a
    tested count's enrolment), -1 for none."""

    def key(self, fix: np.ndarray, geo: np.ndarray, who: np.ndarray,
            what: np.ndarray) -> np.ndarray:
        n_geo, n_who, n_what = self.shape
        return ((fix * n_geo + geo) * n_who + who) * n_what + what

    def var_at(self, fix: np.ndarray, geo: np.ndarray, who: np.ndarray,
               what: np.ndarray) -> np.ndarray:
        """Variable ids at these coordinates (-1 where there is none)."""
        kk = self.key(fix, geo, who, what)
        out = np.full(len(kk), -1, np.int64)
        inside = (kk >= 0) & (kk < len(self.dense))
        out[inside] = self.dense[kk[inside]]
        return out

    def frame(self, ids: np.ndarray, value: np.ndarray, cost: np.ndarray) -> pl.DataFrame:
        """The variables that may move (``mov`` below): one row per variable x with its
        coordinates, dgeo (its district's geo), level, value and cost (0: withheld)."""
        return pl.DataFrame({
            "x": ids, "fix": self.fix[ids], "geo": self.geo[ids], "who": self.who[ids],
            "what": self.what[ids], "dgeo": self.dgeo[self.geo[ids]],
            "level": self.level[ids], "value": value[ids], "cost": cost[ids]})


def _ids(frame: pl.DataFrame, cols: list[str]) -> tuple[np.ndarray, pl.DataFrame]:
    """Dense ids for the distinct values of ``cols`` (in sorted order) and the id table."""
    table = frame.select(cols).unique().sort(cols).with_row_index("_id")
    ids = frame.select(cols).join(table, on=cols, how="left", maintain_order="left")["_id"]
    return ids.to_numpy().astype(np.int64), table


_SPACES: dict[int, _Space] = {}
"""The last system's space, by the system's id (dropped when the system is)."""


def _space(system: System) -> _Space:
    """The cube space of ``system``'s variables, worked out once per system: protect()
    asks for it at every cube search and complement choice of a year, about a dozen times
    (0.5 s each on the full state)."""
    key = id(system)
    sp = _SPACES.get(key)
    if sp is None:
        sp = _build_space(system)
        _SPACES.clear()  # one at a time: a full-state year's key space is 53 MB
        _SPACES[key] = sp
        weakref.finalize(system, _SPACES.pop, key, None)
    return sp


def _build_space(system: System) -> _Space:
    v = system.vars
    fix, _ = _ids(v, ["year", "subject"])
    geo, geo_t = _ids(v, ["level", "district_code", "school_code"])
    who, who_t = _ids(v, ["group_family", "student_group", "grade"])
    what, what_t = _ids(v, ["series"])
    d = geo_t.filter(pl.col("level") == "district").select(
        "district_code", pl.col("_id").alias("d_id"))
    dgeo = geo_t.join(d, on="district_code", how="left", maintain_order="left")[
        "d_id"].fill_null(-1).to_numpy().astype(np.int64)
    geo_level = geo_t["level"].to_numpy()
    is_school = np.flatnonzero(geo_level == "school")
    by_d = is_school[np.argsort(dgeo[is_school], kind="stable")]
    ptr = np.searchsorted(dgeo[by_d], np.arange(geo_t.height + 1))
    shape = (geo_t.height, who_t.height, what_t.height)
    n_fix = int(fix.max()) + 1 if len(fix) else 0
    dense = np.full(n_fix * shape[0] * shape[1] * shape[2], -1, np.int64)
    whole = np.full(len(fix), -1, np.int64)
    whole[system.bounds[::-1, 0]] = system.bounds[::-1, 1]  # the first, where several
    sp = _Space(fix, geo, who, what, who_t, what_t, dgeo, v["level"].to_numpy(), shape,
                dense, geo_level, (ptr, by_d), whole)
    dense[sp.key(fix, geo, who, what)] = np.arange(len(fix))
    return sp


def cube_witnesses(published: pl.DataFrame, system: System, policy: Policy,
                   truth: np.ndarray, only: np.ndarray | None = None,
                   ) -> tuple[_audit.Witnesses, np.ndarray]:
    """Hypercube witnesses for the withheld values of one year's published cells, and the
    withheld values they leave unproven.

    ``system`` is :func:`relations.build_system` of ``published`` (rows in the same order);
    ``truth`` the true value of every variable (witness points are moves from it, as the
    audit's are). ``only``: look for cubes of these variables alone (those of them that are
    withheld); by default, of every withheld value. No witnesses when the true values do
    not fit what is published."""
    t0 = time.perf_counter()
    k = _audit._knowledge(published, system, policy)
    lp = _audit.withheld_lp(system, k)
    fp = _audit.fingerprint(system)
    out = _audit.Witnesses(fp)
    hv = lp.hvars
    todo = hv[k.required[hv] > 0]
    if only is not None:
        todo = todo[np.isin(todo, only)]
    x0 = truth[hv]
    if not len(todo) or np.isnan(x0).any() or not _audit._feasible(
            lp.A, x0, lp.lo, lp.hi, lp.rlo, lp.rhi):
        return out, todo
    sp = _space(system)
    hidden = ~k.known
    mov = sp.frame(hv, truth, np.zeros(len(hidden)))
    A_csr = lp.A.tocsr()
    at_x0 = A_csr @ x0
    proven = np.zeros(len(hidden), bool)
    n_tried = 0
    move_vars: list[np.ndarray] = []
    move_deltas: list[np.ndarray] = []
    point_moves: list[np.ndarray] = []
    point_weights: list[np.ndarray] = []
    for a in range(0, len(todo), CHUNK):
        xs = todo[a:a + CHUNK]
        xs = xs[~proven[xs]]
        corners = _cubes(xs, mov, sp, policy)
        if corners.height == 0:
            continue
        cand, c_row = np.unique(corners["cand"].to_numpy(), return_inverse=True)
        n_tried += len(cand)
        var = corners["var"].to_numpy()
        D = csr_matrix((corners["sign"].to_numpy().astype(float), (c_row, lp.col[var])),
                       shape=(len(cand), lp.A.shape[1]))
        up, dn = _reach(D, A_csr, at_x0, x0, lp)
        sign = corners["sign"].to_numpy()
        picks = _pick(corners["x"].to_numpy(), var, sign, c_row, up, dn, k.required, proven,
                      np.zeros(len(var)))
        starts = np.searchsorted(c_row, np.arange(len(cand) + 1))
        picked = {p[0] for p in picks}
        picks += [(ci, var[starts[ci]:starts[ci + 1]], sign[starts[ci]:starts[ci + 1]])
                  for ci in _two_cubes(xs, var, sign, c_row, up, dn, k.required, proven)
                  if ci not in picked]
        for ci, vs, sg in picks:
            mid = len(move_vars)
            move_vars.append(vs)
            move_deltas.append(sg)
            for wgt in (up[ci], -dn[ci]):
                if wgt:
                    point_moves.append(np.array([mid], np.int64))
                    point_weights.append(np.array([float(wgt)]))
    left = todo[~proven[todo]]
    log.info("cubes: %d of %d withheld values proven by %d cubes (%d tried) in %.1f s",
             len(todo) - len(left), len(todo), len(move_vars), n_tried,
             time.perf_counter() - t0)
    return _audit.Witnesses.of(fp, move_vars, move_deltas, point_moves, point_weights), left


def cube_complements(system: System, xs: np.ndarray, hidden: np.ndarray,
                     eligible: np.ndarray, value: np.ndarray, lo: np.ndarray,
                     hi: np.ndarray, required: np.ndarray, cost: np.ndarray,
                     policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """Published values to withhold so that each value of ``xs`` has a cube that proves it,
    and which of ``xs`` then have one. For each value in turn (unless an earlier pick proves
    it): the cube of withheld and ``eligible`` published values, moving within
    ``lo``..``hi`` (for a published value: its bounds once withheld) and balancing every
    relation, with the least ``cost`` of published corners. The next
    :func:`cube_witnesses` checks the result against the audit's own constraints."""
    t0 = time.perf_counter()
    sp = _space(system)
    movable = np.flatnonzero(hidden | eligible)
    mov = sp.frame(movable, value.astype(float), np.where(hidden, 0.0, cost))
    proven = np.zeros(len(hidden), bool)
    picked = np.zeros(len(hidden), bool)
    e = system.edges
    rel = csr_matrix((np.where(e["is_total"].to_numpy(), 1.0, -1.0),
                      (e["rel_id"].to_numpy(), e["var_id"].to_numpy())),
                     shape=(int(e["rel_id"].to_numpy().max()) + 1 if e.height else 0,
                            len(hidden)))
    for a in range(0, len(xs), CHUNK):
        chunk = xs[a:a + CHUNK]
        chunk = chunk[~proven[chunk]]
        corners = _cubes(chunk, mov, sp, policy)
        if corners.height == 0:
            continue
        cand, c_row = np.unique(corners["cand"].to_numpy(), return_inverse=True)
        var = corners["var"].to_numpy()
        sg = corners["sign"].to_numpy().astype(float)
        x = value[var].astype(float)
        up = np.full(len(cand), np.inf)
        dn = np.full(len(cand), np.inf)
        room_hi, room_lo = (hi[var] - x) / np.abs(sg), (x - lo[var]) / np.abs(sg)
        np.minimum.at(up, c_row, np.where(sg > 0, room_hi, room_lo))
        np.minimum.at(dn, c_row, np.where(sg > 0, room_lo, room_hi))
        # Every part within its whole (tested within enrolled), the two moving or not.
        D = csr_matrix((sg, (c_row, var)), shape=(len(cand), len(hidden)))
        _within(D, system.bounds, value, up, dn)
        up, dn = np.floor(np.maximum(up, 0)), np.floor(np.maximum(dn, 0))
        # Every relation must balance (a cube that breaks one is no move at all).
        R = (D @ rel.T).tocoo()
        broken = np.unique(R.row[np.abs(R.data) > 1e-9])
        up[broken] = dn[broken] = -1
        corner_cost = np.where(hidden[var] | picked[var], 0.0, cost[var])
        for _, vs, _ in _pick(corners["x"].to_numpy(), var, sg, c_row, up, dn, required,
                              proven, corner_cost):
            picked[vs[~hidden[vs]]] = True
    out = np.flatnonzero(picked)
    log.info("cube complements: %d values withheld for %d unproven (%d now proven) in %.1f s",
             len(out), len(xs), int(proven[xs].sum()), time.perf_counter() - t0)
    return out, proven[xs]


def _within(D: csr_matrix, bounds: np.ndarray, value: np.ndarray, up: np.ndarray,
            dn: np.ndarray) -> None:
    """Lower ``up`` and ``dn`` (per cube, a row of ``D``) so that no part passes its whole
    (``bounds``: (part, whole) rows) from ``value``."""
    if not len(bounds):
        return
    n_pairs = len(bounds)
    P = csr_matrix((np.r_[np.ones(n_pairs), -np.ones(n_pairs)],
                    (np.r_[bounds[:, 0], bounds[:, 1]], np.r_[np.arange(n_pairs),
                                                                np.arange(n_pairs)])),
                   shape=(D.shape[1], n_pairs))
    G = (D @ P).tocoo()  # per cube and pair: the part's step less the whole's
    nz = np.abs(G.data) > 1e-9
    c, j, g = G.row[nz], G.col[nz], G.data[nz]
    slack = (value[bounds[j, 1]] - value[bounds[j, 0]]).astype(float)
    np.minimum.at(up, c[g > 0], slack[g > 0] / g[g > 0])
    np.minimum.at(dn, c[g < 0], slack[g < 0] / -g[g < 0])


def _cubes(xs: np.ndarray, mov: pl.DataFrame, sp: _Space, policy: Policy) -> pl.DataFrame:
    """Every cube of the values ``xs`` whose corners are all movable (rows of ``mov``):
    rows (cand, x, var, sign), one per corner, sorted by cube then var."""
    empty = pl.DataFrame(schema={"cand": pl.Int64, "x": pl.Int64, "var": pl.Int64,
                                 "sign": pl.Int64})
    xf = mov.join(pl.DataFrame({"x": xs}), on="x")
    if xf.height == 0:
        return empty
    cost = np.full(len(sp.fix), np.nan)  # per variable; NaN: not movable
    cost[mov["x"].to_numpy()] = mov["cost"].to_numpy()
    rects = _rectangles(xf, cost, _who_moves(xf, mov, sp, policy),
                        _what_moves(xf, cost, sp, policy), sp, policy)
    if rects.height == 0:
        return empty
    places = _place_moves(xf, rects, _have(rects, mov, cost, xf, sp))
    r = rects.rename({"sign": "sr"})
    g = places.rename({"sign": "sg"})
    c = r.join(g, on=["x", "rect"])
    if c.height == 0:
        return empty
    x = c["x"].to_numpy()
    rect = c["rect"].to_numpy()
    place = c["place"].to_numpy()
    cube = (x * (int(rect.max()) + 1) + rect) * (int(place.max()) + 1) + place
    var = sp.var_at(c["fix"].to_numpy(), c["geo"].to_numpy(), c["who"].to_numpy(),
                    c["what"].to_numpy())
    sign = (c["sr"] * c["sg"]).to_numpy()
    # Corners by cube, in (x, rect, place) order, then by var (a var twice in one cube, where
    # axes meet, has its signs added up below): one sort of one key where it fits in 64
    # bits (full state 2024: a third of the time of numbering cubes, then sorting by both).
    span = len(sp.fix) + 1  # var + 1: 0 .. len(sp.fix)
    if int(cube.max()) < np.iinfo(np.int64).max // span - 1:
        order = np.argsort(cube * span + (var + 1), kind="stable")
    else:
        order = np.lexsort((var, cube))
    cube, x, var, sign = cube[order], x[order], var[order], sign[order]
    cand = np.cumsum(np.r_[False, cube[1:] != cube[:-1]])  # cubes numbered in that order
    movable = np.zeros(len(sp.fix), bool)
    movable[mov["x"].to_numpy()] = True
    bad = np.zeros(int(cand.max()) + 1, bool)
    bad[cand[(var < 0) | ~movable[var]]] = True
    keep = ~bad[cand]
    cand, x, var, sign = cand[keep], x[keep], var[keep], sign[keep]
    first = np.r_[True, (cand[1:] != cand[:-1]) | (var[1:] != var[:-1])] if len(cand) \
        else np.zeros(0, bool)
    total = np.add.reduceat(sign, np.flatnonzero(first)) if len(cand) else sign
    nz = total != 0
    cand, x, var, sign = cand[first][nz] + 1, x[first][nz], var[first][nz], total[nz]
    cand, x, var, sign = _mirrored(cand, x, var, sign, sp, movable)
    return pl.DataFrame({"cand": cand, "x": x, "var": var, "sign": sign}, schema=empty.schema)


def _mirrored(cand: np.ndarray, x: np.ndarray, var: np.ndarray, sign: np.ndarray,
              sp: _Space, movable: np.ndarray,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The cubes, and after them a copy of each cube that moves a part of a whole (a
    tested count, within its enrolment), with each such whole moving as its part does.
    A tested count that equals its enrolment can move up only with it: the copy moves the
    enrolled counts along the same places and grades, so their relations balance as the
    tested counts' do (where they do not, the checks drop the copy). Only where every whole
    is movable. Corner rows sorted by cube, then var, as :func:`_cubes` gives them."""
    w = sp.whole[var] if len(var) else var
    has = w >= 0
    if not has.any():
        return cand, x, var, sign
    bad = np.zeros(int(cand.max()) + 1, bool)
    bad[cand[has & ~movable[np.maximum(w, 0)]]] = True
    with_whole = np.zeros(len(bad), bool)
    with_whole[cand[has]] = True
    copy = with_whole & ~bad
    if not copy.any():
        return cand, x, var, sign
    new_id = np.cumsum(copy) + int(cand.max())  # the copies numbered after the cubes
    sel = copy[cand]
    m_cand = np.r_[new_id[cand[sel]], new_id[cand[sel & has]]]
    m_x = np.r_[x[sel], x[sel & has]]
    m_var = np.r_[var[sel], w[sel & has]]
    m_sign = np.r_[sign[sel], sign[sel & has]]
    order = np.lexsort((m_var, m_cand))
    m_cand, m_x, m_var, m_sign = m_cand[order], m_x[order], m_var[order], m_sign[order]
    # A whole that is already a corner (another fix's cube never holds one): signs add up.
    first = np.r_[True, (m_cand[1:] != m_cand[:-1]) | (m_var[1:] != m_var[:-1])]
    total = np.add.reduceat(m_sign, np.flatnonzero(first))
    nz = total != 0
    return (np.r_[cand, m_cand[first][nz]], np.r_[x, m_x[first][nz]],
            np.r_[var, m_var[first][nz]], np.r_[sign, total[nz]])


def _ranked(frame: pl.DataFrame, by: list[str], n: int) -> pl.DataFrame:
    """The ``n`` cheapest rows per ``by`` (then most students, then smallest x), ranked."""
    return (frame.sort([*by, "cost", "value", "x"],
                       descending=[False] * len(by) + [False, True, False])
            .with_columns(pl.int_range(pl.len()).over(by).alias("rank"))
            .filter(pl.col("rank") < n))


def _as_moves(frame: pl.DataFrame, coords: list[tuple[str, int]], opt: str = "opt",
              keep: tuple[str, ...] = ()) -> pl.DataFrame:
    """Rows (x, opt, *keep, coord, sign) from option rows with one column per named
    coordinate (null: not part of this option)."""
    parts = [frame.select("x", opt, *keep, pl.col(c).alias("coord"), pl.lit(s).alias("sign"))
             for c, s in coords]
    return pl.concat(parts).drop_nulls("coord").with_columns(
        pl.col("coord").cast(pl.Int64), pl.col("sign").cast(pl.Int64))


def _who_moves(xf: pl.DataFrame, mov: pl.DataFrame, sp: _Space, policy: Policy,
               ) -> pl.DataFrame:
    """Who: a group against a movable sibling of its partition; a grade of All students
    against another grade; All students in all grades (the total of every partition) with
    one movable member of each partition. Rows (x, ow, sib, who, sw)."""
    who_t = sp.who_t
    part = np.full(who_t.height, -1, np.int64)
    fam = who_t["group_family"].to_numpy()
    grp = who_t["student_group"].to_numpy()
    grade = who_t["grade"].to_numpy()
    for i, gp in enumerate(policy.group_partitions):
        part[(fam == gp.family) & np.isin(grp, gp.members)] = i
    is_all = (fam == policy.all_students.group_family) & (grp == policy.all_students.student_group)
    part[is_all & (grade != policy.grade_partition.total)] = len(policy.group_partitions)
    everything = is_all & (grade == policy.grade_partition.total)
    sl = ["fix", "geo", "what", "part"]
    mp = mov.with_columns(pl.Series("part", part[mov["who"].to_numpy()])).filter(
        pl.col("part") >= 0)
    xp = xf.with_columns(pl.Series("part", part[xf["who"].to_numpy()]))
    ranked = _ranked(mp.join(xp.select(sl).unique(), on=sl), sl, SIBLINGS + 1)
    opts = (xp.filter(pl.col("part") >= 0).select("x", *sl, "who")
            .join(ranked.select(*sl, pl.col("who").alias("sib"), "rank"), on=sl)
            .filter(pl.col("sib") != pl.col("who")).sort("x", "rank")
            .with_columns(pl.int_range(pl.len()).over("x").alias("opt"))
            .filter(pl.col("opt") < SIBLINGS))
    pairs = _as_moves(opts, [("who", 1), ("sib", -1)], keep=("sib",))
    # The total: itself and the cheapest movable member of each partition.
    totals = xf.filter(pl.Series(everything[xf["who"].to_numpy()]))
    at = totals.select("fix", "geo", "what").unique()
    tops = _ranked(mp.join(at, on=["fix", "geo", "what"]), sl, 1).select(
        "fix", "geo", "what", "who")
    members = totals.select("x", "fix", "geo", "what").join(tops, on=["fix", "geo", "what"])
    rows = pl.concat([totals.select("x", "who"), members.select("x", "who")]).sort("x", "who")
    sig = rows.group_by("x").agg(pl.col("who").cast(pl.String).str.join(",").alias("s"))
    sig = sig.with_columns((-1 - pl.col("s").rank("dense").cast(pl.Int64)).alias("sib"))
    total_moves = rows.join(sig.select("x", "sib"), on="x").select(
        "x", pl.lit(0).alias("opt"), "sib", pl.col("who").alias("coord"),
        pl.lit(1).alias("sign"))
    return pl.concat([pairs, total_moves.cast(pairs.schema)]).rename(  # type: ignore[arg-type]
        {"opt": "ow", "coord": "who", "sign": "sw"})


def _what_moves(xf: pl.DataFrame, cost: np.ndarray, sp: _Space, policy: Policy,
                ) -> pl.DataFrame:
    """What: a level against another level of the same rate, "proficient or advanced"
    following when the move crosses it; a tested count with one of its levels; any other
    value on its own. Rows (x, ot, tmpl, what, st), cheapest templates first."""
    what_t = sp.what_t
    sid = {s: i for i, s in enumerate(what_t["series"].to_list())}
    templates: list[tuple[int, list[tuple[int, int]]]] = []  # (coordinate, move)
    for lp in policy.level_partitions:
        pop = policy.populations.get(lp.topic)
        names = {f"d:{pop}", *(f"n:{lp.topic}/{m}" for m in lp.measures)}
        if not names <= sid.keys() or any(c == sid[f"d:{pop}"] for c, _ in templates):
            continue
        templates += _level_templates(lp.topic, lp.measures, sid[f"d:{pop}"], sid, policy)
    # A count with one of its numerators, where no levels or sums tie the numerator to
    # others there (a group's tested count with its "proficient or advanced"; an enrolled
    # count with its attendance; a cohort with its graduates): the numerator keeps within
    # its count both ways, where the count alone could only go up, or down as far as the
    # numerator lets it (a cohort of 28 with 25 graduates, needing a range of 5).
    pairs, absent = _pair_templates(sid, policy)
    absent = {len(templates) + j: cs for j, cs in absent.items()}
    templates += pairs
    # Everything moves alone along this axis where it has no level template there.
    n_alone = len(templates)
    templates += [(i, [(i, 1)]) for i in range(what_t.height)]
    t_rows = [(c, j, coord, s) for j, (c, mv) in enumerate(templates)
              for coord, s in _net(mv).items()]
    tmpl = pl.DataFrame(t_rows, schema={"what": pl.Int64, "tmpl": pl.Int64, "coord": pl.Int64,
                                        "sign": pl.Int64}, orient="row")
    # Per value: the templates of its coordinate whose every member is movable there. A
    # level (or sum of levels) with no value there is left out of the template, not a
    # reason to refuse it: the levels are shown for All students only, so at a group a
    # level template moves the count alone, or with its "proficient or advanced". Of the
    # templates that move the value the same way there, the first is kept: in a rectangle
    # with All students (see _who_moves) it moves their levels too.
    optional = _optional(sp, policy)
    rows = xf.select("x", "fix", "geo", "who", "what").join(tmpl, on="what")
    var = sp.var_at(rows["fix"].to_numpy(), rows["geo"].to_numpy(), rows["who"].to_numpy(),
                    rows["coord"].to_numpy())
    # Each member's cost where it is movable (null where not), looked up by key.
    rows = rows.with_columns(_cost_at(cost, var)).filter(pl.Series(
        ~optional[rows["coord"].to_numpy()] | (var >= 0)))
    if absent:  # a pair template only where the numerator's levels and sums are not
        a_t = pl.DataFrame([(j, c) for j, cs in absent.items() for c in cs],
                           schema={"tmpl": pl.Int64, "a": pl.Int64}, orient="row")
        there_a = (rows.select("x", "fix", "geo", "who", "tmpl").unique()
                   .join(a_t, on="tmpl"))
        present = there_a.filter(pl.Series(sp.var_at(
            there_a["fix"].to_numpy(), there_a["geo"].to_numpy(), there_a["who"].to_numpy(),
            there_a["a"].to_numpy()) >= 0)).select("x", "tmpl").unique()
        rows = rows.join(present, on=["x", "tmpl"], how="anti")
    # What a template moves there, as one number: sum of (sign + 3) * 6^coordinate over
    # its coordinates (each once, signs within -2..2), while that fits in 64 bits.
    if sp.shape[2] <= 23:
        here = pl.Series(np.power(6, rows["coord"].to_numpy(), dtype=np.int64)) * (
            rows["sign"] + 3)
        summed = pl.col("here").sum()
    else:
        here = rows["coord"].cast(pl.String) + ":" + rows["sign"].cast(pl.String)
        summed = pl.col("here").str.join(",")
    ok = rows.with_columns(here.alias("here")).sort("x", "tmpl", "coord").group_by(
        "x", "tmpl").agg(pl.col("cost").is_not_null().all().alias("ok"),
                         pl.col("cost").sum().alias("c"), summed)
    ok = (ok.filter(pl.col("ok")).sort("x", "tmpl").unique(["x", "here"], keep="first")
          .with_columns((pl.col("tmpl") >= n_alone).alias("alone")))
    ok = (ok.filter(~pl.col("alone") | ~pl.col("alone").not_().any().over("x"))
          .sort("x", "c", "tmpl")
          .with_columns(pl.int_range(pl.len()).over("x").alias("opt"))
          .filter(pl.col("opt") < TEMPLATES))
    return xf.select("x", "what").join(tmpl, on="what").join(
        ok.select("x", "tmpl", "opt"), on=["x", "tmpl"]).select(
        "x", pl.col("opt").alias("ot"), "tmpl", pl.col("coord").alias("what"),
        pl.col("sign").alias("st"))


def _optional(sp: _Space, policy: Policy) -> np.ndarray:
    """Per "what" coordinate: whether it is a level or a sum of levels, which a template
    moves only where it is published (the levels are shown for All students only)."""
    names = {f"n:{lp.topic}/{m}" for lp in policy.level_partitions for m in lp.measures}
    names |= {f"n:{ms.topic}/{m}" for ms in policy.measure_sums for m in [ms.total, *ms.parts]}
    return np.isin(sp.what_t["series"].to_numpy(), list(names))


def _pair_templates(sid: dict[str, int], policy: Policy,
                    ) -> tuple[list[tuple[int, list[tuple[int, int]]]], dict[int, list[int]]]:
    """Moves along "what" of a count with one of its numerators, keyed by each of the two
    (the count that moves +1 with the numerator, and the numerator with the count), and,
    per move, the coordinates that must be absent at a place for it to apply there: one
    other member of each level partition and measure sum the numerator is in (where they
    are published, the numerator cannot move without them)."""
    out: list[tuple[int, list[tuple[int, int]]]] = []
    absent: dict[int, list[int]] = {}
    for topic, pop in sorted(policy.populations.items()):
        den = sid.get(f"d:{pop}")
        if den is None or topic in policy.count_topics:
            continue
        for name, n in sorted(sid.items()):
            if not name.startswith(f"n:{topic}/"):
                continue
            m = name.split("/", 1)[1]
            tied = [lp.measures for lp in policy.level_partitions if lp.topic == topic]
            tied += [[ms.total, *ms.parts] for ms in policy.measure_sums
                     if ms.topic == topic and m in [ms.total, *ms.parts]]
            others = [next((sid[f"n:{topic}/{o}"] for o in group
                            if o != m and f"n:{topic}/{o}" in sid), -1) for group in tied]
            for key in (den, n):
                absent[len(out)] = [c for c in others if c >= 0]
                out.append((key, [(den, 1), (n, 1)]))
    return out, absent


def _net(move: list[tuple[int, int]]) -> dict[int, int]:
    """A move's net sign per coordinate (a sum that gains one part and loses another does
    not move, and need not be withheld)."""
    out: dict[int, int] = {}
    for coord, sign in move:
        out[coord] = out.get(coord, 0) + sign
    return {c: s for c, s in out.items() if s}


def _level_templates(topic: str, measures: list[str], den: int, sid: dict[str, int],
                     policy: Policy) -> list[tuple[int, list[tuple[int, int]]]]:
    """Moves along "what" for one partition of a count into levels (and the sums of levels
    the policy names): (coordinate that moves +1, the whole move)."""
    totals = {m.total: set(m.parts) for m in policy.measure_sums
              if m.topic == topic and f"n:{topic}/{m.total}" in sid}
    levels = [m for m in measures if m not in totals]
    ids = {m: sid[f"n:{topic}/{m}"] for m in [*levels, *totals]}

    def follow(m: str, sign: int) -> list[tuple[int, int]]:
        return [(ids[t], sign) for t, parts in totals.items() if m in parts]

    out: list[tuple[int, list[tuple[int, int]]]] = []
    for m in levels:  # the count with one of its levels
        out.append((den, [(den, 1), (ids[m], 1), *follow(m, 1)]))
    for m in levels:  # a level against another (the same side of a sum first)
        others = sorted((o for o in levels if o != m),
                        key=lambda o: (bool(follow(o, 1)) != bool(follow(m, 1)), o))
        out += [(ids[m], [(ids[m], 1), (ids[o], -1), *follow(m, 1), *follow(o, -1)])
                for o in others]
    for t, parts in totals.items():  # a sum with one of its parts, against a level outside
        out += [(ids[t], [(ids[t], 1), (ids[p], 1), (ids[o], -1)])
                for p in sorted(parts) for o in levels if o not in parts]
    return out


def _rectangles(xf: pl.DataFrame, cost: np.ndarray, who_m: pl.DataFrame,
                what_m: pl.DataFrame, sp: _Space, policy: Policy) -> pl.DataFrame:
    """Each value's moves along who and what together, where every corner is movable at
    the value's own place: rows (x, rect, sig, fix, who, what, sign, anchor), one per
    corner. ``sig`` names the rectangle apart from its place (year and subject, the
    value's group, the partner group, the "what" move), so that it can be looked for
    elsewhere; ``anchor`` marks the value's own corner."""
    c = who_m.join(what_m, on="x").with_columns((pl.col("sw") * pl.col("st")).alias("sign"))
    c = c.join(xf.select("x", "fix", "geo", pl.col("who").alias("who_x"),
                         pl.col("what").alias("what_x")), on="x")
    # A level not published for a group there is no corner (see _what_moves): the group
    # moves as a count, or with its "proficient or advanced", where All students move
    # with a level. Which corners were left out is part of the rectangle's name.
    n_what = sp.shape[2]
    var = sp.var_at(c["fix"].to_numpy(), c["geo"].to_numpy(), c["who"].to_numpy(),
                    c["what"].to_numpy())
    gone = (var < 0) & _optional(sp, policy)[c["what"].to_numpy()]
    c = c.with_columns(pl.Series("gone", gone), _cost_at(cost, var).is_not_null().alias("m"))
    cut = (c.filter(pl.col("gone")).group_by("x", "ow", "ot")
           .agg((pl.col("who") * n_what + pl.col("what") + 1).sum().alias("cut"),
                pl.len().alias("n_cut")))
    c = c.filter(~pl.col("gone")).join(cut, on=["x", "ow", "ot"], how="left").with_columns(
        pl.col("cut").fill_null(0), pl.col("n_cut").fill_null(0))
    full = (c.group_by("x", "ow", "ot").agg(pl.col("m").all().alias("full"))
            .filter(pl.col("full")))
    c = c.join(full.select("x", "ow", "ot"), on=["x", "ow", "ot"])
    # (Ranks of the key columns by one sort, not of a polars struct: 2.3 s a full search.)
    k = {name: c[name].to_numpy() for name in ("x", "ow", "ot", "fix", "who_x", "sib", "tmpl",
                                                "cut", "n_cut")}
    return c.with_columns(
        pl.Series("sig", dense_rank(k["fix"], k["who_x"], k["sib"], k["tmpl"], k["cut"],
                                    k["n_cut"])),
        pl.Series("rect", dense_rank(k["ow"], k["ot"], within=k["x"])),
        ((pl.col("who") == pl.col("who_x")) & (pl.col("what") == pl.col("what_x")))
        .alias("anchor"),
    ).select("x", "rect", "sig", "fix", "who", "what", "sign", "anchor")


def _cost_at(cost: np.ndarray, var: np.ndarray) -> pl.Series:
    """The column "cost": each variable's cost where it is movable, null where it is not
    (or where there is no variable: ``var`` -1); by lookup, not a join with ``mov`` on
    four coordinates (3 s a full-state search)."""
    at = np.where(var >= 0, cost[np.maximum(var, 0)], np.nan)
    return pl.Series("cost", at).fill_nan(None)


def _have(rects: pl.DataFrame, mov: pl.DataFrame, cost: np.ndarray, xf: pl.DataFrame,
          sp: _Space) -> pl.DataFrame:
    """The places where each rectangle of ``rects`` is movable, all its corners, among those
    :func:`_place_moves` can use: every district (it ranks them), and every school of the
    districts it looks in (the values' own districts and its best PLACES + 1 for each
    rectangle). Rows (sig, geo, dgeo, level, value (its anchor's), cost (of its corners)).

    Places are checked by looking each corner up in the dense key space, not by joining
    corners with every place that holds them (over the full state that join took 26 s and
    14 GB for 20,000 values; this, 3 s and under 1 GB)."""
    corners = rects.select("sig", "fix", "who", "what", "anchor").unique(
        ["sig", "who", "what"]).sort("sig", "who", "what")
    sigs, c_sig = np.unique(corners["sig"].to_numpy(), return_inverse=True)
    ptr = np.searchsorted(c_sig, np.arange(len(sigs) + 1))
    c = _Corners(ptr, corners["fix"].to_numpy(), corners["who"].to_numpy(),
                 corners["what"].to_numpy(), corners["anchor"].to_numpy())
    value = np.zeros(len(sp.fix))
    value[mov["x"].to_numpy()] = mov["value"].to_numpy()
    d_rows = _best_districts(c, sp, cost, value, PLACES + 1)
    # Schools of the districts _place_moves looks in, and those districts themselves.
    at = rects.select("x", "sig").unique().join(xf.select("x", "geo", "dgeo", "level"), on="x")
    s_of = np.searchsorted(sigs, at["sig"].to_numpy())
    lvl = at["level"].to_numpy()
    own = np.where(lvl == "district", at["geo"].to_numpy(), at["dgeo"].to_numpy())
    keep = own >= 0
    look_s = np.r_[s_of[keep], d_rows[0]]
    look_d = np.r_[own[keep], d_rows[1]]
    # Distinct (rectangle, district) pairs, sorted: as one integer key (np.unique by rows
    # sorts them as bytes, several times slower).
    n_geo = sp.shape[0]
    pair = np.unique(look_s.astype(np.int64) * n_geo + look_d)
    look = np.c_[pair // n_geo, pair % n_geo]
    sch_ptr, sch = sp.schools
    n_sch = sch_ptr[look[:, 1] + 1] - sch_ptr[look[:, 1]]
    rep = np.repeat(np.arange(len(look)), n_sch)
    offs = np.arange(len(rep)) - np.repeat(np.cumsum(n_sch) - n_sch, n_sch)
    pair_s = np.r_[look[rep, 0], look[:, 0]]
    pair_g = np.r_[sch[sch_ptr[look[rep, 1]] + offs], look[:, 1]]
    rows = [d_rows]
    for a in range(0, len(pair_s), _PAIRS):
        rows.append(_check(pair_s[a:a + _PAIRS], pair_g[a:a + _PAIRS], c, sp, cost, value))
    s_, g_, v_, k_ = _concat_pairs(rows)
    return pl.DataFrame({
        "sig": sigs[s_], "geo": g_, "dgeo": sp.dgeo[g_], "level": sp.geo_level[g_],
        "value": v_, "cost": k_}).unique(["sig", "geo"])


@dataclass
class _Corners:
    """Rectangles' corners, grouped by rectangle (CSR by ``ptr``)."""

    ptr: np.ndarray
    fix: np.ndarray
    who: np.ndarray
    what: np.ndarray
    anchor: np.ndarray


def _check(ps: np.ndarray, pg: np.ndarray, c: _Corners, sp: _Space, cost: np.ndarray,
           value: np.ndarray) -> tuple[np.ndarray, ...]:
    """The (rectangle, place) pairs where every corner is movable (``cost`` not NaN), with
    the anchor corner's value and the corners' summed cost: (rects, places, values, costs)."""
    if not len(ps):
        return ps, pg, np.zeros(0), np.zeros(0)
    k = c.ptr[ps + 1] - c.ptr[ps]
    start = np.cumsum(k) - k
    ci = np.repeat(c.ptr[ps] - start, k) + np.arange(int(k.sum()))
    var = sp.var_at(c.fix[ci], np.repeat(pg, k), c.who[ci], c.what[ci])
    kc = np.where(var >= 0, cost[var], np.nan)
    ok = np.logical_and.reduceat(~np.isnan(kc), start)
    total = np.add.reduceat(np.nan_to_num(kc), start)
    anchor = np.add.reduceat(np.where(c.anchor[ci] & (var >= 0), value[var], 0.0), start)
    return ps[ok], pg[ok], anchor[ok], total[ok]


def _best_districts(c: _Corners, sp: _Space, cost: np.ndarray, value: np.ndarray,
                    n: int) -> tuple[np.ndarray, ...]:
    """For each rectangle, the ``n`` districts where it is movable that :func:`_ranked`
    puts first (cheapest, then most students, then the smallest place): (rects, places,
    values, costs). A matrix of coordinates by districts (every corner is one of a few
    thousand coordinates), summed over each rectangle's corners, block by block."""
    districts = np.flatnonzero(sp.geo_level == "district")
    stride = sp.shape[1] * sp.shape[2]  # from one place's key to the next place's
    u, c_u = np.unique(sp.key(c.fix, np.zeros_like(c.fix), c.who, c.what),
                       return_inverse=True)
    key = u[:, None] + districts[None, :] * stride
    var = sp.dense[key]
    cost_at = np.where(var >= 0, cost[var], np.nan)
    value_at = np.where(var >= 0, value[var], 0.0)
    anchor_u = c_u[c.anchor]  # one anchor corner per rectangle, in rectangle order
    n_rect = len(c.ptr) - 1
    # Rectangles by coordinates (how many corners each has at each), times the matrix: the
    # same sums, added in the same order, without gathering every corner's row of districts
    # first (NaN, not movable, stays NaN).
    R = csr_matrix((np.ones(len(c_u)), c_u, c.ptr), shape=(n_rect, len(u)))
    out = []
    block = max(1, _PAIRS // max(len(districts), 1))
    for a in range(0, n_rect, block):
        b = min(a + block, n_rect)
        total = R[a:b] @ cost_at
        val = value_at[anchor_u[a:b]]
        # Sort each row by (cost, -value, district): stable sorts, last key first.
        by_v = np.argsort(-val, axis=1, kind="stable")
        by_c = np.argsort(np.take_along_axis(total, by_v, axis=1), axis=1, kind="stable")
        order = np.take_along_axis(by_v, by_c, axis=1)[:, :n]
        k_ = np.take_along_axis(total, order, axis=1)
        ok = ~np.isnan(k_)
        rows = np.broadcast_to(np.arange(a, b)[:, None], order.shape)
        out.append((rows[ok], districts[order[ok]],
                    np.take_along_axis(val, order, axis=1)[ok], k_[ok]))
    return _concat_pairs(out)


def _concat_pairs(parts: Sequence[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    if not parts:
        return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(4))


def _place_moves(xf: pl.DataFrame, rects: pl.DataFrame, have: pl.DataFrame) -> pl.DataFrame:
    """Moves along "where" for each value's rectangles: the school against a sibling school
    of its district with the same rectangle movable; or the school or district (with its
    own district, or one of its schools) against another district with one of its schools,
    the rectangle movable at each. Rows (x, rect, place, geo, sign)."""
    at = rects.select("x", "rect", "sig").unique().join(
        xf.select("x", "geo", "dgeo", "level"), on="x")
    h = have.rename({"geo": "x"})  # _ranked breaks ties by "x"
    schools = _ranked(h.filter(pl.col("level") == "school"), ["sig", "dgeo"],
                      PLACES + 1).rename({"x": "geo"})
    own = schools.filter(pl.col("rank") == 0).select("sig", pl.col("dgeo").alias("d"),
                                                     pl.col("geo").alias("d_school"))
    districts = _ranked(h.filter(pl.col("level") == "district"), ["sig"],
                        PLACES + 1).rename({"x": "d"}).join(
        own, on=["sig", "d"], how="left").select("sig", "d", "d_school", "rank")
    x_school = at.filter(pl.col("level") == "school")
    inside = (x_school.join(schools.select("sig", "dgeo", pl.col("geo").alias("sib"), "rank"),
                            on=["sig", "dgeo"])
              .filter(pl.col("sib") != pl.col("geo")).sort("x", "rect", "rank")
              .with_columns(pl.int_range(pl.len()).over("x", "rect").alias("place"))
              .filter(pl.col("place") < PLACES))
    # Across districts: the value's own district must have the rectangle movable too.
    with_rect = have.filter(pl.col("level") == "district").select(
        "sig", pl.col("geo").alias("dgeo"))
    mine_s = x_school.join(with_rect, on=["sig", "dgeo"]).select(
        "x", "rect", "sig", pl.col("geo").alias("mine"), pl.col("dgeo").alias("mine_d"))
    mine_d = at.filter(pl.col("level") == "district").join(
        own.rename({"d": "geo"}), on=["sig", "geo"], how="left").select(
        "x", "rect", "sig", pl.col("d_school").alias("mine"), pl.col("geo").alias("mine_d"))
    # (A district moves with one of its schools, or the schools-in-district sum breaks.)
    across = (pl.concat([mine_s, mine_d]).join(
        districts.rename({"d": "other", "d_school": "other_s"}), on="sig")
        .filter((pl.col("other") != pl.col("mine_d")) & pl.col("mine").is_not_null()
                & pl.col("other_s").is_not_null()).sort("x", "rect", "rank")
        .with_columns((pl.int_range(pl.len()).over("x", "rect") + PLACES).alias("place"))
        .filter(pl.col("place") < 2 * PLACES))
    return pl.concat([
        _as_moves(inside, [("geo", 1), ("sib", -1)], "place", ("rect",)),
        _as_moves(across, [("mine", 1), ("mine_d", 1), ("other", -1), ("other_s", -1)],
                  "place", ("rect",)),
    ]).rename({"coord": "geo"})


def _reach(D: csr_matrix, A: csr_matrix, at_x0: np.ndarray, x0: np.ndarray,
           lp: _audit.WithheldLP) -> tuple[np.ndarray, np.ndarray]:
    """How far each cube (a row of ``D``) can move up and down from ``x0`` (whole steps;
    -1 where it breaks an equality)."""
    n = D.shape[0]
    up = np.full(n, np.inf)
    dn = np.full(n, np.inf)
    # Bounds of the corners.
    Dc = D.tocoo()
    s, c = Dc.data, Dc.col
    room_hi = (lp.hi[c] - x0[c]) / np.abs(s)
    room_lo = (x0[c] - lp.lo[c]) / np.abs(s)
    np.minimum.at(up, Dc.row, np.where(s > 0, room_hi, room_lo))
    np.minimum.at(dn, Dc.row, np.where(s > 0, room_lo, room_hi))
    # Rows: equalities must not move; inequalities have slack.
    R = (D @ A.T).tocoo()
    nz = np.abs(R.data) > 1e-9
    r, a, rows = R.row[nz], R.data[nz], R.col[nz]
    eq = lp.rlo[rows] == lp.rhi[rows]
    broken = np.zeros(n, bool)
    broken[r[eq]] = True
    sl_hi = (lp.rhi[rows] - at_x0[rows])
    sl_lo = (at_x0[rows] - lp.rlo[rows])
    lim_up = np.where(a > 0, sl_hi / a, sl_lo / -a)
    lim_dn = np.where(a > 0, sl_lo / a, sl_hi / -a)
    np.minimum.at(up, r[~eq], lim_up[~eq])
    np.minimum.at(dn, r[~eq], lim_dn[~eq])
    up = np.floor(np.maximum(up, 0) + 1e-9)
    dn = np.floor(np.maximum(dn, 0) + 1e-9)
    up[broken] = dn[broken] = -1
    return up, dn


def _two_cubes(xs: np.ndarray, var: np.ndarray, sign: np.ndarray, c_row: np.ndarray,
               up: np.ndarray, dn: np.ndarray, required: np.ndarray,
               proven: np.ndarray) -> list[int]:
    """Values of ``xs`` no single cube proves, proven by two: the cube that moves the value
    furthest up and the one that moves it furthest down are two feasible points, as far
    apart in the value as the two reaches added. Marks what they prove; returns the cubes
    (rows, each at most once, smallest first)."""
    want = np.zeros(len(proven), bool)
    want[xs[~proven[xs]]] = True
    m = want[var] & (up[c_row] >= 0)
    if not m.any():
        return []
    v, s, r = var[m], sign[m], c_row[m]
    mag = np.abs(s).astype(float)
    reach_up = np.where(s > 0, up[r], dn[r]) * mag
    reach_dn = np.where(s > 0, dn[r], up[r]) * mag
    best = {}
    for name, reach in (("up", reach_up), ("dn", reach_dn)):
        order = np.lexsort((r, -reach, v))  # per value: furthest first, then smallest cube
        first = np.r_[True, v[order][1:] != v[order][:-1]]
        best[name] = (v[order][first], reach[order][first], r[order][first])
    vals, ups, cu = best["up"]
    _, dns, cd = best["dn"]  # same values, same order
    ok = ups + dns >= required[vals]
    proven[vals[ok]] = True
    return sorted(set(cu[ok].tolist()) | set(cd[ok].tolist()))


def _pick(owner: np.ndarray, var: np.ndarray, sign: np.ndarray, c_row: np.ndarray,
          up: np.ndarray, dn: np.ndarray, required: np.ndarray, proven: np.ndarray,
          corner_cost: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """For each value not yet ``proven``, in order: of its cubes that prove it, the one with
    the least cost, then proving the most corners, then the smallest. Marks what each
    pick proves; returns the picks as (cube row, vars, signs). Corner rows are sorted by
    cube (``c_row``)."""
    n = len(up)
    width = up + dn
    corner_ok = (up[c_row] >= 0) & (width[c_row] >= required[var])
    n_ok = np.bincount(c_row, weights=corner_ok, minlength=n)
    size = np.bincount(c_row, minlength=n)
    price = np.bincount(c_row, weights=corner_cost, minlength=n)
    proves_owner = np.zeros(n, bool)
    proves_owner[c_row[corner_ok & (var == owner)]] = True
    cube_owner = np.zeros(n, np.int64)
    cube_owner[c_row] = owner
    best = np.lexsort((np.arange(n), size, -n_ok, price, cube_owner))
    best = best[proves_owner[best]]
    first = np.r_[True, cube_owner[best][1:] != cube_owner[best][:-1]] if len(best) else best
    starts = np.searchsorted(c_row, np.arange(n + 1))
    out = []
    for ci in best[first]:
        if proven[cube_owner[ci]]:
            continue
        a, b = starts[ci], starts[ci + 1]
        proven[var[a:b][corner_ok[a:b]]] = True
        out.append((int(ci), var[a:b], sign[a:b]))
    return out

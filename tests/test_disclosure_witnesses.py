"""Witnesses: the LP points that proved protect()'s pattern, kept so that the gate's audit
checks those proofs instead of searching for them again. A witness is only ever a candidate:
the audit checks every point against every published number, so a witness cannot make a
leak pass."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy.sparse import csc_matrix
from scipy.sparse import random as sparse_random

from site_builder.disclosure import audit as audit_mod
from site_builder.disclosure import audit_published, load_policy, protect
from site_builder.disclosure.relations import build_system, with_population
from site_builder.disclosure.toy import toy_state
from tests.test_disclosure_properties import write_csv

POLICY = load_policy()


LARGE = {"LARGE_COMPONENT": 5, "EXACT_LIMIT": 0}
"""The toy state's linked groups are small; treat them like a state's large ones, which are
proven by points (and so have witnesses), with no exact fallback."""


def _raw() -> pl.DataFrame:
    return toy_state(2, n_districts=2, schools=(2, 3), size=(4.0, 0.6))


@pytest.fixture
def every_group_large(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in LARGE.items():
        monkeypatch.setattr(audit_mod, name, value)


@pytest.fixture(scope="module")
def protected() -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in LARGE.items():
            mp.setattr(audit_mod, name, value)
        raw = _raw()
        witnesses: dict = {}
        pub = protect(raw, POLICY, witnesses=witnesses)
    return raw, pub, witnesses


def _leak(raw: pl.DataFrame, pub: pl.DataFrame, tmp_path: Path) -> Path:
    """A CSV with one complementary count published again (everywhere it appears): the first
    one whose publication the exact audit (this small state's groups solved exactly, no
    witnesses) confirms as a disclosure."""
    victims = pub.filter((pl.col("reason") == "complementary")
                         & (pl.col("topic") == "enrollment"))
    with pytest.MonkeyPatch.context() as mp:  # the toy state's groups, solved exactly
        mp.setattr(audit_mod, "LARGE_COMPONENT", 10**9)
        mp.setattr(audit_mod, "EXACT_LIMIT", 10**9)
        for victim in victims.head(20).iter_rows(named=True):
            same = pl.all_horizontal([pl.col(k) == victim[k] for k in
                                      ("level", "district_code", "school_code", "grade",
                                       "group_family", "student_group")])
            true_n = raw.filter(same & (pl.col("topic") == "enrollment"))["n_students"][0]
            leak = write_csv(pub.with_columns(
                pl.when(same & pl.col("topic").is_in(["enrollment", "attendance"]))
                .then(pl.lit(true_n)).otherwise(pl.col("n_students")).alias("n_students")),
                tmp_path / "leak.csv")
            rep = audit_published([leak], POLICY)
            if {f.kind for f in rep.failures} & {"exact", "approximate", "derived_group"}:
                return leak
    raise AssertionError("no complement of the toy state is needed: nothing to test")


def test_the_gate_checks_protects_proofs_instead_of_finding_them(
        tmp_path: Path, protected: tuple, every_group_large: None,
        caplog: pytest.LogCaptureFixture) -> None:
    raw, pub, witnesses = protected
    assert set(witnesses) == {2024} and len(witnesses[2024]) > 0
    path = write_csv(pub, tmp_path / "pub.csv")  # read back from disk, as the gate does
    without = audit_published([path], POLICY, hint=raw)
    caplog.clear()
    with caplog.at_level("INFO", logger=audit_mod.__name__):
        given = audit_published([path], POLICY, hint=raw, witnesses=witnesses)
    assert without.ok and given.ok, given.render(limit=5)
    held = [r.getMessage() for r in caplog.records if "witnesses hold" in r.getMessage()]
    assert held and all(m.endswith("0 values left to prove in " + m.split(" in ")[-1])
                        for m in held), held
    assert given.n_lp_solves < without.n_lp_solves


def test_a_witness_cannot_make_a_leak_pass(tmp_path: Path, protected: tuple,
                                           every_group_large: None) -> None:
    raw, pub, witnesses = protected
    leak = _leak(raw, pub, tmp_path)
    rep = audit_published([leak], POLICY, hint=raw, witnesses=witnesses)
    assert not rep.ok
    assert {f.kind for f in rep.failures} & {"exact", "approximate", "unproven",
                                             "derived_group"}


def test_forged_witnesses_are_checked_and_ignored(tmp_path: Path, protected: tuple,
                                                  every_group_large: None,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    raw, pub, witnesses = protected
    w = witnesses[2024]
    mv, md, pm, pw = w.lists()
    # Moves 1,000 times too far: no such point meets the published numbers.
    forged = audit_mod.Witnesses.of(w.fingerprint, mv, [d * 1000 for d in md], pm, pw)
    path = write_csv(pub, tmp_path / "pub.csv")
    with caplog.at_level("INFO", logger=audit_mod.__name__):
        rep = audit_published([path], POLICY, hint=raw, witnesses={2024: forged})
    assert rep.ok  # proven again from scratch
    held = [r.getMessage() for r in caplog.records if "witnesses hold" in r.getMessage()]
    assert held and all(m.split(": ")[1].startswith("0 of ") for m in held), held
    # One value of each move alone, by one student: inside its bounds, but the relations it
    # is in no longer add up.
    caplog.clear()
    alone = audit_mod.Witnesses.of(w.fingerprint, [v[:1] for v in mv],
                                   [np.sign(d[:1]) for d in md], pm, [np.sign(x) for x in pw])
    with caplog.at_level("INFO", logger=audit_mod.__name__):
        assert audit_published([path], POLICY, hint=raw, witnesses={2024: alone}).ok
    held = [r.getMessage() for r in caplog.records if "witnesses hold" in r.getMessage()]
    assert held and all(m.split(": ")[1].startswith("0 of ") for m in held), held
    # Witnesses of another system (another fingerprint) are not even looked at.
    caplog.clear()
    other = audit_mod.Witnesses.of("not this system", mv, md, pm, pw)
    with caplog.at_level("INFO", logger=audit_mod.__name__):
        assert audit_published([path], POLICY, hint=raw, witnesses={2024: other}).ok
    assert not [r for r in caplog.records if "witnesses hold" in r.getMessage()]


SMALL = {"n_districts": 4, "schools": (2, 4), "size": (4.0, 0.6)}
"""A toy state whose linked groups are mostly small (under LARGE_COMPONENT, as it is), some of
them proven wholly by protect()'s cube witnesses."""


@pytest.fixture(scope="module")
def protected_small() -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    raw = toy_state(2, **SMALL)  # type: ignore[arg-type]
    witnesses: dict = {}
    pub = protect(raw, POLICY, witnesses=witnesses)
    return raw, pub, witnesses


def test_small_groups_that_witnesses_prove_need_no_lp(tmp_path: Path,
                                                      protected_small: tuple) -> None:
    """A small linked group (solved exactly, not proven by points) whose every value a
    witness point proves wide enough is not solved again: the gate's audit of a full-state
    year went from 2,386 LP solves to 224. protect() keeps those points for the gate."""
    raw, pub, witnesses = protected_small
    path = write_csv(pub, tmp_path / "pub.csv")
    without = audit_published([path], POLICY, hint=raw)
    given = audit_published([path], POLICY, hint=raw, witnesses=witnesses)
    assert without.ok and given.ok, given.render(limit=5)
    assert given.n_components == without.n_components
    assert given.n_lp_solves < without.n_lp_solves
    # The points that proved those groups come back out, for the next audit.
    again = audit_published([path], POLICY, hint=raw, witnesses=given.witnesses)
    assert again.ok and again.n_lp_solves == given.n_lp_solves


def test_a_witness_cannot_make_a_leak_pass_in_a_small_group(tmp_path: Path,
                                                            protected_small: tuple) -> None:
    raw, pub, witnesses = protected_small
    leak = _leak(raw, pub, tmp_path)
    rep = audit_published([leak], POLICY, hint=raw, witnesses=witnesses)
    assert not rep.ok
    assert {f.kind for f in rep.failures} & {"exact", "approximate", "derived_group"}


def test_forged_witnesses_of_small_groups_are_checked_and_ignored(
        tmp_path: Path, protected_small: tuple) -> None:
    raw, pub, witnesses = protected_small
    w = witnesses[2024]
    mv, md, pm, pw = w.lists()
    path = write_csv(pub, tmp_path / "pub.csv")
    without = audit_published([path], POLICY, hint=raw)
    # Moves 1,000 times too far, or one value of each move alone by one student (inside its
    # bounds, but its relations no longer add up): no such point counts, so every small
    # group is solved as without witnesses.
    for forged in (audit_mod.Witnesses.of(w.fingerprint, mv, [d * 1000 for d in md], pm, pw),
                   audit_mod.Witnesses.of(w.fingerprint, [v[:1] for v in mv],
                                          [np.sign(d[:1]) for d in md], pm,
                                          [np.sign(x) for x in pw])):
        rep = audit_published([path], POLICY, hint=raw, witnesses={2024: forged})
        assert rep.ok and rep.n_lp_solves == without.n_lp_solves


def test_an_audit_given_its_system_reports_what_it_reports_building_it(
        tmp_path: Path, protected: tuple, every_group_large: None) -> None:
    """protect()'s rounds hand the audit the system they built (the same cells every round)
    instead of its building it again: the same failures, proofs and witnesses either way,
    for a passing pattern and a leaking one; a system of other rows is refused."""
    raw, pub, witnesses = protected
    leaked = audit_mod.read_published([_leak(raw, pub, tmp_path)])
    for frame in (pub, leaked):
        cells = with_population(frame, POLICY)
        system = build_system(cells, POLICY)
        given = (system, audit_mod.hint_values(cells, system, raw))
        a = audit_mod.audit_cells(frame, POLICY, hint=raw, witnesses=witnesses)
        b = audit_mod.audit_cells(frame, POLICY, hint=raw, witnesses=witnesses, system=given)
        assert [(f.kind, f.var_id, f.low, f.high) for f in a.failures] == [
            (f.kind, f.var_id, f.low, f.high) for f in b.failures]
        assert a.n_lp_solves == b.n_lp_solves
        assert a.witnesses[2024].digest() == b.witnesses[2024].digest()
    assert not audit_mod.audit_cells(leaked, POLICY, hint=raw, system=given).ok
    with pytest.raises(ValueError, match="not that of these cells"):
        audit_mod.audit_cells(frame.reverse(), POLICY, system=given)


@pytest.mark.parametrize("large", [False, True], ids=["small groups", "large groups"])
def test_an_audit_proves_again_only_what_is_not_settled(
        tmp_path: Path, protected: tuple, large: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """protect()'s later rounds tell the audit which values an earlier round proved
    (``settled``): no LP looks at those again, and every other value is checked as before.
    So a leak in a value not settled is caught, and the same leak called settled is not
    (which is why the publication gate never passes ``settled``). In small linked groups
    (solved exactly) and in large ones (proven by points)."""
    raw, pub, _ = protected
    leaked = audit_mod.read_published([_leak(raw, pub, tmp_path)])
    if large:
        for name, value in LARGE.items():
            monkeypatch.setattr(audit_mod, name, value)
    cells = with_population(leaked, POLICY)
    system = build_system(cells, POLICY)
    given = (system, audit_mod.hint_values(cells, system, raw))
    full = audit_mod.audit_cells(leaked, POLICY, system=given)
    bad = np.array(sorted({f.var_id for f in full.failures if f.var_id is not None}))
    assert len(bad) and full.n_lp_solves > 0
    withheld = ~audit_mod._knowledge(cells, system, POLICY).known
    others = withheld.copy()
    others[bad] = False
    rest = audit_mod.audit_cells(leaked, POLICY, system=given, settled=others)
    assert sorted({f.var_id for f in rest.failures if f.var_id is not None}) == bad.tolist()
    assert 0 < rest.n_lp_solves < full.n_lp_solves
    none = audit_mod.audit_cells(leaked, POLICY, system=given, settled=withheld)
    assert not [f for f in none.failures if f.var_id is not None]
    assert none.n_lp_solves == 0
    with pytest.raises(ValueError, match="settled needs the system"):
        audit_mod.audit_cells(leaked, POLICY, settled=withheld)


def test_witness_files_are_restricted_and_read_back_whole(tmp_path: Path,
                                                          protected: tuple) -> None:
    from site_builder.store import write_witnesses

    _, _, witnesses = protected
    paths = write_witnesses(witnesses, tmp_path / "agg")
    assert [p.name for p in paths] == list(audit_mod.WITNESS_FILES)
    for p in paths:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "agg").stat().st_mode) == 0o700
    back = audit_mod.read_witnesses(tmp_path / "agg")
    a, b = witnesses[2024], back[2024]
    assert a.fingerprint == b.fingerprint and len(a) == len(b)
    assert a.n_moves == b.n_moves and a.digest() == b.digest()
    for x, y in zip(a.lists(), b.lists(), strict=True):
        assert len(x) == len(y) and all(np.array_equal(u, v) for u, v in zip(x, y, strict=True))


def test_witnesses_with_empty_moves_and_points_are_read_back_whole(tmp_path: Path) -> None:
    """A move that moves nothing and a point of no moves (both can be recorded) survive the
    files: a list column's empty list must not become a missing value, or shift the rest."""
    from site_builder.store import write_witnesses

    i, f = np.int64, np.float64
    w = audit_mod.Witnesses.of(
        "fp", [np.array([3, 5], i), np.array([], i), np.array([7], i)],
        [np.array([1.0, -1.0]), np.array([], f), np.array([2.0])],
        [np.array([0, 2], i), np.array([], i), np.array([1], i)],
        [np.array([0.5, 1.5]), np.array([], f), np.array([3.0])])
    write_witnesses({2023: w, 2024: audit_mod.Witnesses("fp")}, tmp_path)
    back = audit_mod.read_witnesses(tmp_path)
    assert back[2023].digest() == w.digest()
    assert [m.tolist() for m in back[2023].lists()[0]] == [[3, 5], [], [7]]
    assert [p.tolist() for p in back[2023].lists()[2]] == [[0, 2], [], [1]]


def test_the_gate_with_witnesses_and_its_audit_cache(tmp_path: Path, protected: tuple,
                                                     every_group_large: None) -> None:
    """The publication gate's own path: witnesses read back from beside the raw cells, the
    audit's verdict kept in the cache under a key that covers the witnesses, and reused for
    the same cells and witnesses only. (A key built from the witnesses' CSV text crashed the
    gate of every state with large linked groups: CSV cannot hold their lists.)"""
    from site_builder.gate import run_gate
    from site_builder.gate.audit_cache import year_key
    from site_builder.store import write_witnesses

    raw, pub, witnesses = protected
    agg = tmp_path / "agg"
    write_witnesses(witnesses, agg)
    raw.write_parquet(agg / "cells.parquet")
    site = tmp_path / "site"
    (site / "downloads").mkdir(parents=True)
    write_csv(pub, site / "downloads" / "state.csv")
    policy = Path(__file__).parents[1] / "report_specs" / "policy.yaml"
    cache = tmp_path / "cache"
    runs = [run_gate(site, policy=policy, raw_cells=agg / "cells.parquet", audit_cache=cache)
            for _ in range(2)]
    assert all(r.ok for r in runs), runs[0].render()
    assert "audit cache" not in runs[0].notes[-1] and "audit cache" in runs[1].notes[-1]
    w = witnesses[2024]
    mv, md, pm, pw = w.lists()
    fewer = audit_mod.Witnesses.of(w.fingerprint, mv, md, pm[:-1], pw[:-1])
    year = pub.filter(pl.col("year") == 2024)
    assert len({year_key(year, raw, POLICY, x) for x in (None, w, fewer)}) == 3
    assert year_key(year, raw, POLICY, w) == year_key(year, raw, POLICY,
                                                     audit_mod.read_witnesses(agg)[2024])


def test_witnesses_are_deterministic(tmp_path: Path, protected: tuple,
                                     every_group_large: None) -> None:
    from site_builder.store import write_witnesses

    raw, _, first = protected
    again: dict = {}
    protect(raw, POLICY, witnesses=again)
    a = [p.read_bytes() for p in write_witnesses(first, tmp_path / "a")]
    b = [p.read_bytes() for p in write_witnesses(again, tmp_path / "b")]
    assert a == b


@pytest.mark.parametrize("cap, proven", [(10**6, True), (1, False)])
def test_a_thorough_audit_solves_exactly_only_over_groups_up_to_a_size(
        monkeypatch: pytest.MonkeyPatch, cap: int, proven: bool) -> None:
    """x + y = 10 with both withheld: each can be 0..10, and 7 is required. With the
    random directions switched off, the passes before the exact one find at most one point
    besides (4, 6) (a vertex: a spread of 4 or 6), so only the thorough audit's exact LP
    proves the range, and only for a group of at most EXACT_LARGE_COLUMNS columns; a
    larger group's values are left unproven (protect() then withholds more near them),
    never passed without a proof."""
    from scipy.sparse import csc_matrix

    for name in ("LOCAL_ROUNDS", "TRADE_ROUNDS", "ALONE_COUNT", "EXACT_LIMIT",
                 "REGION_EXACT_COUNT"):
        monkeypatch.setattr(audit_mod, name, 0)
    monkeypatch.setattr(audit_mod, "EXACT_LARGE_COLUMNS", cap)
    A = csc_matrix(np.array([[1.0, 1.0]]))
    mn, mx, _, unproven = audit_mod._prove_large(
        A, np.zeros(2), np.full(2, 10.0), np.array([10.0]), np.array([10.0]),
        np.array([7, 7]), np.array([4.0, 6.0]), np.zeros(2, np.int64),
        np.random.default_rng(0), thorough=True)
    if proven:
        assert mn.tolist() == [0.0, 0.0] and mx.tolist() == [10.0, 10.0]
        assert not unproven.any()
    else:
        assert (np.floor(mx) - np.ceil(mn) < 7).all()
        assert unproven.all()


@pytest.mark.parametrize("cap", [10**6, 1])
def test_a_thorough_audit_runs_the_neighbourhood_passes_only_up_to_that_size(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, cap: int) -> None:
    """The same group: under the cap the single-value neighbourhood pass runs (and proves
    it); over it the pass is skipped (it took minutes at full scale and proved nothing),
    and the values are left unproven."""
    from scipy.sparse import csc_matrix

    for name in ("LOCAL_ROUNDS", "TRADE_ROUNDS", "EXACT_LIMIT", "EXACT_LARGE_COUNT",
                 "WHOLE_GROUP_COLUMNS", "REGION_EXACT_COUNT"):  # (no quick exact pass either)
        monkeypatch.setattr(audit_mod, name, 0)
    monkeypatch.setattr(audit_mod, "EXACT_LARGE_COLUMNS", cap)
    A = csc_matrix(np.array([[1.0, 1.0]]))
    with caplog.at_level("INFO", logger=audit_mod.__name__):
        _, _, _, unproven = audit_mod._prove_large(
            A, np.zeros(2), np.full(2, 10.0), np.array([10.0]), np.array([10.0]),
            np.array([7, 7]), np.array([4.0, 6.0]), np.zeros(2, np.int64),
            np.random.default_rng(0), thorough=True)
    ran = [r.getMessage() for r in caplog.records if "neighbourhoods proved" in r.getMessage()]
    if cap > 2:
        assert ran and not unproven.any(), ran
    else:
        assert not ran and unproven.all(), ran


def _points_by_group_loop(w: audit_mod.Witnesses, comp: np.ndarray,
                          large: np.ndarray) -> dict[int, list[dict[int, float]]]:
    """What ``_by_group`` must give, one point at a time: each point as {column in its
    group: total move}."""
    local = np.zeros(len(comp), np.int64)
    for lab in large:
        local[comp == lab] = np.arange(int((comp == lab).sum()))
    out: dict[int, list[dict[int, float]]] = {}
    move_vars, move_deltas, point_moves, point_weights = w.lists()
    for mids, weights in zip(point_moves, point_weights, strict=True):
        moves = [move_vars[m] for m in mids]
        if not moves or not len(moves[0]) or moves[0][0] < 0:
            continue
        g = int(comp[moves[0][0]])
        if g not in set(large.tolist()) or any(
                ((v < 0) | (comp[np.maximum(v, 0)] != g)).any() for v in moves):
            continue
        point: dict[int, float] = {}
        for m, weight in zip(mids, weights, strict=True):
            for v, d in zip(move_vars[m], move_deltas[m], strict=True):
                point[int(local[v])] = point.get(int(local[v]), 0.0) + weight * d
        out.setdefault(g, []).append(point)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_witness_points_go_to_their_groups_as_one_at_a_time(seed: int) -> None:
    """The audit hands each large group the witness points that move only its values, in
    its own column numbers (vectorised): the same points as taking them one by one, with
    points that cross groups, move a value outside the LP (-1) or move nothing left out."""
    rng = np.random.default_rng(seed)
    n = 60
    comp = rng.integers(0, 4, n)
    large = np.array([0, 2, 3])
    moves, deltas = [], []
    for _ in range(80):
        k = int(rng.integers(0, 4))  # some moves move nothing
        g = int(rng.integers(0, 4))
        pool = np.flatnonzero(comp == g) if rng.random() < 0.8 else np.arange(n)
        v = np.sort(rng.choice(pool, min(k, len(pool)), replace=False)).astype(np.int64)
        if rng.random() < 0.05 and len(v):
            v[0] = -1  # a value this LP does not have
        moves.append(v)
        deltas.append(rng.normal(size=len(v)))
    pts = [np.sort(rng.choice(80, int(rng.integers(0, 4)), replace=False)).astype(np.int64)
           for _ in range(150)]
    w = audit_mod.Witnesses.of("", moves, deltas, pts, [rng.normal(size=len(p)) for p in pts])
    got = audit_mod._by_group(w, comp, large)
    want = _points_by_group_loop(w, comp, large)
    assert sorted(got) == sorted(want) and want
    for g, wg in got.items():
        as_points = _points_by_group_loop(
            wg, np.full(int((comp == g).sum()), g), np.array([g]))[g] if len(wg) else []
        assert len(as_points) == len(want[g])
        for a, b in zip(as_points, want[g], strict=True):
            assert a.keys() == b.keys()
            assert all(np.isclose(a[k], b[k]) for k in a)


@pytest.mark.parametrize("seed", range(4))
def test_a_local_points_check_is_the_check_of_any_point(seed: int) -> None:
    """A local LP's point is checked by one product over the LP's rows instead of looking
    up the rows each moved value is in: the same verdict and the same point as the general
    check, for points that hold, break a row, break a bound, or move nothing."""
    rng = np.random.default_rng(seed)
    n_rows, n = 40, 50
    A = csc_matrix(sparse_random(n_rows, n, density=0.1, random_state=seed,
                                 data_rvs=lambda k: rng.integers(-2, 3, k).astype(float)))
    base = rng.integers(0, 20, n).astype(float)
    lo, hi = base - rng.integers(0, 4, n), base + rng.integers(0, 4, n)
    a_base = A.tocsr() @ base
    slack = rng.integers(0, 4, n_rows)
    rlo, rhi = a_base - slack, a_base + np.where(rng.random(n_rows) < 0.3, 0, slack)
    verdicts = set()
    for _ in range(200):
        cols = np.sort(rng.choice(n, int(rng.integers(1, 15)), replace=False))
        C = A[:, cols]
        rws, inv = np.unique(C.indices, return_inverse=True)
        S = csc_matrix((C.data, inv, C.indptr), shape=(len(rws), len(cols)))
        d = rng.integers(-2, 3, len(cols)) * (rng.random(len(cols)) < 0.5)
        d = d.astype(float)
        sup = cols[d != 0]
        want = audit_mod._moved(A, A.tocsr(), base, lo, hi, rlo, rhi, [sup], [d[d != 0]],
                                np.ones(1), a_base=a_base)
        got = audit_mod._moved_near(rws, S, d, sup, base, lo, hi, rlo, rhi, a_base)
        assert (got is None) == (want is None)
        if got is not None and want is not None:
            assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        verdicts.add(got is None)
    assert verdicts == {True, False}


class _NoPool(Exception):
    pass


def _no_pool(jobs: int, cores: int) -> None:
    raise _NoPool(f"a pool of processes for {jobs} jobs")


def test_with_witnesses_for_every_year_the_audits_run_in_this_process(
        tmp_path: Path, every_group_large: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Audits that mostly check points cost less than moving a year to a fresh process, so
    the pool is only for years with no witnesses (see audit.in_pool). The verdicts are the
    same either way."""
    from site_builder.gate import audit_cache

    raw = toy_state(2, n_districts=2, schools=(2, 3), size=(4.0, 0.6), years=(2023, 2024))
    witnesses: dict = {}
    pub = protect(raw, POLICY, witnesses=witnesses)
    assert sorted(witnesses) == [2023, 2024]
    monkeypatch.setattr(audit_mod, "pool", _no_pool)
    monkeypatch.setattr(audit_cache, "pool", _no_pool)
    two = audit_mod.audit_cells(pub, POLICY, workers=2, hint=raw, witnesses=witnesses)
    one = audit_mod.audit_cells(pub, POLICY, workers=1, hint=raw, witnesses=witnesses)
    assert two.ok and two.counts() == one.counts()
    assert two.n_lp_solves == one.n_lp_solves
    site = tmp_path / "site"
    (site / "downloads").mkdir(parents=True)
    write_csv(pub, site / "downloads" / "state.csv")
    report, _ = audit_cache.audit_site_cached(site, POLICY, tmp_path / "cache", hint=raw,
                                              workers=2, witnesses=witnesses)
    assert report.ok and report.n_lp_solves == one.n_lp_solves
    # A year without witnesses is a full search: the years go to the pool.
    some = {2024: witnesses[2024]}
    with pytest.raises(_NoPool):
        audit_mod.audit_cells(pub, POLICY, workers=2, hint=raw, witnesses=some)
    with pytest.raises(_NoPool):
        audit_cache.audit_site_cached(site, POLICY, tmp_path / "cache2", hint=raw,
                                      workers=2, witnesses=some)


# --- keeping a live pattern starts from this run's witnesses ---------------------------------

def _round_one_solves(messages: list[str]) -> int:
    """The LP solves of the last protection's first audit round, as its log says."""
    first = [m for m in messages if m.startswith("audit round 1 (")][-1]
    return int(first.rsplit(", ", 1)[1].split()[0])


def test_keeping_the_live_pattern_starts_from_this_runs_witnesses(
        every_group_large: None, protected: tuple, caplog: pytest.LogCaptureFixture) -> None:
    """Full state, the second correction in a row: a value the live release's audit had
    proved was left unproven when kept, its linked group too large for an exact LP and every
    complement near it a number the live site publishes, and compute stopped. Kept with the
    fresh pattern's witnesses, its first audit round checks their points instead of
    searching again (here, every group is proven by points: none is solved exactly)."""
    from site_builder.disclosure.protect import keep_pattern
    from site_builder.incremental import protect_by_year

    raw, pub, witnesses = protected
    caplog.set_level("INFO", logger="site_builder")
    # Given its own witnesses, the pattern comes back with no LP solved in its first round.
    assert keep_pattern(raw, POLICY, pub, prior=witnesses[2024])[0].equals(pub)
    assert _round_one_solves(caplog.messages) == 0
    caplog.clear()
    assert keep_pattern(raw, POLICY, pub)[0].equals(pub)
    without = _round_one_solves(caplog.messages)
    assert without > 0
    # A live release that withheld one more rate: compute keeps it, from this run's proofs.
    # (Both of its row's attendance rates: they add up to the number enrolled, so one alone
    # withheld would be given away by the other, and is published again as pinned.)
    rate = (pl.col("reason") == "") & (pl.col("n_meeting") > 0) & (
        pl.col("level") == "school")
    first = pub.filter(rate).row(0, named=True)
    assert first["topic"] == "attendance"
    hide = pl.all_horizontal([pl.col(c) == first[c] for c in (
        "level", "district_code", "school_code", "topic", "grade", "group_family",
        "student_group")])
    assert pub.filter(hide).height == 2
    live = pub.with_columns(
        *[pl.when(hide).then(None).otherwise(pl.col(c)).alias(c) for c in ("n_meeting", "rate")],
        pl.when(hide).then(pl.lit("*")).otherwise(pl.col("display")).alias("display"),
        pl.when(hide).then(True).otherwise(pl.col("suppressed")).alias("suppressed"),
        pl.when(hide).then(pl.lit("complementary")).otherwise(pl.col("reason")).alias("reason"))
    caplog.clear()
    kept = protect_by_year(raw, POLICY, None, live=live, log=lambda _: None)
    assert kept.filter(hide)["suppressed"].all()
    assert _round_one_solves(caplog.messages) < without

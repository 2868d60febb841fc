"""Proof regions (counties' districts grouped) and the passes that use them: the audit
proves each region's values with LPs over that region, then a rare group's values with the
districts that have the most of it ("partner districts"), so that protect() need not
withhold a partner in each region for a district's share of a state total."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import polars as pl
import pytest
from scipy.sparse import csc_matrix

from site_builder.disclosure import audit as audit_mod
from site_builder.disclosure.policy import load_policy
from site_builder.disclosure.protect import _State, protect
from site_builder.disclosure.regions import district_regions, proof_regions
from site_builder.disclosure.relations import build_system, with_population
from site_builder.disclosure.toy import toy_state

POLICY = load_policy()


def test_counties_are_joined_in_code_order_until_a_region_has_enough_districts() -> None:
    codes = np.array(["001090", "001091", "002089", "003001", "003002", "003003",
                      "004001", "005001", "005002", "005003", "005004", "006001", ""])
    got = district_regions(codes, min_districts=3)
    # 001 (2) + 002 (1) = 3; 003 (3); 004 (1) + 005 (4); 006 (1) is short: joins 004-005.
    assert [got[c] for c in codes[:-1]] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 2]
    assert got[""] == 2  # the state's own numbers: the region with the most districts
    # Per value, from the codes alone: the same labels whatever the order or repetition.
    per_value = proof_regions(np.r_[["005002", "", "001091", "005002"], codes[::-1]],
                              min_districts=3)
    assert per_value[:4].tolist() == [2, 2, 0, 2]


def test_a_systems_districts_and_regions_are_those_of_its_codes() -> None:
    """protect() and the audit read each value's district number and proof region from its
    system, worked out once: the districts numbered in code order (the state's "" first)
    and the regions proof_regions() gives the codes, value by value; read-only."""
    raw = toy_state(2, n_districts=12, schools=(1, 3))
    # Spread over counties (the toy's districts are all in county 000): several regions.
    raw = raw.with_columns(pl.when(pl.col("district_code") == "").then(pl.lit("")).otherwise(
        pl.format("00{}{}", pl.col("district_code").str.slice(5).cast(pl.Int64) % 6,
                  pl.col("district_code").str.slice(3))).alias("district_code"))
    system = build_system(with_population(raw, POLICY), POLICY)
    codes = system.vars["district_code"].to_numpy().astype(str)
    assert np.array_equal(system.districts, np.unique(codes, return_inverse=True)[1])
    assert np.array_equal(system.regions, proof_regions(codes, min_districts=4))
    assert system.regions.max() >= 1 and (codes == "").any()
    with pytest.raises(ValueError):
        system.regions[0] = 1


def test_missouri_regions_are_small_and_every_district_has_one() -> None:
    from site_builder.synth.reference import load_leas

    codes = np.asarray(load_leas("state").code)
    got = district_regions(codes)
    sizes = np.bincount([v for k, v in got.items() if k])
    assert set(got) == {*codes, ""}
    assert sizes.min() >= 4 and sizes.max() <= 40 and 50 <= len(sizes) <= 140


def _rare_group_of_three_districts() -> tuple:
    """One state row over three districts' counts of a rare group: 1 + 10 + 1 = 12 (each a
    primary cell, 1..29). District A's value moves only against another district's, and only
    B has room. Each district is its own region (so the region pass holds the others)."""
    A = csc_matrix(np.array([[1.0, 1.0, 1.0]]))
    rhs = np.array([12.0])
    lo, hi = np.ones(3), np.full(3, 29.0)
    base = np.array([1.0, 10.0, 1.0])
    return A, rhs, lo, hi, np.full(3, 5, np.int64), base, np.arange(3)


def _as_in_a_large_group(monkeypatch) -> None:
    """No LP over the whole group, no trades."""
    for name in ("WHOLE_GROUP_COLUMNS", "TRADE_ROUNDS", "EXACT_LIMIT"):
        monkeypatch.setattr(audit_mod, name, 0)


def _prove_logged(caplog, A, lo, hi, rhs, req, base, region, **kw) -> tuple:
    """The quick proofs of one group (``audit._prove_large``), their log in ``caplog``."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=audit_mod.log.name):
        return audit_mod._prove_large(A, lo, hi, rhs, rhs, req, base, region,
                                      np.random.default_rng(1), thorough=False, **kw)


def test_partner_districts_prove_a_rare_group_no_region_can(monkeypatch, caplog) -> None:
    A, rhs, lo, hi, req, base, region = _rare_group_of_three_districts()
    _as_in_a_large_group(monkeypatch)

    def run() -> tuple:
        return _prove_logged(caplog, A, lo, hi, rhs, req, base, region, unit=region)

    mn, mx, _, unproven = run()
    assert "regions proved 0 of 3" in caplog.text
    assert "partner districts proved 3 of 3" in caplog.text
    assert not unproven.any()
    # A's exact range with B free and C held: 1..10.
    assert (mn[0], mx[0]) == (1.0, 10.0)
    monkeypatch.setattr(audit_mod, "PARTNERS", 0)
    monkeypatch.setattr(audit_mod, "PARTNER_REGION_COUNT", 0)
    _, _, _, unproven = run()
    assert unproven.all()  # without partners, nothing here proves them


def test_partner_regions_prove_a_share_whose_partner_district_is_held_by_its_region(
        monkeypatch, caplog) -> None:
    """District A's count of a rare group (5, primary) is the only one in its region; its
    partner in the state row is district B's (40, withheld). B's count moves only against
    B's other group (50), whose own state row it shares with district C (50), in B's region:

        a + b = 45 (state, rare group)    b + b2 = 90 (B's total)    b2 + c2 = 100 (state)

    A with B alone (the partner districts) holds C, so b2, b and a are pinned; A with B's
    whole region lets a move over 1..15."""
    A = csc_matrix(np.array([[1.0, 1.0, 0.0, 0.0],
                             [0.0, 1.0, 1.0, 0.0],
                             [0.0, 0.0, 1.0, 1.0]]))
    rhs = np.array([45.0, 90.0, 100.0])
    lo = np.array([1.0, 30.0, 30.0, 30.0])
    hi = np.array([29.0, 1e7, 1e7, 1e7])
    base = np.array([5.0, 40.0, 50.0, 50.0])
    req = np.array([5, 0, 0, 0], np.int64)
    region = np.array([0, 1, 1, 1])
    unit = np.array([0, 1, 1, 2])  # districts A, B, B, C
    _as_in_a_large_group(monkeypatch)
    monkeypatch.setattr(audit_mod, "EXACT_LARGE_COLUMNS", 0)  # nor a regional exact LP

    def run() -> tuple:
        return _prove_logged(caplog, A, lo, hi, rhs, req, base, region, unit=unit,
                             regional=True)

    mn, mx, _, unproven = run()
    assert "regions proved 0 of 1" in caplog.text
    assert "partner districts proved 0 of 1" in caplog.text
    assert "partner regions proved 1 of 1" in caplog.text
    assert not unproven.any()
    assert (mn[0], mx[0]) == (1.0, 15.0)  # exact over the two regions
    monkeypatch.setattr(audit_mod, "PARTNER_REGION_COUNT", 0)
    _, _, _, unproven = run()
    assert unproven[0]  # without the pass, the regional audit leaves it for protect()


@pytest.mark.parametrize("chain", [2, 3])
def test_partner_regions_try_the_partners_values_near_the_link_before_its_whole_region(
        monkeypatch, caplog, chain: int) -> None:
    """As above, with B's chain of withheld totals ``chain`` long (b, b2, ..., then C's
    value) and, in B's region, two values (d + e = 100) that nothing links to A. The pass
    first solves A's region with B's region's values within PARTNER_HOPS (2) relations of
    the linking row: with a chain of 2 that reaches C's value and proves a (d and e left
    out); with a chain of 3 it does not, and B's whole region then does."""
    n = chain + 4  # a, b1 .. b_chain, c, d, e
    rows = [[i, i + 1] for i in range(chain + 1)] + [[n - 2, n - 1]]
    A = csc_matrix((np.ones(2 * len(rows)), (np.repeat(np.arange(len(rows)), 2),
                                             np.concatenate(rows))), shape=(len(rows), n))
    base = np.r_[5.0, 40.0, np.full(n - 2, 50.0)]
    rhs = A @ base
    lo = np.r_[1.0, np.full(n - 1, 30.0)]
    hi = np.r_[29.0, np.full(n - 1, 1e7)]
    req = np.r_[5, np.zeros(n - 1, np.int64)]
    region = np.r_[0, np.ones(n - 1, np.int64)]
    unit = np.r_[0, np.ones(chain, np.int64), 2, 1, 1]  # districts A, B .., C, B, B
    _as_in_a_large_group(monkeypatch)
    monkeypatch.setattr(audit_mod, "EXACT_LARGE_COLUMNS", 0)
    with caplog.at_level(logging.DEBUG, logger=audit_mod.log.name):
        mn, mx, _, unproven = audit_mod._prove_large(
            A, lo, hi, rhs, rhs, req, base, region, np.random.default_rng(1),
            thorough=False, unit=unit, regional=True)
    lps = [int(r.getMessage().split(": ")[1].split()[0]) for r in caplog.records
           if r.getMessage().startswith("partner regions 0+1:")]
    assert "partner regions proved 1 of 1" in caplog.text
    assert not unproven.any() and (mn[0], mx[0]) == (1.0, 15.0)
    # a, and b .. c within two relations of b; then, where that was not enough, all.
    assert lps == ([1 + 3] if chain == 2 else [1 + 3, n])


@pytest.mark.parametrize("held", [False, True])
def test_exact_lps_that_prove_none_of_a_few_probed_values_leave_the_rest(
        monkeypatch, caplog, held: bool) -> None:
    """Eight shares like district A's above (a_i + b_i = 45, b_i + b2_i = 90, b2_i + c_i =
    100), A's all in region 0, B's in region 1. With C's values in B's region the pair of
    regions proves every a_i (1..15); held in a third region (``held``), C's values pin them
    all. A pair with more than PROBE_COUNT short values is first solved for PROBE_COUNT of
    them: where none is proved the pair is left (LPs for 6 values, near then whole, where
    all 8 took both), and the values are unproven all the same; where the probe proves
    them, its points prove the rest too. Region 0's exact LPs after it are probed alike."""
    k = 8
    a, b, b2, c = (np.arange(k) + i * k for i in range(4))
    rows = [(a, b), (b, b2), (b2, c)]
    A = csc_matrix((np.ones(6 * k), (np.repeat(np.arange(3 * k), 2),
                                     np.stack([np.stack(r, 1) for r in rows]).ravel())),
                   shape=(3 * k, 4 * k))
    base = np.r_[np.full(k, 5.0), np.full(k, 40.0), np.full(2 * k, 50.0)]
    rhs = A @ base
    lo = np.r_[np.ones(k), np.full(3 * k, 30.0)]
    hi = np.r_[np.full(k, 29.0), np.full(3 * k, 1e7)]
    req = np.r_[np.full(k, 5), np.zeros(3 * k, np.int64)]
    region = np.repeat([0, 1, 1, 2 if held else 1], k)
    unit = np.repeat([0, 1, 1, 2], k)  # districts A, B, B, C
    _as_in_a_large_group(monkeypatch)
    monkeypatch.setattr(audit_mod, "EXACT_LARGE_COLUMNS", 0)

    def run() -> tuple[np.ndarray, int]:
        with caplog.at_level(logging.DEBUG, logger=audit_mod.log.name):
            caplog.clear()
            _, _, _, unproven = audit_mod._prove_large(
                A, lo, hi, rhs, rhs, req, base, region, np.random.default_rng(1),
                thorough=False, unit=unit, regional=True)
        # Values solved for, LP by LP (here each LP is a few solves, however many values).
        tried = sum(int(r.getMessage().split(" for ")[1].split()[0]) for r in caplog.records
                    if r.getMessage().startswith("partner regions 0+1:")
                    and " for " in r.getMessage())
        return unproven, tried

    unproven, tried = run()
    assert "partner districts proved 0 of 8" in caplog.text
    assert unproven[:k].all() == held and not unproven[k:].any()
    assert ("partner regions 0+1: none of 6 probed proved; 8 left" in caplog.text) == held
    # Then region 0's exact LPs, probed the same way.
    assert ("region 0, exactly: none of 6 probed proved; 8 left" in caplog.text) == held
    monkeypatch.setattr(audit_mod, "PROBE_COUNT", k)  # no probe: every value, as before
    unproven_all, tried_all = run()
    assert np.array_equal(unproven_all, unproven)
    assert "probed" not in caplog.text
    assert (tried, tried_all) == ((6 + 6, 8 + 8) if held else (6, 8))


def test_values_left_after_the_partner_passes_get_exact_lps_over_their_region(
        monkeypatch, caplog) -> None:
    """The region pass pushes its values with random directions only, which can miss one
    that its region does let move (full state 2024: a school's count at 0, a whole audit
    round spent on it). What the partner passes leave, a few values, gets exact LPs over its
    own region. Here the random directions are switched off, so the region pass sees only
    its first point: a + b = 20, both withheld (1..29), a lone region with no partner."""
    A = csc_matrix(np.array([[1.0, 1.0]]))
    rhs = np.array([20.0])
    lo, hi = np.ones(2), np.full(2, 29.0)
    base = np.array([5.0, 15.0])
    # Wider than the known point and any one vertex span (at most 14), within 1..19.
    req = np.array([15, 15], np.int64)
    region = np.zeros(2, np.int64)
    _as_in_a_large_group(monkeypatch)
    monkeypatch.setattr(audit_mod, "LOCAL_ROUNDS", 0)
    monkeypatch.setattr(audit_mod, "REGIONAL_EXACT_COUNT", 0)  # no exact LP over the group

    def run() -> tuple:
        return _prove_logged(caplog, A, lo, hi, rhs, req, base, region, unit=region,
                             regional=True)

    mn, mx, _, unproven = run()
    assert "regions proved 0 of 2" in caplog.text
    assert "regions, exactly proved 2 of 2" in caplog.text
    assert not unproven.any()
    assert (mn.tolist(), mx.tolist()) == ([1.0, 1.0], [19.0, 19.0])
    monkeypatch.setattr(audit_mod, "REGION_EXACT_COUNT", 0)
    _, _, _, unproven = run()
    assert unproven.all()  # without the pass, both are left for protect() to withhold near


def _two_small_shares() -> pl.DataFrame:
    """Two regions of four districts, each with one school; in each region one district's
    count of Asian students is small, the only one there: 001001's 12 and 002001's 20 (32
    together: no derived group of 1-29)."""
    rows = []
    sizes = {"001001": 12, "001002": 300, "001003": 400, "001004": 500,
             "002001": 20, "002002": 600, "002003": 700, "002004": 800}
    for code, n in sizes.items():
        for level, school in (("district", ""), ("school", "1000")):
            rows.append({"level": level, "district_code": code, "school_code": school,
                         "student_group": "Asian", "group_family": "Race/Ethnicity", "n": n})
            rows.append({"level": level, "district_code": code, "school_code": school,
                         "student_group": "All students", "group_family": "All", "n": n * 10})
            rows.append({"level": level, "district_code": code, "school_code": school,
                         "student_group": "White", "group_family": "Race/Ethnicity",
                         "n": n * 9})
    for group, fam, mult in (("Asian", "Race/Ethnicity", 1), ("All students", "All", 10),
                             ("White", "Race/Ethnicity", 9)):
        rows.append({"level": "state", "district_code": "", "school_code": "",
                     "student_group": group, "group_family": fam,
                     "n": mult * sum(sizes.values())})
    return pl.DataFrame(rows).select(
        pl.lit(2024, pl.Int32).alias("year"), "level", "district_code", "school_code",
        pl.lit("enrollment").alias("topic"), pl.lit("enrollment").alias("measure"),
        pl.lit("").alias("subject"), pl.lit("All").alias("grade"), "group_family",
        "student_group", pl.col("n").cast(pl.Int64).alias("n_students"),
        pl.lit(None, pl.Int64).alias("n_meeting"))


def test_small_shares_alone_in_their_regions_need_no_partner_there() -> None:
    """The two small counts are each other's partner in the state's Asian row: neither is
    pinned by what is published, and the audit's partner districts prove them across the
    regions. So the greedy step withholds no third district's count (until session 39 it
    withheld a partner in each region, 001002's and 002002's), and protect()'s pattern
    passes the audit from scratch."""
    raw = _two_small_shares()
    cells = with_population(raw, POLICY).sort("district_code", "level")
    system = build_system(cells, POLICY)
    assert len(np.unique(system.regions)) == 2
    st = _State(cells, system, POLICY)
    st.primary_and_coding()
    st.greedy()
    v = system.vars.with_columns(pl.Series("hidden", st.hidden))
    hidden_asian = v.filter(pl.col("hidden") & (pl.col("level") == "district")
                            & (pl.col("student_group") == "Asian"))["district_code"].to_list()
    assert sorted(hidden_asian) == ["001001", "002001"]
    pub = protect(raw, POLICY)
    asian = pub.filter(pl.col("level") != "school", pl.col("student_group") == "Asian")
    assert asian.filter(pl.col("suppressed"))["district_code"].sort().to_list() == [
        "001001", "002001"]
    assert audit_mod.audit_cells(pub, POLICY).ok


@pytest.mark.parametrize("seed", [3, 11])
def test_protect_leaves_a_pattern_its_regional_proofs_prove(seed: int) -> None:
    """protect()'s rounds run only the regional proofs (regions, neighbourhoods, partner
    districts) and withhold more near what they leave: its result passes that audit given
    protect's witnesses (what the publication gate's audit checks), and the full audit from
    scratch."""
    raw = toy_state(seed, n_districts=6, schools=(1, 4), size=(3.6, 0.8))
    witnesses: dict = {}
    pub = protect(raw, POLICY, witnesses=witnesses)
    assert audit_mod.audit_cells(pub, POLICY, hint=raw, thorough=False, regional=True,
                                 witnesses=witnesses).ok
    assert audit_mod.audit_cells(pub, POLICY).ok


def test_a_stalled_round_solves_the_whole_group_exactly(monkeypatch) -> None:
    """When protect()'s rounds stall (the same values unproven twice), the next round passes
    ``exact_count`` and the audit solves the whole group exactly for those values: what the
    regional proofs leave unproven, that proves (or shows narrow, for protect to fix)."""
    raw = toy_state(7, n_districts=2, schools=(2, 4), size=(3.6, 0.6))
    pub = protect(raw, POLICY)
    for name in ("LOCAL_ROUNDS", "TRADE_ROUNDS", "WHOLE_GROUP_COLUMNS", "EXACT_LIMIT",
                 "PARTNERS", "REGIONAL_EXACT_COUNT", "REGION_EXACT_COUNT"):
        monkeypatch.setattr(audit_mod, name, 0)   # the regional proofs prove nothing ...
    monkeypatch.setattr(audit_mod, "LARGE_COMPONENT", 5)   # ... in groups all "large"
    regional = audit_mod.audit_cells(pub, POLICY, hint=raw, thorough=False, regional=True)
    assert regional.counts().get("unproven", 0) > 0
    stalled = audit_mod.audit_cells(pub, POLICY, hint=raw, thorough=False, regional=True,
                                    exact_count=10**6)
    assert stalled.ok, stalled.render(limit=5)


def _staged_rounds(monkeypatch, stage):  # noqa: ANN001, ANN202
    """protect() of a toy state whose regional proofs prove nothing (every group "large"),
    with ``stage(n, report, first)`` choosing the report of audit call ``n`` (from 1; the
    real ``report``, or one made from ``first``, the first call's). Returns the calls'
    ``exact_count``, the pattern, the raw cells and the real ``audit_cells``. A state where
    replayed failures still find a complement to withhold (where they find none, the next
    round is a thorough one instead, as it was for seed 7 once the state's All-students
    numbers stopped being complements)."""
    raw = toy_state(5, n_districts=2, schools=(2, 4), size=(3.6, 0.6))
    for name in ("LOCAL_ROUNDS", "TRADE_ROUNDS", "WHOLE_GROUP_COLUMNS", "EXACT_LIMIT",
                 "PARTNERS", "REGIONAL_EXACT_COUNT", "REGION_EXACT_COUNT"):
        monkeypatch.setattr(audit_mod, name, 0)
    monkeypatch.setattr(audit_mod, "LARGE_COMPONENT", 5)
    real = audit_mod.audit_cells
    calls: list[int | None] = []
    first: list = []

    def spied(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(kwargs.get("exact_count"))
        report = real(*args, **kwargs)
        if len(calls) == 1:
            first.append(report)
        return stage(len(calls), report, first[0])

    monkeypatch.setattr(audit_mod, "audit_cells", spied)
    return calls, protect(raw, POLICY), raw, real


def test_protect_answers_a_stall_with_exact_lps(monkeypatch) -> None:
    """protect() side: a round failing exactly the values the round before failed makes the
    next round pass ``exact_count=EXACT_WHEN_STALLED``, once for the same values. The stall
    is staged by handing the first round's report back for the second and third rounds (on
    the full state it came from values that complements near them could not help); every
    audit run here is the real one, and the result passes the full audit."""
    import importlib

    protect_mod = importlib.import_module("site_builder.disclosure.protect")
    calls, pub, raw, real = _staged_rounds(
        monkeypatch, lambda n, report, first: first if n in (2, 3) else report)
    # Round 3 solves the stalled values exactly; they fail again there (staged, unproven:
    # its LP did not finish), and round 4 does not solve the same values exactly again.
    assert calls[:4] == [None, None, protect_mod.EXACT_WHEN_STALLED, None], calls
    assert real(pub, POLICY, hint=raw).ok


def test_a_value_an_exact_round_showed_narrow_is_solved_exactly_again(monkeypatch) -> None:
    """A value the exact round after a stall solved and showed narrow gets complements; if
    the regional proofs still cannot show it wide, the round after is exact again for it.
    (Only a value the exact LP left unproven, its group too large for its budget, is not
    solved exactly twice: full state 2026 with a school closed, a 5-student district's
    Hispanic count was shown 1..3 by the exact round, then the complements after it made it
    1..27, which the regional proofs never showed, and protect gave up after 50 rounds.)
    Staged as in the test above: round 1's report comes back for round 2, and as narrow
    (an exact LP's "approximate") for round 3, the exact one."""
    import importlib
    from dataclasses import replace

    protect_mod = importlib.import_module("site_builder.disclosure.protect")

    def stage(n, report, first):  # noqa: ANN001, ANN202
        if n == 1:
            assert {f.kind for f in report.failures} == {"unproven"}
        if n == 3:  # the exact LP finished: narrow, not unproven
            return replace(first, failures=[replace(f, kind="approximate")
                                            for f in first.failures])
        return first if n == 2 else report

    calls, pub, raw, real = _staged_rounds(monkeypatch, stage)
    exact = protect_mod.EXACT_WHEN_STALLED
    # Round 4 solves them exactly again, with round 3's complements (before: a regional
    # round, and never an exact one for them again).
    assert calls[:4] == [None, None, exact, exact], calls
    assert real(pub, POLICY, hint=raw).ok


def test_the_round_log_names_the_commonest_failing_values() -> None:
    """failure_summary(): the kinds of value that fail most, counted, commonest first, with
    whether the true value is 0 (on the full state, round 1's 4,869 unproven Algebra I
    values were 4,263 school below-basic numerators, nearly all at 0)."""
    from site_builder.disclosure.protect import failure_summary

    raw = toy_state(3, n_districts=2, schools=(1, 2), size=(3.0, 0.5))
    cells = with_population(raw, POLICY).sort("district_code", "level")
    system = build_system(cells, POLICY)
    v = system.vars.with_row_index("i")
    value = np.full(v.height, 7, np.int64)
    bb = v.filter((pl.col("level") == "school")
                  & (pl.col("series") == "n:assessment/level_below_basic"))["i"].to_numpy()[:3]
    tested = v.filter((pl.col("level") == "district")
                      & (pl.col("series") == "d:tested"))["i"].to_numpy()[:1]
    value[bb[:2]] = 0
    subject = v["subject"][int(bb[0])]
    assert (v["subject"].to_numpy()[bb] == subject).all()
    got = failure_summary(system, value, np.r_[bb, tested], top=2)
    assert got.startswith(f"2 school {subject} n:assessment/level_below_basic (at 0), ")
    assert got.endswith(", 1 others")
    assert "1 " in got.split(", ")[1]


def test_a_round_has_stalled_when_nearly_the_same_values_fail_again() -> None:
    """On the full state the unproven values of later rounds were nearly, not exactly, the
    same from round to round (319-369 of them for 12 rounds, a few proven and a few new each
    time): that is a stall too. Fewer failing, or many new ones, is progress."""
    from site_builder.disclosure.protect import stalled

    before = np.arange(100)
    assert not stalled(None, before)
    assert not stalled(before, np.zeros(0, np.int64))
    assert stalled(before, before)
    assert stalled(before, np.r_[np.arange(2, 100), 500, 501])   # 98 again, 2 new
    assert not stalled(before, np.arange(50))                     # half as many: progress
    assert not stalled(before, np.r_[np.arange(90), np.arange(500, 510)])  # 10% new


def test_exact_lps_started_from_a_known_point_give_the_same_ranges(
        caplog: pytest.LogCaptureFixture) -> None:
    """The audit's LPs start from a basis HiGHS finds near a feasible point (crossover), not
    from nothing; they may run without primal simplex's bound perturbation; and a whole
    group's exact LPs are guarded against a crawl (an LP that reaches ``crawl_limit``
    iterations is solved again from its starting basis without the perturbation; here the
    limit is 1, so that the LPs that need more are solved again): the exact ranges must not
    change. Three districts' counts of a rare group (each withheld, 1..29) add up to a
    published state total of 40, each district's count and its other group to its
    published total."""
    A = csc_matrix(np.array([[1.0, 1.0, 1.0, 0.0, 0.0, 0.0],
                             [1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
                             [0.0, 1.0, 0.0, 0.0, 1.0, 0.0],
                             [0.0, 0.0, 1.0, 0.0, 0.0, 1.0]]))
    rhs = np.array([40.0, 100.0, 120.0, 60.0])
    lo = np.array([1.0, 1.0, 1.0, 30.0, 30.0, 30.0])
    hi = np.array([29.0, 29.0, 29.0, 1e7, 1e7, 1e7])
    start = np.array([5.0, 20.0, 15.0, 95.0, 100.0, 45.0])
    assert np.allclose(A @ start, rhs)
    req = np.full(6, 1000, np.int64)  # never wide enough: every range is solved exactly
    caplog.set_level(logging.INFO, logger="site_builder.disclosure.audit")
    ranges = [audit_mod._batch_ranges(A, lo, hi, rhs, rhs, req, np.zeros(6, np.int64),
                                      np.random.default_rng(1), rounds=0, start=s,
                                      perturb=p, crawl_limit=c)[:2]
              for s, p, c in ((None, True, None), (start, True, None), (start, False, None),
                              (start, True, 1), (None, True, 1))]
    again = [r.args for r in caplog.records
             if "solved again without bound perturbation" in r.getMessage()]
    assert len(again) >= 2, "crawl_limit=1 should have sent LPs to the second solve"
    # Each for its own reason, not for a flag left from the solve before it.
    assert all(isinstance(a, tuple) and (a[1] > 1 or a[2] > audit_mod.STALLED_CHECKS)
               for a in again), again
    for other in ranges[1:]:
        assert np.array_equal(ranges[0][0], other[0])
        assert np.array_equal(ranges[0][1], other[1])
    assert ranges[1][0].tolist() == [1.0, 1.0, 1.0, 71.0, 91.0, 31.0]
    assert ranges[1][1].tolist() == [29.0, 29.0, 29.0, 99.0, 119.0, 59.0]


def test_columns_an_lp_is_not_asked_about_are_never_solved_for() -> None:
    """A neighbourhood's LP holds columns it is not asked about (``required`` 0). One that
    every point gives the same fraction (a numerator pinned by a published rate, say) spans
    no whole number, and was taken for a short value and solved exactly (session 62: 2,700
    to 3,300 solves for each partner-district LP of a six-district toy state, where 5 to 23
    were needed). Only the asked-about column is solved for."""
    # x0 + x1 = 12.5 with x1 pinned at 2.5; x0 is asked about (needs 1), x1 is not.
    A = csc_matrix(np.array([[1.0, 1.0]]))
    rhs = np.array([12.5])
    lo, hi = np.array([0.0, 2.5]), np.array([29.0, 2.5])
    assert not audit_mod._short(np.array([2.5]), np.array([2.5]), np.array([0]))[0]
    assert audit_mod._short(np.array([2.5]), np.array([2.5]), np.array([1]))[0]
    picked: list[np.ndarray] = []
    mn, mx, solves = audit_mod._batch_ranges(A, lo, hi, rhs, rhs, np.array([5, 0]),
                                             np.zeros(2, np.int64), np.random.default_rng(1),
                                             rounds=0, solved=picked)
    assert [p.tolist() for p in picked] == [[0]]
    assert (mn.tolist(), mx.tolist()) == ([10.0, 2.5], [10.0, 2.5])
    assert solves == 3  # the first point, then x0's max and min


def test_a_solve_crawls_past_its_limit_or_after_checks_without_an_iteration() -> None:
    """The guard on a whole group's exact LPs stops a solve after its iteration limit, or
    after STALLED_CHECKS checks in a row without an iteration: the crawl seen in full state
    2023 (dual simplex failing to prove the LP infeasible, pass after pass) counted none."""
    stalled = audit_mod.STALLED_CHECKS
    c = audit_mod._Crawl(10)
    assert not any(c.check(i) for i in range(11))
    assert c.check(11)
    c.reset()
    assert not any(c.check(5) for _ in range(stalled + 1))  # the first check is no stall
    assert c.check(5)
    c.reset()
    # An iteration now and then is progress: the count of checks without one starts again.
    assert not any(c.check(k // stalled) for k in range(10 * stalled))
    c.reset()
    assert not c.check(0)


def test_the_first_lp_of_a_process_may_start_from_a_point() -> None:
    """HiGHS sets up its task scheduler in run(): a crossover before any run() in a process
    crashes it (highspy 1.16, a segfault; a pool worker's first LP is exactly that).
    ``audit._from_point`` runs a one-value model first. In a fresh process, as a worker."""
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from scipy.sparse import csc_matrix\n"
        "from site_builder.disclosure import audit as a\n"
        "A = csc_matrix(np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]))\n"
        "x = np.array([5.0, 10.0, 20.0]); b = A @ x\n"
        "h = a._model(A, np.zeros(3), np.full(3, 50.0), b, b)\n"
        "a._from_point(h, x)\n"
        "print(h.getBasis().valid)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, (run.returncode, run.stderr[-2000:])
    assert run.stdout.strip().endswith("True")


def test_a_value_the_whole_group_shows_narrow_is_narrow_not_unproven(monkeypatch,
                                                                     caplog) -> None:
    """After a stall, the regional audit solves the whole group exactly for the values left.
    One still short there is narrow, and its failure must say so with the relations that
    hold it: reported as unproven ("too large for an exact LP"), protect() withheld
    elsewhere, round after round, and gave up (full state 2024, a school's count shown to
    range over 28..30). Here a + b = 20 with b in 18..19: a is 1..2, needs 5."""
    A = csc_matrix(np.array([[1.0, 1.0]]))
    rhs = np.array([20.0])
    lo, hi = np.array([1.0, 18.0]), np.array([29.0, 19.0])
    base = np.array([1.0, 19.0])
    req = np.array([5, 0], np.int64)
    region = np.zeros(2, np.int64)
    _as_in_a_large_group(monkeypatch)
    monkeypatch.setattr(audit_mod, "REGION_EXACT_COUNT", 0)
    held: dict[int, np.ndarray] = {}
    mn, mx, _, unproven = _prove_logged(caplog, A, lo, hi, rhs, req, base, region,
                                        unit=region, regional=True, exact_count=10,
                                        binding_out=held)
    assert "the whole group, exactly proved 0 of 1" in caplog.text
    assert (mn[0], mx[0]) == (1.0, 2.0)
    assert not unproven[0]
    assert held[0].tolist() == [0]  # the row a + b = 20 holds it


def _stage_narrow(monkeypatch) -> tuple[Callable[..., tuple[np.ndarray, list[dict]]], int]:  # noqa: ANN001
    """A toy state protected with the real audit's reports, plus a staged failure "shown to
    range over 28..30, needs 3" for one withheld numerator whose count the usual pattern
    publishes (on the full state such a coded count took complements elsewhere for 47
    rounds, until protect() gave up). Returns ``staged(rounds, unproven_rounds=0,
    derived_rounds=0)``: the final pattern and the keyword arguments of each audit call,
    with the failure staged in the first ``rounds`` audits while its denominator is
    published, a staged "unproven" failure of another unit's numerator in the first
    ``unproven_rounds``, one of a derived group in the first ``derived_rounds``, and in
    each of the first ``fresh_rounds`` an "unproven" failure of a value that has not failed
    before (each call's entry also has the ``pattern`` it audited and the var ids it
    ``failed``); and the numerator's denominator."""
    import importlib

    from site_builder.cells import KEY

    protect_mod = importlib.import_module("site_builder.disclosure.protect")
    raw = toy_state(5, n_districts=2, schools=(2, 4), size=(3.6, 0.6))
    finals: list[np.ndarray] = []
    real_render = protect_mod.render

    def spied_render(cells, system, reason, policy, shown=None):  # noqa: ANN001, ANN202
        finals.append(reason.copy())
        return real_render(cells, system, reason, policy, shown)

    monkeypatch.setattr(protect_mod, "render", spied_render)
    protect(raw, POLICY)
    usual = finals[-1]
    cells = with_population(raw, POLICY).sort(list(KEY))
    system = build_system(cells, POLICY)
    st = _State(cells, system, POLICY)
    pick = np.flatnonzero(~st.is_den & (usual != 0) & (usual[st.den_id] == 0)
                          & ~st.keep[st.den_id] & (st.dval >= 30))
    assert len(pick)
    v = int(pick[0])
    den = int(st.den_id[v])
    other = pick[st.den_id[pick] != den]
    assert len(other)
    # A count relation with a published candidate for a complement: a derived group staged
    # there gets one.
    st.reason[:] = usual
    can = ~st.hidden & st.eligible
    rel = int(np.flatnonzero(st.rel_count & (np.bincount(
        st.e_rel, weights=can[st.e_var], minlength=st.n_rel) > 0))[0])

    def staged(rounds: int, unproven_rounds: int = 0, derived_rounds: int = 0,
               fresh_rounds: int = 0) -> tuple[np.ndarray, list[dict]]:
        real = audit_mod.audit_cells
        calls: list[dict] = []

        def spied(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            report = real(*args, **kwargs)
            i = len(calls) + 1
            if i <= rounds and finals[-1][den] == 0:  # (withheld, it is free)
                report.failures = [*report.failures, audit_mod.Failure(
                    "approximate", "staged", low=28.0, high=30.0, required=3, var_id=v)]
            if i <= unproven_rounds:
                report.failures = [*report.failures, audit_mod.Failure(
                    "unproven", "staged", low=40.0, high=41.0, required=3,
                    var_id=int(other[0]))]
            if i <= fresh_rounds:  # another value each round, failing once
                report.failures = [*report.failures, audit_mod.Failure(
                    "unproven", "staged", low=40.0, high=41.0, required=3,
                    var_id=int(other[i % len(other)]))]
            if i <= derived_rounds:
                report.failures = [*report.failures, audit_mod.Failure(
                    "derived_group", "staged", low=12.0, rel_id=rel)]
            # Its keyword arguments, the pattern it audited and the values it failed.
            calls.append({**kwargs, "pattern": finals[-1].copy(), "failed": sorted(
                {f.var_id for f in report.failures if f.var_id is not None})})
            return report

        # The count is never a complement's choice (in a round where both values fail
        # everywhere, one in each of their relations may be it), so that only the rules
        # under test withhold it.
        real_init = protect_mod._State.__init__

        def init(self, *args):  # noqa: ANN001, ANN002, ANN202
            real_init(self, *args)
            self._eligible[den] = False

        monkeypatch.setattr(audit_mod, "audit_cells", spied)
        monkeypatch.setattr(protect_mod._State, "__init__", init)
        finals.clear()
        pub = protect(raw, POLICY)
        monkeypatch.setattr(audit_mod, "audit_cells", real)
        monkeypatch.setattr(protect_mod._State, "__init__", real_init)
        assert real(pub, POLICY, hint=raw).ok
        return finals[-1], calls

    return staged, den


def test_a_numerator_shown_narrow_round_after_round_loses_its_unit(monkeypatch) -> None:
    """A numerator whose exact range stays too narrow for STUBBORN_ROUNDS audit rounds loses
    its whole unit (its denominator, and so every rate over it), as in the narrowing rounds.
    Staged beside a value shown unproven, which the rounds solve exactly after a stall."""
    import importlib

    protect_mod = importlib.import_module("site_builder.disclosure.protect")
    staged, den = _stage_narrow(monkeypatch)
    k = protect_mod.STUBBORN_ROUNDS
    pattern, calls = staged(k - 1, unproven_rounds=k - 1)
    assert pattern[den] == 0  # not yet: it stays published
    assert any(c.get("exact_count") for c in calls)  # the unproven value's exact round
    assert staged(k, unproven_rounds=k)[0][den] != 0


def test_narrow_numerators_nothing_frees_lose_their_unit_without_an_exact_round(
        monkeypatch) -> None:
    """When all that fails again is numerators already shown narrow (solved exactly over
    their whole group) and nothing in their regions frees them, they lose their unit at
    once: an exact round would only show them narrow again (full state 2024: a round
    fewer, the same pattern)."""
    import importlib

    protect_mod = importlib.import_module("site_builder.disclosure.protect")
    staged, den = _stage_narrow(monkeypatch)
    # Beside it in the first round, a derived group that gets a complement (so that the next
    # round is not the thorough one).
    assert staged(1, derived_rounds=1)[0][den] == 0  # failing once: complements first
    pattern, calls = staged(protect_mod.MAX_AUDIT_ROUNDS, derived_rounds=1)
    assert pattern[den] != 0
    # Shown narrow in rounds 1 and 2, its unit withheld after round 2; round 3 passes.
    # (Before: an exact round 3, and the unit withheld after round 4, STUBBORN_ROUNDS.)
    assert len(calls) == 3
    assert not any(c.get("exact_count") for c in calls)


def test_later_audit_rounds_prove_only_what_was_withheld_since_or_failed(
        monkeypatch) -> None:
    """A round after the first tells the audit which values are settled: every value the
    round before audited withheld and did not fail (withholding more only widens their
    ranges). What failed, and what was withheld since, is proven again; and the final
    pattern passes a full audit from scratch (``staged`` checks)."""
    staged, _ = _stage_narrow(monkeypatch)
    _, calls = staged(0, fresh_rounds=2)
    assert len(calls) >= 3
    assert not calls[0]["settled"].any()
    for before, now in zip(calls, calls[1:], strict=False):
        expect = before["pattern"] != 0
        expect[before["failed"]] = False
        assert before["failed"]
        assert np.array_equal(now["settled"], expect)
        assert (now["pattern"] != 0).sum() > now["settled"].sum()  # some to prove


def test_a_value_nothing_frees_round_after_round_gets_an_exact_round(monkeypatch) -> None:
    """A value left unproven round after round, beside values failing once each (so that no
    round is a stall), and that no complement in its region frees: once nothing has freed it
    in UNFREED_ROUNDS rounds, the next round solves its group exactly, before more rounds of
    complements (full state 2025: 20 tested counts unproven from round 3; the exact round
    proved them all with nothing more withheld). Without the rule, the exact round waits
    until it has failed 2 * STUBBORN_ROUNDS rounds; without that one too, no round here is
    exact: the failures never stall, and a fresh value fails beside it every round."""
    import importlib

    protect_mod = importlib.import_module("site_builder.disclosure.protect")
    staged, _ = _stage_narrow(monkeypatch)
    k = 2 * protect_mod.STUBBORN_ROUNDS
    _, calls = staged(0, unproven_rounds=k + 1, fresh_rounds=k + 1)
    exact = [i + 1 for i, c in enumerate(calls) if c.get("exact_count")]
    # It fails first in round 1, again (and nothing frees it) in rounds 2 and 3: round 4 is
    # the exact one, and only once for it.
    assert exact == [protect_mod.UNFREED_ROUNDS + 2], exact
    assert calls[exact[0] - 1]["exact_count"] == protect_mod.EXACT_WHEN_STALLED
    # The older rule, alone: round k is its k-th failure, round k + 1 the exact one.
    monkeypatch.setattr(protect_mod, "UNFREED_ROUNDS", 10**6)
    _, calls = staged(0, unproven_rounds=k + 1, fresh_rounds=k + 1)
    assert [i + 1 for i, c in enumerate(calls) if c.get("exact_count")] == [k + 1]


def test_a_round_that_withholds_a_stubborn_unit_is_not_followed_by_an_exact_one(
        monkeypatch) -> None:
    """When STUBBORN_ROUNDS withholds a narrow numerator's unit, the pattern around it has
    changed: the next round is an ordinary one, not an exact LP of its group (full state
    2024: the exact round showed the coded count narrow again, and only the complements
    after it freed it, a round later)."""
    import importlib

    protect_mod = importlib.import_module("site_builder.disclosure.protect")
    staged, den = _stage_narrow(monkeypatch)
    k = protect_mod.STUBBORN_ROUNDS
    # Beside it in each of the first k - 1 rounds, another value failing for the first
    # time: the numerator is never all that fails (the rule for that withholds its unit at
    # once), nor do the same values fail round after round (a stall: an exact round). In
    # round k it fails alone, for the k-th time.
    pattern, calls = staged(k, fresh_rounds=k - 1)
    assert pattern[den] != 0
    assert not any(c.get("exact_count") for c in calls), [
        i + 1 for i, c in enumerate(calls) if c.get("exact_count")]
    assert len(calls) == k + 1

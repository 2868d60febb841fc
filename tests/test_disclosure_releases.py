"""Two releases of the same data, together (``disclosure.releases``, ``reportcard
audit-releases``): each passes its own audit, and together they must not give away what
each alone protects."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from site_builder.cells import KEY
from site_builder.cli import main
from site_builder.compute import compute_cells
from site_builder.disclosure import protect
from site_builder.disclosure.audit import AuditReport, Failure, audit_cells, witness_frames
from site_builder.disclosure.protect import ProtectionError, keep_pattern
from site_builder.disclosure.releases import (
    audit_releases,
    derived_changes,
    read_release,
    stale_share,
    together,
    told_by_change,
)
from site_builder.disclosure.toy import toy_cells, toy_students
from site_builder.extract import load_extract
from site_builder.gate import run_gate
from site_builder.gate.manifest import write_manifest
from site_builder.incremental import keep_live, live_of_other_data, protect_by_year, read_live
from site_builder.specs import load_specs
from site_builder.synth import generate
from tests.test_disclosure_cases import (
    POLICY,
    assessment_rows,
    audit,
    cell,
    frame,
    protect_state,
    row,
    write_csv,
)

RACE = "Race/Ethnicity"


def _raw(white: int = 45) -> pl.DataFrame:
    """All 100 = Asian 10 (primary) + Black 45 + White ``white`` - 45."""
    return frame([cell(55 + white), cell(10, "Asian", RACE), cell(45, "Black", RACE),
                  cell(white, "White", RACE)])


def _swap(pub: pl.DataFrame, raw: pl.DataFrame) -> pl.DataFrame:
    """The other valid pattern: Black published, White withheld as the complement."""
    true = dict(raw.select("student_group", "n_students").rows())
    return pub.with_columns(
        pl.when(pl.col("student_group") == "White").then(None)
        .when(pl.col("student_group") == "Black").then(true["Black"])
        .otherwise(pl.col("n_students")).alias("n_students"),
        pl.when(pl.col("student_group") == "White").then(pl.lit("*"))
        .when(pl.col("student_group") == "Black").then(pl.lit(str(true["Black"])))
        .otherwise(pl.col("display")).alias("display"),
        pl.when(pl.col("student_group") == "White").then(True)
        .when(pl.col("student_group") == "Black").then(False)
        .otherwise(pl.col("suppressed")).alias("suppressed"),
        pl.when(pl.col("student_group") == "White").then(pl.lit("complementary"))
        .when(pl.col("student_group") == "Black").then(pl.lit(""))
        .otherwise(pl.col("reason")).alias("reason"))


def _site(pub: pl.DataFrame, root: Path) -> Path:
    (root / "downloads" / "districts").mkdir(parents=True)
    write_csv(pub, root / "downloads" / "districts" / "000001.csv")
    return root


def test_two_patterns_each_safe_alone_disclose_together(tmp_path: Path) -> None:
    raw = _raw()
    earlier = protect(raw, POLICY)
    assert row(earlier, student_group="Black")["reason"] == "complementary"
    later = _swap(earlier, raw)
    assert audit(earlier, tmp_path, "e.csv").ok and audit(later, tmp_path, "l.csv").ok
    report, diffs = audit_releases(_site(earlier, tmp_path / "earlier"),
                                   _site(later, tmp_path / "later"), POLICY, hint=raw)
    assert [(d.year, d.withheld_now, d.shown_now, d.changed) for d in diffs] == [(2024, 1, 1, 0)]
    # 100 - 45 - 45: the Asian 10 comes back.
    assert not report.ok
    f = next(f for f in report.failures if f.kind == "exact")
    assert "Asian" in f.cell and f.low == f.high == 10


def test_the_same_pattern_again_is_not_audited_again(tmp_path: Path) -> None:
    raw = _raw()
    pub = protect(raw, POLICY)
    report, diffs = audit_releases(_site(pub, tmp_path / "a"), _site(pub, tmp_path / "b"),
                                   POLICY, hint=raw)
    assert report.ok and report.n_cells == 0 and [d.same_pattern for d in diffs] == [True]


def test_a_year_left_out_now_is_named_as_such_and_not_audited(tmp_path: Path) -> None:
    """A new year in, the oldest out: the live site publishes 2023 and 2024, the new
    release 2024 only. 2023 is not audited."""
    raw = _raw()
    old = raw.with_columns(pl.lit(2023, pl.Int32).alias("year"))
    earlier = pl.concat([protect(old, POLICY), protect(raw, POLICY)])
    report, diffs = audit_releases(_site(earlier, tmp_path / "earlier"),
                                   _site(protect(raw, POLICY), tmp_path / "later"), POLICY,
                                   hint=raw)
    assert report.ok and report.n_cells == 0
    assert [(d.year, d.dropped, d.same_pattern) for d in diffs] == [(2023, True, True),
                                                                  (2024, False, True)]
    assert diffs[0].render() == ("2023: not in this release (published before, it is left "
                                 "out now: nothing new about it is published)")


def test_a_number_no_longer_true_is_not_taken_as_known(tmp_path: Path) -> None:
    """A correction: White was 45 and is 46 now. The earlier release's 45 is not a fact
    about today's data, so it pins nothing (counted as changed, not as known)."""
    earlier = protect(_raw(), POLICY)
    raw = _raw(white=46)
    later = _swap(protect(raw, POLICY), raw)
    assert row(later, student_group="White")["suppressed"]
    report, diffs = audit_releases(_site(earlier, tmp_path / "earlier"),
                                   _site(later, tmp_path / "later"), POLICY, hint=raw)
    assert [(d.withheld_now, d.shown_now, d.changed) for d in diffs] == [(0, 1, 2)]
    assert report.ok


def test_an_earlier_number_of_a_cell_the_later_release_lacks_counts_only_if_true() -> None:
    earlier = protect(_raw(), POLICY)
    extra = earlier.filter(pl.col("student_group") == "White").with_columns(
        pl.lit("Female").alias("student_group"), pl.lit("Sex").alias("group_family"))
    later = protect(_raw(), POLICY)
    truth = pl.concat([_raw(), frame([cell(45, "Female")])])
    known, _ = together(pl.concat([earlier, extra]), later, truth=truth)
    assert "Female" in known["student_group"].to_list()  # 45: still true
    stale = extra.with_columns(pl.lit(44, dtype=pl.Int64).alias("n_students"))
    known, _ = together(pl.concat([earlier, stale]), later, truth=truth)
    assert "Female" not in known["student_group"].to_list()



def test_a_band_no_longer_true_is_not_taken_as_known() -> None:
    """The earlier release showed Female's basic level as "≤5%" (0 of 40); revised, it is 3
    of 40 now (7.5%), and today's release withholds it. The band is a claim about the
    numerator, as a number is: no longer true, it is not what a visitor knows of today's
    data (taken as known, today's true values were impossible under it)."""
    def levels(female: dict[str, int]) -> pl.DataFrame:
        male = {"level_below_basic": 40, "level_basic": 50, "level_proficient": 50,
                "level_advanced": 20}
        total = {k: female[k] + male[k] for k in female}
        return frame(assessment_rows(total, "All students", "All")
                     + assessment_rows(female, "Female", "Sex")
                     + assessment_rows(male, "Male", "Sex"))

    before = levels({"level_below_basic": 0, "level_basic": 0, "level_proficient": 10,
                     "level_advanced": 30})
    now = levels({"level_below_basic": 0, "level_basic": 3, "level_proficient": 7,
                  "level_advanced": 30})
    earlier, later = protect(before, POLICY), protect(now, POLICY)
    where = {"student_group": "Female", "measure": "level_basic"}
    assert row(earlier, **where)["display"] == "≤5%"
    assert row(later, **where)["reason"] == "complementary"  # 3: withheld today
    # Still true (the same data): the band is known.
    known, _ = together(earlier, protect(before, POLICY), truth=before)
    assert row(known, **where)["display"] == "≤5%"
    known, _ = together(earlier, later, truth=now)
    assert row(known, **where)["reason"] == "complementary"


def test_a_withheld_cell_of_no_student_now_is_left_out_of_the_releases_together(
        tmp_path: Path) -> None:
    """A correction that empties a cell: the earlier release withheld a Pacific Islander
    count of 1, and today no student is in it, so today's release has no such cell. Taken
    as a withheld value of today's, it sat in today's races' sum and loosened it (Asian
    and it together were 10, not Asian alone); and full state, it changed the year's
    variables, so that none of protect()'s witnesses applied, and the gate's audit of the
    two releases together took 605 s instead of seconds."""
    raw = _raw()
    old = frame([cell(101), cell(10, "Asian", RACE), cell(45, "Black", RACE),
                 cell(45, "White", RACE), cell(1, "Pacific Islander", RACE)])
    earlier = protect(old, POLICY)
    assert row(earlier, student_group="Pacific Islander")["reason"] == "primary"
    assert not row(earlier, student_group="White")["suppressed"]
    later = _swap(protect(raw, POLICY), raw)
    known, _ = together(earlier, later, truth=raw)
    assert "Pacific Islander" not in known["student_group"].to_list()
    report, _ = audit_releases(_site(earlier, tmp_path / "earlier"),
                               _site(later, tmp_path / "later"), POLICY, hint=raw)
    assert any(f.kind == "exact" and "Asian" in f.cell for f in report.failures), \
        report.render()

def test_the_command_says_which_years_differ_and_refuses(tmp_path: Path) -> None:
    raw = _raw()
    earlier = protect(raw, POLICY)
    agg = tmp_path / "aggregates"
    agg.mkdir()
    raw.write_parquet(agg / "cells.parquet")
    e, later = _site(earlier, tmp_path / "earlier"), _site(_swap(earlier, raw), tmp_path / "l")
    run = CliRunner().invoke(main, ["audit-releases", str(e), str(later),
                                    "--aggregates", str(agg)])
    assert run.exit_code == 1, run.output
    assert "2024: 1 rows withheld (or shown as a range) now that the earlier release showed" \
        in run.output
    assert "discloses what each alone protects" in run.output and "Asian" in run.output
    same = CliRunner().invoke(main, ["audit-releases", str(e), str(e), "--aggregates",
                                     str(agg)])
    assert same.exit_code == 0 and "PASSED" in same.output, same.output
    empty = CliRunner().invoke(main, ["audit-releases", str(tmp_path / "nothing"), str(e)])
    assert empty.exit_code == 1 and "no published CSVs under downloads/" in empty.output


def test_a_failed_audit_lists_what_is_disclosed_before_what_is_unproven() -> None:
    """A full-state year of two releases together failed 296 ways, 11 of them exact: listed
    in the order found, the first 50 lines showed only "not proven protected"."""
    found = [Failure("unproven", f"school {i}", 1, 2, 5) for i in range(60)]
    found += [Failure("exact", "school 96091/3010 below basic", 3, 3),
              Failure("approximate", "school 7", 1, 2, 5)]
    text = AuditReport(failures=found).render(limit=2)
    assert text.splitlines()[2:] == [
        "  exactly disclosed: school 96091/3010 below basic can only be 3..3",
        "  approximately disclosed: school 7 can only be 1..2 (needs a range of 5)",
        "  ... and 60 more"]


# --- a published year keeps what it withheld (keep_pattern, protect_by_year's live) --------

def test_protecting_again_from_the_live_pattern_withholds_what_it_withheld(
        tmp_path: Path) -> None:
    """The live site withheld White as Asian's complement; protected afresh, this release
    would withhold Black instead, and the two together give Asian away. Kept from the live
    pattern, it withholds White again: together they tell what the live site alone did."""
    raw = _raw()
    live = _swap(protect(raw, POLICY), raw)
    assert not row(protect(raw, POLICY), student_group="White")["suppressed"]
    kept, witnesses = keep_pattern(raw, POLICY, live)
    assert row(kept, student_group="White")["suppressed"]
    assert row(kept, student_group="Asian")["reason"] == "primary"
    assert audit(kept, tmp_path, "kept.csv").ok and set(witnesses) == {2024}
    report, _ = audit_releases(_site(live, tmp_path / "live"), _site(kept, tmp_path / "kept"),
                               POLICY, hint=raw)
    assert report.ok
    # Its own result as the live pattern: the same again, nothing more withheld.
    assert keep_pattern(raw, POLICY, kept)[0].equals(kept)


def test_a_live_release_of_the_same_pattern_changes_nothing() -> None:
    raw = _raw()
    fresh = protect(raw, POLICY)
    said: list[str] = []
    assert protect_by_year(raw, POLICY, None, live=fresh, log=said.append).equals(fresh)
    assert said == []


def test_a_correction_that_changes_most_of_a_years_numbers_is_still_a_correction(
        tmp_path: Path) -> None:
    """A one-district state of 190 pupils, 29 of whom are found not to have been enrolled:
    70% of the numbers the live site publishes change. A live year with more than half of
    its numbers changed used to be taken for "a release of other data": its pattern was
    not kept, the gate did not audit the two releases together, and the fresh pattern
    published 117 numbers changed by fewer than 30 students, each telling who left (found
    by random corrections of random toy states, session 51). Only the manifests may say
    that a live site is of other students now (the next test): this year is kept, and
    what its changes would tell stays withheld."""
    st = toy_students(11, n_districts=1, schools=(1, 3), size=(4.3, 0.7))
    gone = np.random.default_rng(0).choice(st.height, 29, replace=False)
    raw = toy_cells(st.with_row_index("_i").filter(~pl.col("_i").is_in(gone)).drop("_i"))
    live = protect(toy_cells(st), POLICY)
    assert stale_share(live, raw) > 0.5
    fresh = protect(raw, POLICY)
    told = told_by_change(live, fresh, POLICY.min_cell_size)
    assert told.height > 0
    live_site, fresh_site = _site(live, tmp_path / "live"), _site(fresh, tmp_path / "fresh")
    _, diffs = audit_releases(live_site, fresh_site, POLICY, hint=raw)
    assert len(diffs[0].told) >= told.height, "audited together, the changes are told"
    (tmp_path / "agg").mkdir()
    raw.write_parquet(tmp_path / "agg" / "cells.parquet")
    gate = run_gate(fresh_site, audit=True, live=live_site,
                    raw_cells=tmp_path / "agg" / "cells.parquet",
                    policy=Path(__file__).parents[1] / "report_specs" / "policy.yaml")
    assert any("the change itself tells" in f.rule for f in gate.findings), gate.findings

    said: list[str] = []
    kept = protect_by_year(raw, POLICY, None, live=live, log=said.append)
    assert "keeping what the live site withholds" in said[0], said
    assert told_by_change(live, kept, POLICY.min_cell_size).is_empty()
    assert derived_changes(live, kept, POLICY) == []
    report, diffs = audit_releases(live_site, _site(kept, tmp_path / "kept"), POLICY,
                                   hint=raw)
    assert report.ok and not any(d.told for d in diffs), report.render()


def test_a_live_site_of_other_students_is_known_by_the_manifests_alone(tmp_path: Path,
                                                                       ) -> None:
    """A demo of another synthetic state (another seed, profile, scale or generator
    version) published over the last one has none of its students: its patterns are not
    kept, nor audited with it. Only where both say so: the live site's manifest records
    the synthetic extract it came from, and the extract is synthetic too. A DESE extract,
    or a live site whose manifest does not say, is of the same students."""
    def extract(name: str, **meta: object) -> Path:
        (tmp_path / name).mkdir()
        (tmp_path / name / "extract.json").write_text(json.dumps(meta), "utf-8")
        return tmp_path / name

    made = {"generator": "site_builder.synth", "generator_version": "2", "profile": "tiny",
            "seed": 1, "scale": 1.0, "years": [2024], "canaries": 0}
    one = extract("one", **made)
    more = extract("more", **{**made, "years": [2024, 2025], "canaries": 5})
    other = extract("other", **{**made, "seed": 2})
    dese = extract("dese", format="parquet", years=[2024])
    specs = Path(__file__).parents[1] / "report_specs"
    site = _site(protect(_raw(), POLICY), tmp_path / "live")
    live = read_release(site)
    assert live is not None
    said: list[str] = []
    assert live_of_other_data(site, other) is None, "no manifest: it may be these students"
    write_manifest(site, specs=specs, extract=one, parameters={})
    assert json.loads((site / "manifest.json").read_text("utf-8"))["extract_identity"] == {
        k: made[k] for k in ("generator", "generator_version", "profile", "seed", "scale")}
    assert live_of_other_data(site, one) is None
    assert live_of_other_data(site, more) is None, "one year more, canaries: the same students"
    assert live_of_other_data(site, dese) is None, "DESE's extract: its own students"
    why = live_of_other_data(site, other)
    assert why is not None and "seed 1" in why and "seed 2" in why, why
    assert read_live(site, other, log=said.append) is None
    assert said == [f"protect: {site} is not a release of these students ({why}); what it "
                    "withholds is not kept"]
    got = read_live(site, one, log=said.append)
    assert got is not None and got.equals(live) and len(said) == 1
    write_manifest(site, specs=specs, extract=dese, parameters={})
    assert live_of_other_data(site, other) is None, "the live site does not say whose"


def test_protect_by_year_keeps_the_live_pattern_where_it_would_show_more() -> None:
    raw = _raw()
    live = _swap(protect(raw, POLICY), raw)
    said: list[str] = []
    witnesses: dict = {}
    out = protect_by_year(raw, POLICY, None, live=live, log=said.append, witnesses=witnesses)
    assert out.equals(keep_pattern(raw, POLICY, live)[0])
    assert said[0] == ("protect: 2024: 1 rows the live site withholds (or shows as a range) "
                       "would be shown; protecting 2024 again, keeping what the live site "
                       "withholds")
    assert set(witnesses) == {2024}


def test_a_year_kept_from_the_live_pattern_is_cached_by_that_pattern(tmp_path: Path) -> None:
    """A kept year is read back, not protected again, when published again over the same
    live site (after a failed gate, say), and when published over itself (the next run,
    after another year's data changed). Over another live pattern, it is kept again."""
    raw = _raw()
    # A live release that White withheld as Asian's complement, and whose Black row reads
    # "46": a row the kept year does not show as the live site did, so that the two
    # patterns, and their keys, differ.
    live = _swap(protect(raw, POLICY), raw).with_columns(
        pl.when(pl.col("student_group") == "Black").then(pl.lit("46"))
        .otherwise(pl.col("display")).alias("display"))
    first: dict = {}
    said: list[str] = []
    out = protect_by_year(raw, POLICY, tmp_path, live=live, log=said.append, witnesses=first)
    assert "protecting 2024 again" in said[-2], said
    assert row(out, student_group="White")["suppressed"]
    assert row(out, student_group="Black")["display"] == "45"
    said.clear()
    again: dict = {}
    assert protect_by_year(raw, POLICY, tmp_path, live=live, log=said.append,
                           witnesses=again).equals(out)
    assert said[-1] == ("protect: 2024: reusing the year kept before from the same raw cells "
                        "and the same live pattern")
    assert all(a.equals(b) for a, b in zip(witness_frames(again), witness_frames(first),
                                           strict=True))
    # Published, the kept year is the next run's live pattern (its CSV read back): given its
    # own result, keep_pattern returns it, and the cache says so.
    assert keep_pattern(raw, POLICY, out)[0].equals(out)
    said.clear()
    assert protect_by_year(raw, POLICY, tmp_path, live=read_release(_site(out, tmp_path / "k")),
                           log=said.append).equals(out)
    assert said[-1].startswith("protect: 2024: reusing the year kept before"), said


def test_a_live_pattern_that_cannot_be_kept_stops_compute_and_says_why() -> None:
    """A live release (of a faulty earlier version, say) that published Black and White
    beside the total, giving Asian's 10 away, and withheld Female for nothing. Today's
    pattern would show Female; kept from the live pattern, Asian needs a complement, and
    every candidate is a number the live site publishes: compute stops with a hint."""
    raw = frame([cell(100), cell(10, "Asian", RACE), cell(45, "Black", RACE),
                 cell(45, "White", RACE), cell(50, "Female", "Sex"), cell(50, "Male", "Sex")])
    fresh = protect(raw, POLICY)
    assert not row(fresh, student_group="Female")["suppressed"]
    group = pl.col("student_group")
    live = fresh.with_columns(
        pl.when(group.is_in(["Black", "White"])).then(pl.lit(45, pl.Int64))
        .when(group == "Female").then(None).otherwise(pl.col("n_students"))
        .alias("n_students")).with_columns(
        pl.col("n_students").is_null().alias("suppressed"),
        pl.when(pl.col("n_students").is_null()).then(pl.lit("*"))
        .otherwise(pl.col("n_students").cast(pl.String)).alias("display"),
        pl.when(group == "Female").then(pl.lit("complementary"))
        .when(group.is_in(["Black", "White"])).then(pl.lit(""))
        .otherwise(pl.col("reason")).alias("reason"))
    with pytest.raises(ProtectionError) as err:
        protect_by_year(raw, POLICY, None, live=live, log=lambda _: None)
    text = str(err.value)
    assert text.startswith("2024 could not be protected keeping what the live site withholds")
    assert "'Differencing between releases'" in text and "nothing was published" in text
    assert "Asian: number of students (enrolled) can only be 10..10" in text
    assert "Audited 0" not in text  # (no audit's counts: none were summed)


def test_a_head_count_the_live_site_published_stays_published_in_a_kept_year(
        tmp_path: Path) -> None:
    """A year's tests scored again (a re-scoring: 30% of them one level up or down) after
    the year was published; the tested counts are the same. Kept from the live pattern, a
    unit's changed levels are withheld as complements, and with no rate over it shown,
    its head count went too, although the live site published it and it is still true.
    Withheld, it was pinned by numbers beside it that the live site published, no
    complements either, and compute stopped ("district 001091, Math, grade 03, All
    students: number of students (tested) can only be 169..169"). Now such a head count
    stays published, on the rows of its withheld rates."""
    specs = load_specs(Path(__file__).resolve().parents[1] / "report_specs")
    generate(tmp_path / "x", seed=20240601, years=(2022,), profile="tiny", canaries=0,
             progress=False)
    shutil.copytree(tmp_path / "x", tmp_path / "y")
    tests = tmp_path / "y" / "2022" / "assessment.parquet"
    scored = pl.read_parquet(tests)
    order = ["Below Basic", "Basic", "Proficient", "Advanced"]
    rng = np.random.default_rng(4)
    level = np.array([order.index(v) for v in scored["achievement_level"]])
    again = rng.random(len(level)) < 0.3
    level = np.where(again, np.clip(level + rng.choice([-1, 1], len(level)), 0, 3), level)
    scored.with_columns(pl.Series("achievement_level", np.array(order)[level])).write_parquet(
        tests)
    before = compute_cells(load_extract(tmp_path / "x"), specs)
    raw = compute_cells(load_extract(tmp_path / "y"), specs)
    live = read_release(_site(protect(before, POLICY), tmp_path / "live"))
    assert live is not None
    kept, _ = keep_pattern(raw, POLICY, live)
    key = ["level", "district_code", "school_code", "subject", "grade", "student_group"]
    units = kept.filter(pl.col("topic") == "assessment").group_by(key).agg(
        pl.col("reason").is_in(["primary", "complementary"]).all().alias("all_withheld"),
        pl.col("n_students").drop_nulls().first().alias("shown"))
    # Units whose every rate is withheld, their head count shown all the same: the live
    # site published it, and it is still true.
    shown = units.filter(pl.col("all_withheld") & pl.col("shown").is_not_null())
    assert shown.height > 0
    was = shown.join(live.select(*key, pl.col("n_students").alias("live")).drop_nulls("live")
                     .unique(), on=key)
    assert was.height == shown.height and was.filter(pl.col("live") != pl.col("shown")).is_empty()
    assert audit(kept, tmp_path, "kept.csv").ok
    report, _ = audit_releases(tmp_path / "live", _site(kept, tmp_path / "kept"), POLICY,
                               hint=raw)
    assert report.ok, report.render()
    # Published, it is the next run's live pattern: kept again from it, it is itself.
    assert keep_pattern(raw, POLICY, read_release(tmp_path / "kept"))[0].equals(kept)


def test_a_kept_year_does_not_withhold_a_head_count_the_live_site_published() -> None:
    """A numerator narrow round after round loses its whole unit, its head count with it;
    not in a kept year where the live site published that head count, still true: that
    would hide nothing from whoever kept it (and its published neighbours would pin it)."""
    raw = frame(assessment_rows({"level_below_basic": 12, "level_basic": 20,
                                 "level_proficient": 30, "level_advanced": 18},
                                "All students", "All"))
    st, variables = protect_state(raw)
    den = variables.filter(pl.col("is_den"))["i"].to_numpy()
    num = variables.filter(~pl.col("is_den"))["i"].to_numpy()
    assert len(den) == 1 and len(num) == 5
    nothing = np.zeros(variables.height, bool)
    assert protect_state(raw)[0].hide_units(num[:1]) == 1  # a fresh pattern: the unit goes
    known = nothing.copy()
    known[den] = True
    st.withhold_as_before(nothing, nothing, known, nothing, np.full(variables.height, np.nan))
    assert st.hide_units(num[:1]) == 0
    assert not st.hidden[den].any()
    # Every rate over it withheld: it is still published, on their rows.
    st.hide(num)
    st.greedy()
    assert not st.hidden[den].any()


def test_the_gate_refuses_a_release_that_discloses_together_with_the_live_one(
        tmp_path: Path) -> None:
    raw = _raw()
    agg = tmp_path / "aggregates"
    agg.mkdir()
    raw.write_parquet(agg / "cells.parquet")
    earlier = protect(raw, POLICY)
    live = _site(earlier, tmp_path / "live")
    staged = _site(_swap(earlier, raw), tmp_path / "staged")

    def together_findings(live_site: Path | None) -> list[str]:
        report = run_gate(staged, audit=True, live=live_site, raw_cells=agg / "cells.parquet",
                          policy=Path(__file__).parents[1] / "report_specs" / "policy.yaml")
        return [f.rule for f in report.findings if "live site" in f.rule]

    assert together_findings(None) == []
    found = together_findings(live)
    assert any("Asian" in f and "can only be 10..10" in f for f in found), found
    # The same CSVs as the live site's: nothing to audit together, and nothing found.
    same = run_gate(live, audit=True, live=live, raw_cells=agg / "cells.parquet")
    assert same.ok and any("same, byte for byte" in n for n in same.notes), same.notes


def test_a_school_closed_in_a_revised_year_is_kept_with_what_it_pins_shown(
        tmp_path: Path) -> None:
    """A correction after the year was published: Portageville Elem. (001091/4060) had in
    fact closed, its pupils James Elementary's (4080). The live site withheld 4080's
    numbers as complements of 4060's; today they are Kirksville's less the schools the
    live site published, pinned by numbers no kept year may withhold, and compute stopped
    ("school 001091/4080, ELA, grade 05, All students: number of students (tested) can only
    be 95..95"). Withheld, they hide nothing: they are published now. A band over a head
    count published so is shown as its band again, not withheld as "complementary" (over
    a published head count that says its rate is not extreme: the audit's ranges were of
    numbers that cannot be, and the releases together 'disclosed' 588 values).

    Since a grade's tested count is held within its enrolment (policy.yaml's
    ``population_bounds``), the live site withholds enrolments beside tested counts, and
    nothing of 4080's is pinned any more: the year is kept as the live site withheld it.
    The case of a value so pinned is
    :func:`test_a_closed_schools_pupils_pinned_by_the_live_site_are_shown`."""
    specs = load_specs(Path(__file__).resolve().parents[1] / "report_specs")
    generate(tmp_path / "x", seed=20240601, years=(2024,), profile="tiny", canaries=0,
             progress=False)
    shutil.copytree(tmp_path / "x", tmp_path / "y")
    closed = (pl.col("district_code") == "001091") & (pl.col("school_code") == "4060")
    for name in ("enrollment", "assessment"):
        path = tmp_path / "y" / "2024" / f"{name}.parquet"
        df = pl.read_parquet(path)
        assert df.filter(closed).height
        df.with_columns(pl.when(closed).then(pl.lit("4080")).otherwise(pl.col("school_code"))
                        .alias("school_code")).write_parquet(path)
    before = compute_cells(load_extract(tmp_path / "x"), specs)
    raw = compute_cells(load_extract(tmp_path / "y"), specs)
    live = read_release(_site(protect(before, POLICY), tmp_path / "live"))
    assert live is not None
    kept, _ = keep_pattern(raw, POLICY, live)
    key = list(KEY)
    james = kept.filter((pl.col("school_code") == "4080") & (pl.col("district_code") == "001091"))
    was = james.join(live.select(*key, pl.col("reason").alias("live")), on=key)
    assert was.height > 0
    # A numerator over a head count withheld before and shown now: a band where its rate
    # is extreme, never "complementary" (the head count published says it is not).
    heads = set(was.filter(pl.col("n_students").is_not_null()).select(
        "subject", "grade", "student_group").rows())
    true = raw.select(*key, pl.col("n_meeting").alias("m"))
    for r in was.join(true, on=key).filter(pl.col("n_meeting").is_null()
                                            & pl.col("m").is_not_null()).iter_rows(named=True):
        if (r["subject"], r["grade"], r["student_group"]) in heads and r["reason"] != "primary":
            band = POLICY.band_for(r["n_students"] or 0)
            if band is not None and r["n_students"] and (
                    100 * r["m"] <= band.bottom * r["n_students"]
                    or 100 * r["m"] >= band.top * r["n_students"]):
                assert r["reason"] in ("top_coded", "bottom_coded"), r
    own = audit_cells(kept, POLICY, hint=raw)  # no witnesses: every range solved again
    assert own.ok, own.render()
    report, _ = audit_releases(tmp_path / "live", _site(kept, tmp_path / "kept"), POLICY,
                               hint=raw)
    assert report.ok, report.render()
    assert keep_pattern(raw, POLICY, read_release(tmp_path / "kept"))[0].equals(kept)


def test_a_closed_schools_pupils_pinned_by_the_live_site_are_shown() -> None:
    """The live site withheld a school of 10 pupils (0102) and, as its complement, one of
    50 (0103); it published the district's 160 and 0101's 100. A correction: 0102 had
    closed, its pupils 0103's. 0103's 60 is then the district's 160 less 0101's 100, both
    still true on the live site, which no kept year can withhold: withheld, 0103's count
    hides nothing, so it is published (without that, compute stops: "0103 ... can only be
    60..60", nothing left to withhold)."""
    def cells(schools: dict[str, int]) -> pl.DataFrame:
        total = sum(schools.values())
        return frame([cell(total, level="state"), cell(total, level="district"),
                      *[cell(n, school=s) for s, n in schools.items()]])

    live = protect(cells({"0101": 100, "0102": 10, "0103": 50}), POLICY)
    assert row(live, school_code="0103")["reason"] == "complementary"
    assert not row(live, school_code="0101")["suppressed"]
    kept, _ = keep_pattern(cells({"0101": 100, "0103": 60}), POLICY, live)
    assert row(kept, school_code="0103")["n_students"] == 60
    assert row(kept, school_code="0103")["reason"] == ""


def test_a_correction_that_moves_students_to_new_codes_in_a_published_year_is_refused(
        tmp_path: Path) -> None:
    """A correction after the year was published: Avenue City R-IX (002090) had in fact
    merged into North Andrew Co. R-VI (002089), its school recoded 4030. The live site
    publishes 002090's numbers; the new codes' would be protected afresh, not kept to what
    the live site withheld of the same students (on the full state, that published a high
    school's counts that, with the live site's district numbers, gave its elementary
    school's top-coded rate exactly). compute stops, naming the places, and nothing is
    published. A school closed without new codes (its pupils another school's) is kept as
    before."""
    specs = load_specs(Path(__file__).resolve().parents[1] / "report_specs")
    generate(tmp_path / "x", seed=20240601, years=(2024,), profile="tiny", canaries=0,
             progress=False)
    before = compute_cells(load_extract(tmp_path / "x"), specs)
    live = read_release(_site(protect(before, POLICY), tmp_path / "live"))
    assert live is not None

    def corrected(name: str, src: pl.Expr, district: str, school: str) -> pl.DataFrame:
        shutil.copytree(tmp_path / "x", tmp_path / name)
        for table in ("enrollment", "assessment", "graduation"):
            path = tmp_path / name / "2024" / f"{table}.parquet"
            df = pl.read_parquet(path)
            df.with_columns(pl.when(src).then(pl.lit(district)).otherwise(
                                pl.col("district_code")).alias("district_code"),
                            pl.when(src).then(pl.lit(school)).otherwise(
                                pl.col("school_code")).alias("school_code")).write_parquet(path)
        return compute_cells(load_extract(tmp_path / name), specs)

    merged = corrected("merged", pl.col("district_code") == "002090", "002089", "4030")
    with pytest.raises(ProtectionError) as err:
        keep_live(protect(merged, POLICY), merged, POLICY, live, {}, log=lambda _m: None)
    text = " ".join(str(err.value).split())
    assert ("the live site publishes 002090 and 002090/4020, with no students in 2024 now, "
            "and this release has 002089/4030, which the live site does not publish in "
            "2024") in text
    assert "Hint: publish 2024 under the codes the live site uses" in text

    # The gate's audit of the two releases together, and `reportcard audit-releases`, cannot
    # relate the codes either: they say so and refuse.
    agg = tmp_path / "aggregates"
    agg.mkdir()
    merged.write_parquet(agg / "cells.parquet")
    later = _site(protect(merged, POLICY), tmp_path / "later")
    _, diffs = audit_releases(tmp_path / "live", later, POLICY, hint=merged)
    assert [(d.year, d.moved) for d in diffs if d.recoded] == [
        (2024, (("002090", "002090/4020"), ("002089/4030",)))]
    run = CliRunner().invoke(main, ["audit-releases", str(tmp_path / "live"), str(later),
                                    "--aggregates", str(agg)])
    assert run.exit_code == 1, run.output
    assert "cannot be audited together" in run.output and "new now: 002089/4030" in run.output
    gate = run_gate(later, audit=True, live=tmp_path / "live", raw_cells=agg / "cells.parquet",
                    policy=Path(__file__).parents[1] / "report_specs" / "policy.yaml")
    assert not gate.ok
    assert any("2024: the live site publishes 002090, 002090/4020, not in this release, and "
               "this release has 002089/4030" in f.rule for f in gate.findings), gate.findings

    closed = corrected("closed", (pl.col("district_code") == "001091")
                       & (pl.col("school_code") == "4060"), "001091", "4080")
    kept = keep_live(protect(closed, POLICY), closed, POLICY, live, {}, log=lambda _m: None)
    assert kept.filter(pl.col("school_code") == "4060").is_empty()
    _, diffs = audit_releases(tmp_path / "live", _site(kept, tmp_path / "kept"), POLICY,
                              hint=closed)
    assert not any(d.recoded for d in diffs)


def test_a_correction_whose_changes_tell_small_groups_keeps_them_withheld(
        tmp_path: Path) -> None:
    """A correction after the year was published: a charter school (001930/4010) had in
    fact opened that year, with 15% of Kirksville R-III's pupils in kindergarten to grade 5.
    Published again, each number of Kirksville's that changed by fewer than 30 students
    tells that group: a school's tested count of 52, then 42, says 10 of its pupils who
    left were tested; its "below basic" count, 15 then 12, that 3 of them were below basic
    (primary suppression's rule, applied to the table of changes). So do changes that add
    up to one: a school's enrollment changed by 45, its White pupils' by 38, tells of 7
    others. A fresh pattern publishes such changes: the gate, and `reportcard
    audit-releases`, refuse it, naming them. The kept year withholds them (and, for the
    sums, one more part: without it compute stops), and passes.

    (The pupils drawn with seed 1 instead leave a year no pattern can keep, and compute
    stops, rightly: Portageville's grade 4 then has 29 tested, a small group, of 31
    enrolled, withheld as a complement, so at least 30; and the live site's state and
    district numbers, still true, leave at most 4 of the withheld districts' 4th graders
    untested, so the 29 can only be 26..29.)"""
    specs = load_specs(Path(__file__).resolve().parents[1] / "report_specs")
    generate(tmp_path / "x", seed=20240601, years=(2024,), profile="tiny", canaries=0,
             progress=False)
    shutil.copytree(tmp_path / "x", tmp_path / "y")
    kirksville = pl.col("district_code") == "001091"
    pupils = (pl.read_parquet(tmp_path / "x" / "2024" / "enrollment.parquet")
              .filter(kirksville & pl.col("grade").is_in(["K", "01", "02", "03", "04", "05"]))
              ["student_id"].unique().sort().sample(fraction=0.15, seed=2).to_list())
    moved = kirksville & pl.col("student_id").is_in(pupils)
    for table in ("enrollment", "assessment"):
        path = tmp_path / "y" / "2024" / f"{table}.parquet"
        df = pl.read_parquet(path)
        df.with_columns(
            pl.when(moved).then(pl.lit("001930")).otherwise(pl.col("district_code"))
            .alias("district_code"),
            pl.when(moved).then(pl.lit("4010")).otherwise(pl.col("school_code"))
            .alias("school_code")).write_parquet(path)
    before = compute_cells(load_extract(tmp_path / "x"), specs)
    raw = compute_cells(load_extract(tmp_path / "y"), specs)
    live = read_release(_site(protect(before, POLICY), tmp_path / "live"))
    assert live is not None
    agg = tmp_path / "aggregates"
    agg.mkdir()
    raw.write_parquet(agg / "cells.parquet")
    policy_yaml = Path(__file__).parents[1] / "report_specs" / "policy.yaml"

    # A fresh pattern of the corrected year tells what changed, and is refused.
    fresh = protect(raw, POLICY)
    told = told_by_change(live, fresh, POLICY.min_cell_size)
    assert told.height > 0
    assert set(told["district_code"]) == {"001091"}, "only Kirksville's numbers changed"
    sums = derived_changes(live, fresh, POLICY)
    assert any(line.startswith("2024 district 001091,") for line in sums), sums
    # The state's numbers are the same, so Kirksville's change published is the charter's
    # number, withheld as fewer than 30 ("2024 state, grade 01 ... changed by 0; its parts
    # (districts in state) whose change is not published, by 24 in all").
    assert any(line.startswith("2024 state,") for line in sums), sums
    later = _site(fresh, tmp_path / "fresh")
    _, diffs = audit_releases(tmp_path / "live", later, POLICY, hint=raw)
    assert [(d.year, len(d.told)) for d in diffs] == [(2024, told.height + len(sums))]
    gate = run_gate(later, audit=True, live=tmp_path / "live", raw_cells=agg / "cells.parquet",
                    policy=policy_yaml)
    found = [f.rule for f in gate.findings if "the change itself tells" in f.rule]
    assert not gate.ok and len(found) == 1, gate.findings
    assert (f"2024: {told.height + len(sums):,} numbers the live site publishes (or sums "
            "of them)") in found[0]
    assert "001091" in found[0] and "n_students " in found[0], found[0]
    run = CliRunner().invoke(main, ["audit-releases", str(tmp_path / "live"), str(later),
                                    "--aggregates", str(agg)])
    assert run.exit_code == 1 and "the change itself tells a small group" in run.output

    # Kept to the live pattern, the changed numbers stay withheld, and the year passes.
    logged: list[str] = []
    kept = keep_live(fresh, raw, POLICY, live, {}, log=logged.append)
    assert any("would be published changed by fewer than 30 students" in m for m in logged)
    assert told_by_change(live, kept, POLICY.min_cell_size).is_empty()
    # Nor do the changes it publishes add up to one (without protect's rule for the sums,
    # keep_live stops: "3 numbers the live site publishes (or sums of them) changed ...").
    assert derived_changes(live, kept, POLICY) == []
    changed = told.select(list(KEY)).join(kept, on=list(KEY), how="left")
    assert changed["n_students"].is_null().any() and changed["suppressed"].any()
    assert audit_cells(kept, POLICY, hint=raw).ok
    site = _site(kept, tmp_path / "kept")
    report, diffs = audit_releases(tmp_path / "live", site, POLICY, hint=raw)
    assert report.ok and not any(d.told for d in diffs), report.render()
    # Its pattern is not "the same" as the live one's, even where nothing still true is
    # withheld now: what changed is (full state, session 50: 2024 corrected, 132 withheld).
    assert "the same pattern" not in replace(diffs[0], withheld_now=0, shown_now=0).render()
    gate = run_gate(site, audit=True, live=tmp_path / "live", raw_cells=agg / "cells.parquet",
                    policy=policy_yaml)
    assert gate.ok, gate.findings
    # Given its own result as the live pattern, the kept year comes back unchanged.
    assert keep_pattern(raw, POLICY, read_release(site))[0].equals(kept)


def test_outcome_changes_that_add_up_to_a_small_group_are_told() -> None:
    """Re-scored tests: a district's proficient count up by 40, one school's (published)
    by 35, the other school's withheld: 5 of its pupils changed level, with no pupil come
    or gone (a rate over a group of 5, as told_by_change says of one number). Had 40 more
    pupils been tested there, its 5 would be a rate over 40: not told. Nor where what
    came or went is not published but the district's count and the other school's give it
    (40)."""
    kw = {"topic": "assessment", "measure": "proficient_or_advanced", "subject": "ELA"}

    def rows(a: int, b: int, tested_b: int = 80) -> pl.DataFrame:
        return frame([cell(120 + tested_b, level="district", meeting=a + b, **kw),
                      cell(120, school="0101", meeting=a, **kw),
                      cell(tested_b, school="0102", meeting=b, **kw)])

    def withheld(df: pl.DataFrame, *cols: str) -> pl.DataFrame:
        return df.with_columns(pl.when(pl.col("school_code") == "0102").then(None)
                               .otherwise(pl.col(c)).alias(c) for c in cols)

    earlier = rows(60, 40)
    later = withheld(rows(95, 45), "n_meeting")
    assert told_by_change(earlier, later, POLICY.min_cell_size).is_empty()
    assert derived_changes(earlier, later, POLICY) == [
        "2024 district 000001, ELA, grade All, All students: students meeting "
        "assessment/proficient_or_advanced changed by 40; its parts (schools in district) "
        "whose change is not published, by 5 in all (their head count by 0)"]
    assert derived_changes(earlier, withheld(rows(95, 45, tested_b=120), "n_meeting"),
                           POLICY) == []
    assert derived_changes(earlier, withheld(rows(95, 45, tested_b=120), "n_meeting",
                                             "n_students"), POLICY) == []
    # The same within one school's levels: proficient or advanced up by 35, proficient
    # (published) by 33, advanced withheld: 2 pupils re-scored to advanced.
    def levels(prof: int, adv: int) -> pl.DataFrame:
        return frame([cell(100, meeting=prof + adv, **kw),
                      cell(100, meeting=prof, **{**kw, "measure": "level_proficient"}),
                      cell(100, meeting=adv, **{**kw, "measure": "level_advanced"})])
    later = levels(53, 12).with_columns(
        pl.when(pl.col("measure") == "level_advanced").then(None).otherwise(pl.col("n_meeting"))
        .alias("n_meeting"))
    lines = derived_changes(levels(20, 10), later, POLICY)
    assert len(lines) == 1 and lines[0].endswith(
        "(proficient_or_advanced = sum) whose change is not published, by 2 in all (their "
        "head count by 0)"), lines


def test_a_kept_year_hides_outcome_changes_that_add_up_to_a_small_group(tmp_path: Path,
                                                                      ) -> None:
    """A district of three schools; the live site withholds the proficient counts of two
    (complements of each other). A correction re-scores 35 pupils at the first school and
    1 at the second: published afresh, the district's count (up 36) less the first
    school's (up 35) tells that 1 pupil of the other two was re-scored. The kept year
    withholds the first school's count too (the cheapest part: a numerator); without
    protect's rule for sums of outcomes, compute stops instead."""
    kw = {"topic": "assessment", "measure": "proficient_or_advanced", "subject": "ELA"}

    def rows(a: int, b: int, c: int) -> pl.DataFrame:
        return frame([cell(260, level="district", meeting=a + b + c, **kw),
                      cell(120, school="0101", meeting=a, **kw),
                      cell(80, school="0102", meeting=b, **kw),
                      cell(60, school="0103", meeting=c, **kw)])

    live = protect(rows(60, 78, 30), POLICY)
    assert live["suppressed"].to_list() == [False, False, True, True]
    raw = rows(95, 79, 30)
    fresh = protect(raw, POLICY)
    assert fresh["suppressed"].equals(live["suppressed"])
    assert told_by_change(live, fresh, POLICY.min_cell_size).is_empty()
    assert [line.split("; ")[1] for line in derived_changes(live, fresh, POLICY)] == [
        "its parts (schools in district) whose change is not published, by 1 in all (their "
        "head count by 0)"]
    # Audited together (no head count changed: only outcomes did), the sum is told.
    live_site = _site(live, tmp_path / "live")
    _, diffs = audit_releases(live_site, _site(fresh, tmp_path / "fresh"), POLICY, hint=raw)
    assert len(diffs[0].told) == 1, diffs
    said: list[str] = []
    kept = keep_live(fresh, raw, POLICY, live, {}, log=said.append)
    assert "1 numbers the live site publishes (or sums of them)" in said[0], said
    assert derived_changes(live, kept, POLICY) == []
    assert kept.select("n_students", "n_meeting").rows() == [
        (260, 204), (120, None), (None, None), (None, None)]
    assert audit_cells(kept, POLICY, hint=raw).ok
    report, diffs = audit_releases(live_site, _site(kept, tmp_path / "kept"), POLICY,
                                   hint=raw)
    assert report.ok and not diffs[0].told


def test_a_pattern_whose_codes_do_not_fit_the_truth_is_refused() -> None:
    """A rate withheld as "complementary" over a published head count says the rate is not
    extreme (else it would be coded, as a band): 2 of 80 is. An attacker's LP built on it
    has no true point, and its ranges are of numbers that cannot be; with the truth at
    hand the audit says so, instead of proving or failing values on it."""
    levels = {"level_below_basic": 30, "level_basic": 30, "level_proficient": 18,
              "level_advanced": 2}
    raw = frame(assessment_rows(levels, "All students", "All"))
    pub = protect(raw, POLICY)
    adv = (pl.col("measure") == "level_advanced")
    assert pub.filter(adv)["reason"].to_list() == ["bottom_coded"]
    lying = pub.with_columns(pl.when(adv).then(pl.lit("complementary"))
                             .otherwise(pl.col("reason")).alias("reason"),
                             pl.when(adv).then(pl.lit("*")).otherwise(pl.col("display"))
                             .alias("display"))
    report = audit_cells(lying, POLICY, hint=raw)
    assert [f.kind for f in report.failures][:1] == ["untrue"], report.render()
    assert "level_advanced is 2, but what is published" in report.failures[0].render()
    assert not any(f.kind == "untrue" for f in audit_cells(lying, POLICY).failures)
    assert audit_cells(pub, POLICY, hint=raw).ok

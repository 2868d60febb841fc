"""Two releases of the same data, together (``disclosure.releases``, ``reportcard
audit-releases``): each passes its own audit, and together they must not give away what
each alone protects."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from site_builder.cli import main
from site_builder.disclosure import protect
from site_builder.disclosure.audit import AuditReport, Failure, witness_frames
from site_builder.disclosure.protect import ProtectionError, keep_pattern
from site_builder.disclosure.releases import audit_releases, read_release, together
from site_builder.gate import run_gate
from site_builder.incremental import protect_by_year
from tests.test_disclosure_cases import POLICY, audit, cell, frame, row, write_csv

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


def test_a_live_release_of_the_same_pattern_or_of_other_data_changes_nothing() -> None:
    raw = _raw()
    fresh = protect(raw, POLICY)
    said: list[str] = []
    assert protect_by_year(raw, POLICY, None, live=fresh, log=said.append).equals(fresh)
    assert said == []
    # Another state's (or another seed's) numbers: not a release of these data.
    other = protect(frame([cell(150), cell(12, "Asian", RACE), cell(70, "Black", RACE),
                           cell(68, "White", RACE)]), POLICY)
    assert row(other, student_group="White")["suppressed"]  # (White shown here: 45)
    assert protect_by_year(raw, POLICY, None, live=other, log=said.append).equals(fresh)
    assert said == ["protect: 2024: 100% of the numbers the live site publishes are not these "
                    "data's: it is a release of other data, and its pattern is not kept"]


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

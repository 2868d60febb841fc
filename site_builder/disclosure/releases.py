"""Two releases of the same data, together: what a visitor who kept the earlier one knows.

Each publication is protected and audited on its own. Publishing again with unchanged
inputs, specs, policy and code gives the same pattern, byte for byte; but a year protected
again with a different pattern (after a change to the code, the specs or the policy) can
withhold a number the earlier release published, and publish one it withheld. A visitor who
saved the earlier release's CSVs then knows both, and the two together can give away what
each alone protects (differencing between releases, NIST SP 800-53 SI-19(05)): full state
2024, the patterns of sessions 39 and 40 together disclose 11 values exactly.

:func:`together` puts together what such a visitor knows, cell by cell: the row of the
release that says the most about it (published, else coded as a band, else withheld). Its
audit (:func:`audit_releases`, ``reportcard audit-releases``) is the ordinary LP audit of
that table. It models releases of the *same* true values: a number both publish with
different values means the data changed between them (a correction). The change itself is
then a group: a school's tested count published as 52, then 42, tells of 10 students who
left it, and its "below basic" count, 15 then 12, that 3 of them were below basic. A count
both publish that changed by 1 to ``min_cell_size - 1`` students, or a numerator that
changed while its head count changed by fewer than that (a rate over a small group), is
such a disclosure (:func:`told_by_change`, :attr:`YearDifference.told`): primary
suppression's rule, applied to the table of changes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl

from site_builder.cells import KEY
from site_builder.disclosure.audit import (
    AuditReport,
    Witnesses,
    audit_cells,
    published_csvs,
    read_published,
)
from site_builder.disclosure.policy import Policy
from site_builder.disclosure.relations import build_system
from site_builder.errors import ReportcardError

INFO = {"": 2, "top_coded": 1, "bottom_coded": 1}
"""How much a row says about its cell, by its reason: published in full, coded as a band,
else (primary, complementary) nothing."""

_NUMBERS = ("n_students", "n_meeting", "display")


class ReleasesError(ReportcardError):
    """The two releases cannot be audited together, or together they disclose."""


@dataclass(frozen=True)
class YearDifference:
    year: int
    withheld_now: int
    """Rows the later release withholds (or codes) that the earlier one shows more of."""
    shown_now: int
    """Rows the later release shows more of than the earlier one."""
    changed: int
    """Rows both publish in full with different numbers: the data changed."""
    told: tuple[str, ...] = ()
    """The counts both publish whose change tells a group of fewer than min_cell_size
    students (:func:`told_by_change`), and the relations whose published changes add up to
    one (:func:`derived_changes`), each as a line saying so: a disclosure."""
    dropped: bool = False
    """A year the earlier release publishes and the later one does not (the oldest year
    left out when a new one comes in): nothing new is said about it, so it is not audited."""
    moved: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    """Places the earlier release publishes this year that the later does not, and places
    only the later publishes (:func:`moved_places`), where there are both: maybe the same
    students under new codes, which this audit cannot relate (so a refusal)."""

    @property
    def recoded(self) -> bool:
        return bool(self.moved[0] and self.moved[1])

    @property
    def same_pattern(self) -> bool:
        return not (self.withheld_now or self.shown_now)

    def render(self) -> str:
        if self.dropped:
            return (f"{self.year}: not in this release (published before, it is left out "
                    "now: nothing new about it is published)")
        if self.same_pattern and not self.changed:
            text = f"{self.year}: the same pattern in both releases"
        elif self.same_pattern:  # more withheld now, if anything, of numbers no longer true
            text = (f"{self.year}: nothing withheld now that the earlier release showed and is "
                    "still true, nothing shown now that it withheld")
        else:
            text = (f"{self.year}: {self.withheld_now:,} rows withheld (or shown as a range) "
                    f"now that the earlier release showed, {self.shown_now:,} shown now that "
                    "it withheld")
        if self.changed:
            text += f"; {self.changed:,} rows published in both with different numbers"
        if self.told:
            text += (f"; {len(self.told):,} counts (or sums of them) changed by fewer "
                     "students than a group may have (the change itself tells a small group)")
        if self.recoded:
            text += (f"; published before and not now: {', '.join(self.moved[0])}; new now: "
                     f"{', '.join(self.moved[1])} (if the same students under new codes, "
                     "the two releases cannot be audited together)")
        return text


def _info(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.col("reason").replace_strict(
        INFO, default=0, return_dtype=pl.Int8).alias("_info"))


def shows_more(earlier: pl.DataFrame, later: pl.DataFrame) -> int:
    """How many rows ``later`` (published cells, as read back or as protect() returns them)
    shows more of than ``earlier`` does: published where it was coded or withheld, or coded
    where it was withheld."""
    keys = list(KEY)
    return _info(later).select(*keys, "_info").join(
        _info(earlier).select(*keys, pl.col("_info").alias("_before")), on=keys,
        nulls_equal=True).filter(pl.col("_info") > pl.col("_before")).height


def _stale(earlier: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """``earlier`` with ``_stale``: whether a number its row shows is not ``truth``'s, or a
    band it shows ("≤5%") no longer holds, or the cell is not in ``truth`` at all (withheld
    or not: a cell of no student now, such as a school's Pacific Islander tested count
    after a correction, is in no relation of today's data; taken as withheld, it would
    loosen them).

    A band is a claim about the numerator as a number is: a school's 4 advanced of 80
    that an earlier release showed as "≤5%" (it was 3 then) bounds nothing today. Taken as
    known, it made today's true values impossible, and the LP's ranges meaningless: a new
    year's extract with an earlier year's results revised, 607 false disclosures."""
    keys = list(KEY)
    band = pl.col("display").str.extract(r"(\d+(?:\.\d+)?)").cast(pl.Float64)
    share = 100 * pl.col("_true_m")
    off_band = (pl.when(pl.col("reason") == "top_coded").then(share < band * pl.col("_true_n"))
                .when(pl.col("reason") == "bottom_coded")
                .then(share > band * pl.col("_true_n")).otherwise(False)
                if {"reason", "display"} <= set(earlier.columns) else pl.lit(False))
    return earlier.join(
        truth.select(*keys, pl.col("n_students").alias("_true_n"),
                     pl.col("n_meeting").alias("_true_m"), pl.lit(True).alias("_cell")),
        on=keys, how="left", nulls_equal=True).with_columns((pl.col("_cell").is_null() | (
            pl.any_horizontal([pl.col(c).is_not_null() & pl.col(c).ne_missing(pl.col(t))
                               for c, t in (("n_students", "_true_n"),
                                            ("n_meeting", "_true_m"))]))
            | off_band.fill_null(False)).alias("_stale")).drop("_true_n", "_true_m", "_cell")


def together(earlier: pl.DataFrame, later: pl.DataFrame, truth: pl.DataFrame | None = None,
             min_cell: int = 30) -> tuple[pl.DataFrame, list[YearDifference]]:
    """What a visitor holding both releases knows (frames as :func:`audit.read_published`
    gives them): each cell as the release that says the most about it shows it (the later
    one on a tie), with the cells only one of them has; and, per year of the later release,
    how the two differ. ``truth``: the raw cells of the later release; an earlier number
    that is no longer true (the data changed, or the cell is no longer computed) then is
    not known (where the later release has the cell, it counts as ``changed``), and what
    its change tells is :attr:`YearDifference.told` (:func:`told_by_change`)."""
    keys = list(KEY)
    a, b = _info(earlier), _info(later)
    a = a.with_columns(pl.lit(False).alias("_stale")) if truth is None else _stale(a, truth)
    both = b.select(*keys, "_info", *_NUMBERS).join(
        a.select(*keys, "_stale", pl.col("_info").alias("_before"),
                 *[pl.col(c).alias(f"_before_{c}") for c in _NUMBERS]),
        on=keys, how="inner", nulls_equal=True)
    full = (pl.col("_info") == 2) & (pl.col("_before") == 2)
    differs = pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"_before_{c}"))
                                 for c in _NUMBERS])
    more = pl.col("_before") > pl.col("_info")
    told = told_by_change(earlier, later, min_cell)
    diffs = []
    for (year,), g in both.group_by("year", maintain_order=True):
        diffs.append(YearDifference(
            year=int(year),  # type: ignore[call-overload]
            withheld_now=g.filter(more & ~pl.col("_stale")).height,
            shown_now=g.filter(pl.col("_info") > pl.col("_before")).height,
            changed=g.filter((full & differs) | (more & pl.col("_stale"))).height,
            told=tuple(told.filter(pl.col("year") == year).sort(keys)["_told"])))
    from_before = both.filter(more & ~pl.col("_stale")).select(keys)
    a = a.filter(~pl.col("_stale")).drop("_stale")
    known = pl.concat([
        b.join(from_before, on=keys, how="anti", nulls_equal=True),
        a.join(from_before, on=keys, how="semi", nulls_equal=True),
        a.join(b.select(keys), on=keys, how="anti", nulls_equal=True),
    ]).drop("_info").sort(keys)
    return known, sorted(diffs, key=lambda d: d.year)


def told_by_change(earlier: pl.DataFrame, later: pl.DataFrame, min_cell: int,
                   ) -> pl.DataFrame:
    """The rows of ``later`` whose counts the change since ``earlier`` (both as
    :func:`audit.read_published` reads them, or as protect() returns them) gives away: a
    head count (``n_students``) both show that changed by 1 to ``min_cell - 1`` students,
    or a numerator (``n_meeting``) both show that changed while its head count changed by
    fewer than ``min_cell`` (its rate's denominator, the students who came or went, is a
    small group; when as many or more came or went, the change of the numerator is a rate
    over them, published as any rate over a large enough group is). The change of a count
    of zero students is told the same way. With ``_before_n`` and ``_before_m``, the
    earlier numbers, and ``_told``, a line saying what the change tells."""
    keys = list(KEY)
    j = later.select(*keys, "n_students", "n_meeting").join(
        earlier.select(*keys, pl.col("n_students").alias("_before_n"),
                       pl.col("n_meeting").alias("_before_m")),
        on=keys, how="inner", nulls_equal=True)
    dn = (pl.col("_before_n") - pl.col("n_students")).abs()
    dm = (pl.col("_before_m") - pl.col("n_meeting")).abs()
    small_n = dn.is_between(1, min_cell - 1).fill_null(False)
    small_m = (dm.is_between(1, min_cell - 1) & (dn.fill_null(0) < min_cell)).fill_null(False)
    district, school = pl.col("district_code"), pl.col("school_code")
    where = (pl.when(pl.col("level") == "state").then(pl.lit("state"))
             .when(pl.col("level") == "district").then(pl.lit("district ") + district)
             .otherwise(pl.lit("school ") + district + "/" + school))
    cell = pl.concat_str([pl.col("year").cast(pl.String), where, pl.col("measure"),
                          pl.col("subject"), pl.lit("grade ") + pl.col("grade"),
                          pl.col("student_group")], separator=" ", ignore_nulls=True)
    counts = pl.concat_str([pl.lit("n_students "), pl.col("_before_n").cast(pl.String),
                            pl.lit(" then "), pl.col("n_students").cast(pl.String)])
    meeting = pl.concat_str([pl.lit(", n_meeting "), pl.col("_before_m").cast(pl.String),
                             pl.lit(" then "), pl.col("n_meeting").cast(pl.String)])
    return j.filter(small_n | small_m).with_columns(pl.concat_str([
        cell.str.replace_all("  +", " "), pl.lit(": "),
        pl.when(pl.col("_before_n").is_not_null() & pl.col("n_students").is_not_null())
        .then(counts).otherwise(pl.lit("")),
        pl.when(small_m).then(meeting).otherwise(pl.lit(""))]).alias("_told"))


def derived_changes(earlier: pl.DataFrame, later: pl.DataFrame, policy: Policy) -> list[str]:
    """The sums of changes that one year's two releases give away (frames as
    :func:`told_by_change` takes them, one year): in a relation whose total both publish,
    its change less the published changes of its parts is the change of the parts whose
    change is not published.

    - Of head counts (groups that add up to All students, grades to all grades, schools
      to their district, districts to the state): 1 to ``min_cell_size - 1`` students
      (either way) is a derived group, as the audit's derived groups are of one release
      (a school's enrollment changed by 45 and its White pupils' by 38, the others'
      withheld: 7 others moved).
    - Of numerators (the same relations of outcomes, the levels that add up to the number
      tested, proficient or advanced as proficient plus advanced): 1 to ``min_cell_size -
      1`` students whose outcome changed, while those parts' head count changed by fewer
      than ``min_cell_size`` (or by an amount not published): a rate over a small group,
      as :func:`told_by_change` says of one number (a district's proficient count up by
      40 and one school's by 35, its other school's withheld: 5 pupils there re-scored).

    A cell the earlier release does not have counts as of unknown change (a new charter's:
    with the state's numbers the same, a district's published change of 24 first-graders
    is the charter's 24, withheld as fewer than 30). One line per such relation.

    (Written apart from protect()'s rule for the same thing, ``_State._change_needs``: the
    check does not share the protection's code.)"""
    if later.is_empty():
        return []
    later = later.sort(list(KEY))
    system = build_system(later.select(*KEY, "n_students", "n_meeting"), policy)
    j = later.select(*KEY, "n_students", "n_meeting").join(
        earlier.select(*KEY, pl.col("n_students").alias("_before"),
                       pl.col("n_meeting").alias("_before_m")), on=list(KEY),
        how="left", nulls_equal=True, maintain_order="left")
    change = np.full(system.vars.height, np.nan)
    both = (j["n_students"].is_not_null() & j["_before"].is_not_null()).to_numpy()
    change[system.den_of_row.to_numpy()[both]] = (j["n_students"] - j["_before"]).to_numpy()[both]
    num = system.num_of_row
    both = (num.is_not_null() & j["n_meeting"].is_not_null()
            & j["_before_m"].is_not_null()).to_numpy()
    change[num.fill_null(0).to_numpy()[both]] = (j["n_meeting"] - j["_before_m"]).to_numpy()[both]
    e = system.edges
    rel, var, total = (e[c].to_numpy() for c in ("rel_id", "var_id", "is_total"))
    if not len(rel):
        return []
    n = int(rel.max()) + 1
    count = np.zeros(n, bool)
    count[rel] = e["is_count"].to_numpy()
    known = ~np.isnan(change[var])
    of_total = np.full(n, np.nan)
    of_total[rel[total]] = change[var[total]]
    parts = np.bincount(rel[~total & known], weights=change[var[~total & known]], minlength=n)
    unknown = np.bincount(rel[~total & ~known], minlength=n)
    derived = of_total - parts
    m = policy.min_cell_size
    small = (np.abs(derived) > 0.5) & (np.abs(derived) < m - 0.5)
    # The head count of a numerator relation's unpublished parts, and its change: their
    # own (all published), or their relation's total less the others' (the same
    # relation of head counts); the total's where every part is over its denominator
    # (the levels, proficient or advanced). Not published: taken as small.
    den = system.vars["den_id"].to_numpy()
    den_change = change[den[var]]
    den_total = np.full(n, -1)
    den_total[rel[total]] = den[var[total]]
    shared = np.bincount(rel[~total & (den[var] != den_total[rel])], minlength=n) == 0
    hid, shown = ~total & ~known, ~total & known

    def add(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (np.bincount(rel[mask], weights=np.nan_to_num(den_change[mask]), minlength=n),
                np.bincount(rel[mask & np.isnan(den_change)], minlength=n) > 0)

    (of_hid, hid_unknown), (of_shown, shown_unknown) = add(hid), add(shown)
    of_den_total = np.full(n, np.nan)
    of_den_total[rel[total]] = den_change[total]
    heads = np.where(shared, of_den_total,
                     np.where(~hid_unknown, of_hid,
                              np.where(shown_unknown, np.nan, of_den_total - of_shown)))
    few = np.isnan(heads) | (np.abs(heads) < m - 0.5)
    bad = np.flatnonzero(~np.isnan(of_total) & (unknown > 0) & small & (count | few))
    first = {int(r): int(v) for r, v in zip(rel[total], var[total], strict=True)}
    kind = dict(zip(rel.tolist(), e["rel_type"].str.replace(r" #\d+$", "").to_list(),
                    strict=True))
    return [f"{system.descriptions[first[r]]} changed by {of_total[r]:g}; its parts "
            f"({kind[r]}) whose change is not published, by {derived[r]:g} in all"
            + ("" if count[r] else (" (their head count by "
                                    + ("an amount not published" if np.isnan(heads[r])
                                       else f"{heads[r]:g}") + ")"))
            for r in bad.tolist()]


def read_release(site: Path) -> pl.DataFrame | None:
    """The published cells of a site (as :func:`audit.read_published` reads them), or
    ``None`` where nothing is published there yet."""
    paths = published_csvs(Path(site)) if Path(site).is_dir() else []
    return read_published(paths) if paths else None


def stale_share(earlier: pl.DataFrame, truth: pl.DataFrame) -> float:
    """The share of the numbers ``earlier`` shows that are not ``truth``'s (or of no cell
    of it): a few after a correction; nearly all when the earlier release is of other
    data (another extract, e.g. a synthetic state made with another seed or profile)."""
    shown = earlier.filter(pl.col("n_students").is_not_null())
    if shown.is_empty():
        return 0.0
    stale = _stale(shown.select(*KEY, "n_students", "n_meeting"), truth)["_stale"]
    return int(stale.sum()) / shown.height


def moved_places(earlier: pl.DataFrame, truth: pl.DataFrame) -> tuple[list[str], list[str]]:
    """Districts and schools (``"061150"``, ``"061150/1050"``) that ``earlier`` publishes
    and ``truth`` has no cell of now, and those ``truth`` has that ``earlier`` does not
    publish: both at once, in a year published before, are what a correction that moves
    students to new codes looks like (a merger found to have taken effect a year sooner).
    The numbers of the new codes are then protected afresh, not kept to what the earlier
    release withheld of the same students under the old ones: together, the two releases
    can tell what each withholds. (Full state, 2025 corrected with Atlanta C-3's schools
    recoded into Bevier C-4: its high school's economically disadvantaged counts, withheld
    before, published now; with the earlier release's district numbers they gave the
    elementary school's top-coded "≥95%" exactly, 52 of 54.)"""
    def places(df: pl.DataFrame) -> pl.DataFrame:
        return df.filter(pl.col("level") != "state").select(
            "level", "district_code", "school_code").unique()

    def named(df: pl.DataFrame) -> list[str]:
        return sorted(d if lv == "district" else f"{d}/{sc}"
                      for lv, d, sc in df.iter_rows())

    before, now = places(earlier), places(truth)
    on = ["level", "district_code", "school_code"]
    return (named(before.join(now, on=on, how="anti", nulls_equal=True)),
            named(now.join(before, on=on, how="anti", nulls_equal=True)))


def audit_releases(earlier: Path, later: Path, policy: Policy,
                   hint: pl.DataFrame | None = None, workers: int = 1,
                   witnesses: dict[int, Witnesses] | None = None,
                   ) -> tuple[AuditReport, list[YearDifference]]:
    """The LP audit of what the two published sites give away together, for the years
    whose patterns differ (a year with the same pattern in both is what the later release
    alone publishes: its own audit, the gate's, covers it). ``hint``: the raw cells of the
    later release, as for :func:`audit.audit_cells`, and the truth for :func:`together`;
    ``witnesses``: the later release's (its proofs, checked before they count). Every year
    both publish is taken for the same students, however many of its numbers changed: a
    release of other students is for the caller to leave out (the gate does, where the
    manifests say so: :func:`incremental.live_of_other_data`)."""
    csvs = [published_csvs(site) for site in (earlier, later)]
    for site, paths in zip((earlier, later), csvs, strict=True):
        if not paths:
            raise ReleasesError(f"{site}: no published CSVs under downloads/. Hint: give "
                                "the directory of a published site (the one with "
                                "manifest.json), e.g. site/ or a saved copy of it.")
    before, after = read_published(csvs[0]), read_published(csvs[1])
    gone = sorted(set(before["year"].unique().to_list()) - set(after["year"].unique().to_list()))
    dropped = [YearDifference(int(y), 0, 0, 0, dropped=True) for y in gone]
    before = before.filter(~pl.col("year").is_in(gone))
    known, diffs = together(before, after, truth=hint, min_cell=policy.min_cell_size)
    keys = list(KEY)
    changed = set(after.select(*keys, "n_students", "n_meeting").join(
        before.select(*keys, pl.col("n_students").alias("_before"),
                      pl.col("n_meeting").alias("_before_m")), on=keys, nulls_equal=True)
        .filter((pl.col("n_students") != pl.col("_before"))
                | (pl.col("n_meeting") != pl.col("_before_m")))["year"].to_list())
    for i, d in enumerate(diffs):
        gone, new = moved_places(before.filter(pl.col("year") == d.year),
                                 after.filter(pl.col("year") == d.year))
        if gone and new:
            diffs[i] = replace(d, moved=(tuple(gone), tuple(new)))
        if d.year in changed:  # the data changed: what the changes add up to
            diffs[i] = replace(diffs[i], told=d.told + tuple(derived_changes(
                before.filter(pl.col("year") == d.year), after.filter(pl.col("year") == d.year),
                policy)))
    diffs = sorted(diffs + dropped, key=lambda d: d.year)
    years = [d.year for d in diffs if not d.same_pattern]
    if not years:
        return AuditReport(), diffs
    if hint is not None:
        hint = hint.filter(pl.col("year").is_in(years))
    return audit_cells(known.filter(pl.col("year").is_in(years)), policy, hint=hint,
                       workers=workers, witnesses=witnesses), diffs

"""No personal information: every PII value of the actual extract, and PII-shaped patterns.

Two kinds of check run over every text file of the staged site:

* **Exact values from the extract.** The gate reads the extract's restricted columns itself
  (it does not trust the loader's allow-list): student IDs, SSNs, birth dates (in the usual
  written forms) and full names ("first last" and "last first"), plus every value of the
  canary students planted by ``synth --canaries``.
* **Patterns.** SSN-like numbers (``123-45-6789``), standalone 10-digit numbers (the shape
  of a MOSIS ID) and calendar dates. A report card has no reason to print any of these, so
  they are refused even when they match no student. Vendored JavaScript is exempt from the
  pattern scan and the date scan (minified libraries and stylesheets are full of 10-digit
constants and sample dates), not from the exact scan of IDs, SSNs, names and canaries.

A single first or last name cannot be searched for without refusing every "Washington
Elementary"; full names are. A full name that also appears inside a public directory name
(a school called "George Washington Carver") is not counted, because it is published as a
place name, not as a student.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from site_builder import schema
from site_builder.extract import extract_years, find_file
from site_builder.gate.findings import Finding, mask

SSN_DASHED = re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])")
DIGIT_RUN = re.compile(r"\d+")
ISO_DATE = re.compile(r"(?<!\d)(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?!\d)")
US_DATE = re.compile(r"(?<!\d)(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])/(?:19|20)\d{2}(?!\d)")
WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")

# The patterns above say what is found. Python's re tries a pattern that begins with a
# look-behind at every position of the text, about 2.5 s for a pattern over the 526 MB of a
# full-state site, so the scan looks first for the separator each match must hold at a
# fixed place (each anchor a zero-width look-ahead after one character, so that no anchor
# hides the next) and tries the pattern only there: the same matches (see _matches).
_ISO_ANCHOR = (re.compile(r"-(?=(?:0[1-9]|1[0-2])-)"), (4,))
_US_ANCHOR = (re.compile(r"/(?=(?:0?[1-9]|[12]\d|3[01])/(?:19|20)\d{2})"), (2, 1))
_SSN_ANCHOR = (re.compile(r"-(?=\d{2}-\d{4})"), (3,))
LONG_RUN = re.compile(r"\d{9,}")
"""Digit runs of 9 or more: as DIGIT_RUN's runs of that length, found without a match
object for every number of a CSV."""


@dataclass
class PiiNeedles:
    """The restricted values to look for, normalised for fast set lookups."""

    student_ids: set[str] = field(default_factory=set)
    ssns: set[str] = field(default_factory=set)
    birth_dates: set[str] = field(default_factory=set)
    """ISO and US written forms."""
    full_names: set[str] = field(default_factory=set)
    """Lower-case "first last" and "last first"."""
    canary_tokens: set[str] = field(default_factory=set)
    """Lower-case: any one of these anywhere is a leak."""
    skipped_place_names: int = 0
    _starts: tuple[int, int, set[str]] | None = field(default=None, repr=False,
                                                       compare=False)

    def name_starts(self) -> set[str]:
        """The first word of every full name (worked out again only if the set changed)."""
        key = (id(self.full_names), len(self.full_names))
        if self._starts is None or self._starts[:2] != key:
            self._starts = (*key, {n.split(" ", 1)[0] for n in self.full_names})
        return self._starts[2]

    def digest(self) -> str:
        """SHA-256 of every value to look for (the gate's scan cache keys files by it)."""
        h = hashlib.sha256()
        for name in ("student_ids", "ssns", "birth_dates", "full_names", "canary_tokens"):
            h.update(f"{name}\0".encode())
            h.update("\n".join(sorted(getattr(self, name))).encode())
            h.update(b"\0")
        return h.hexdigest()

    def describe(self) -> str:
        return (f"{len(self.student_ids):,} student IDs, {len(self.ssns):,} SSNs, "
                f"{len(self.birth_dates) // 3:,} birth dates, "
                f"{len(self.full_names) // 2:,} full names and "
                f"{len(self.canary_tokens):,} canary values from the extract")


def _date_forms(dates: Iterable[str]) -> Iterator[str]:
    for iso in dates:
        y, m, d = iso.split("-")
        yield iso
        yield f"{m}/{d}/{y}"
        yield f"{int(m)}/{int(d)}/{y}"


def _matches(rx: re.Pattern[str], anchor: tuple[re.Pattern[str], tuple[int, ...]],
             text: str) -> Iterator[str]:
    """What ``rx.finditer(text)`` finds, for a pattern each of whose matches has a character
    that ``anchor`` finds at one of its offsets from the match's start (leftmost first, no
    overlaps, each match tried with ``rx`` itself at the start it would have there)."""
    find, offsets = anchor
    end = 0
    for a in find.finditer(text):
        for off in offsets:
            start = a.start() - off
            if start < end:
                continue
            m = rx.match(text, start)
            if m:
                end = m.end()
                yield m.group()
                break


def _bigrams(text: str) -> set[str]:
    words = [w.lower() for w in WORD.findall(text)]
    return {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}


def _name_hits(text: str, full_names: set[str], starts: set[str]) -> set[str]:
    """``_bigrams(text) & full_names``, where ``starts`` holds every first word of
    ``full_names``: only the word pairs that could be a name are made. (The words are ASCII
    letters, apostrophes and hyphens, so one lower() of them all is each one's lower().)"""
    words = " ".join(WORD.findall(text)).lower().split(" ")
    return {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)
            if a in starts} & full_names


def load_needles(extract: Path) -> PiiNeedles:
    """Read every restricted value of an extract (all years) into lookup sets."""
    needles = PiiNeedles()
    frames = []
    for year in extract_years(extract):
        path = find_file(extract / str(year), schema.ENROLLMENT.name)
        if path is None:
            continue
        lf = pl.scan_parquet(path) if path.suffix == ".parquet" else pl.scan_csv(
            path, infer_schema=False)
        frames.append(lf.select(
            pl.col("student_id").cast(pl.String),
            pl.col("ssn").cast(pl.String),
            pl.col("birth_date").cast(pl.String),
            pl.col("first_name").cast(pl.String),
            pl.col("last_name").cast(pl.String),
        ))
    if frames:
        people = pl.concat(frames).unique().collect()
        needles.student_ids = set(people["student_id"].drop_nulls().to_list())
        needles.ssns = {s.replace("-", "") for s in people["ssn"].drop_nulls().to_list()}
        needles.birth_dates = set(_date_forms(people["birth_date"].drop_nulls().unique()
                                               .to_list()))
        names = people.select(
            (pl.col("first_name") + " " + pl.col("last_name")).str.to_lowercase().alias("fl"),
            (pl.col("last_name") + " " + pl.col("first_name")).str.to_lowercase().alias("lf"),
        ).unique()
        full = set(names["fl"].drop_nulls().to_list()) | set(names["lf"].drop_nulls().to_list())
        public = _public_name_bigrams(extract)
        needles.skipped_place_names = len(full & public)
        needles.full_names = full - public

    canaries = extract / "canaries.json"
    if canaries.exists():
        needles.canary_tokens = set(_canary_tokens(json.loads(canaries.read_text("utf-8"))))
    return needles


def _public_name_bigrams(extract: Path) -> set[str]:
    """Word pairs inside directory (place) names, which are public by design, and across a
    place name and its own district's or county's name, which the site prints side by side
    (a download row reads ``011082,ST. JOSEPH,4100,Ellis Elem.``: "joseph ellis" is two
    public names next to each other, not a student, though the full state has a student of
    that name)."""
    out: set[str] = set()
    frames: dict[str, pl.DataFrame] = {}
    for spec, cols in ((schema.DISTRICTS, ("district_name", "county_name")),
                       (schema.SCHOOLS, ("school_name",))):
        path = find_file(extract / "directory", spec.name)
        if path is None:
            continue
        df = pl.read_csv(path, infer_schema=False) if path.suffix == ".csv" else pl.read_parquet(
            path)
        frames[spec.name] = df
        for c in cols:
            if c in df.columns:
                for name in df[c].drop_nulls().to_list():
                    out |= _bigrams(name)
    districts = frames.get(schema.DISTRICTS.name)
    if districts is None or "district_name" not in districts.columns:
        return out
    pairs = [districts.select("district_name", "county_name")
             if "county_name" in districts.columns else None]
    schools = frames.get(schema.SCHOOLS.name)
    if schools is not None and {"district_code", "school_name"} <= set(schools.columns):
        # A school beside its district's name (downloads) and its county's (the search
        # index: "Early Childhood Ed Center West", "Jackson" reads "west jackson").
        for other in ("district_name", "county_name"):
            if other in districts.columns:
                pairs.append(schools.select("district_code", "school_name").join(
                    districts.select("district_code", other), on="district_code").select(
                    other, "school_name"))
    for frame in (f for f in pairs if f is not None):
        for a, b in frame.drop_nulls().iter_rows():
            out |= _bigrams(f"{a} {b}") | _bigrams(f"{b} {a}")
    return out


_CANARY_FIELDS = ("student_id", "first_name", "last_name", "ssn", "birth_date", "name")


def _canary_tokens(doc: object) -> Iterator[str]:
    """Every identifying value of every canary student, whatever the file's exact nesting."""
    items = doc.get("canaries", doc.get("students", [])) if isinstance(doc, dict) else doc
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        for key in _CANARY_FIELDS:
            value = item.get(key)
            if value:
                yield str(value).lower()
        if item.get("birth_date"):
            yield from (f.lower() for f in _date_forms([str(item["birth_date"])]))


def scan_text(rel: str, text: str, needles: PiiNeedles, *, patterns: bool,
              names: bool = True) -> list[Finding]:
    """All PII findings in one file's text.

    ``patterns=False`` is for code (JavaScript, CSS): PII-shaped numbers and dates are not
    refused there, but exact IDs, SSNs, names and canaries still are. ``names=False`` is for
    the theme's own files, byte for byte as mkdocs-material ships them: their words are the
    theme's (a copyright line naming "Thomas Robinson" matched a synthetic student), so
    student names are not matched there; everything else is.
    """
    found: list[Finding] = []

    def add(rule: str, value: str, hint: str, where: str = "") -> None:
        found.append(Finding("pii", rel, rule, where=where or _line_of(text, value),
                             evidence=mask(value), hint=hint))

    lower = text.lower()
    for token in needles.canary_tokens:
        if token in lower:
            add("a canary student's identifying value appears", token,
                "a planted canary student escaped: find which template or data path "
                "carries student-level values into the site")
    for ssn in _matches(SSN_DASHED, _SSN_ANCHOR, text):
        digits = ssn.replace("-", "")
        rule = ("an SSN from the extract appears" if digits in needles.ssns
                else "an SSN-like number (123-45-6789) appears")
        if patterns or digits in needles.ssns:
            add(rule, ssn, "no Social Security number may be published, even in a "
                           "hidden field or a download")
    for m in LONG_RUN.finditer(text):
        run = m.group()
        if len(run) == 10:
            if run in needles.student_ids:
                add("a student ID from the extract appears", run,
                    "student IDs never leave the restricted area; check search indexes, "
                    "chart data and CSVs")
            elif patterns:
                add("a 10-digit number (the shape of a MOSIS student ID) appears", run,
                    "a report card has no 10-digit numbers; if this is not an ID, format it "
                    "differently")
        elif len(run) == 9 and run in needles.ssns:
            add("an SSN from the extract appears", run,
                "no Social Security number may be published")
    for rx, anchor in ((ISO_DATE, _ISO_ANCHOR), (US_DATE, _US_ANCHOR)) if patterns else ():
        for date in _matches(rx, anchor, text):
            if date in needles.birth_dates:
                add("a birth date from the extract appears", date,
                    "birth dates never leave the restricted area")
            elif patterns:
                add("a calendar date appears (dates of birth are not allowed; the build time "
                    "belongs in manifest.json only)", date,
                    "remove the date from the page body, sitemap or data file")
    if names and needles.full_names:
        hits = _name_hits(text, needles.full_names, needles.name_starts())
        for name in sorted(hits):
            found.append(Finding("pii", rel, "a student's full name from the extract appears",
                                 where=_line_of(lower, name), evidence=mask(name),
                                 hint="no student name may be published"))
    return found


def _line_of(text: str, value: str) -> str:
    i = text.find(value)
    return f"line {text.count(chr(10), 0, i) + 1}" if i >= 0 else ""

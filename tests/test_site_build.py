"""The public site, built from a small fixture state with a real `mkdocs build`.

The fixture: random student records for four districts (one large, one tiny charter, one
small rural district full of withheld values), aggregated by the real ``compute_cells``, then
published by a NAIVE rule written here (counts of 1-29 and rates of fewer than 30 students
withheld, extremes coded). The real ``protect()`` is too slow for a fast test; the site must
not care which protection made the cells, only that it renders published cells faithfully.
HTML is checked with CSS selectors (BeautifulSoup/soupsieve), not snapshots.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from bs4 import BeautifulSoup

from site_builder import schema
from site_builder.cells import CSV_COLUMNS, PUBLISHED_EXTRA, RAW_SCHEMA
from site_builder.compute import compute_cells
from site_builder.disclosure.policy import Policy, load_policy
from site_builder.extract import Extract
from site_builder.site import build_site
from site_builder.site.render import SiteTemplateError
from site_builder.site.tables import grades_served
from site_builder.specs import load_specs

ROOT = Path(__file__).resolve().parents[1]
YEARS = (2022, 2023, 2024, 2025)

DISTRICTS = [
    ("001091", "Kirksville R-III", "001", "Adair", "district", "PK", "12",
     [("1020", "Ray Miller Elem.", "elementary", "PK", "05", 700),
      ("1030", "William Matthew Middle", "middle", "06", "08", 450),
      ("1050", "Kirksville Sr. High", "high", "09", "12", 600)]),
    ("001090", "Adair Co. R-I", "001", "Adair", "district", "K", "12",
     [("1010", "Adair Co. Elem.", "elementary", "K", "06", 70),
      ("1050", "Adair Co. High", "high", "07", "12", 60)]),
    ("048078", "Kansas City 33", "048", "Jackson", "district", "K", "12",
     [("1100", "Central Elem.", "elementary", "K", "05", 900),
      ("1200", "Central Middle", "middle", "06", "08", 700),
      ("1300", "Central High", "high", "09", "12", 1100)]),
    ("048901", "Tiny Charter Academy", "048", "Jackson", "charter", "K", "05",
     [("1000", "Tiny Charter Academy", "elementary", "K", "05", 45)]),
]
SMALL_DISTRICT = "001090"


def fixture_extract(seed: int = 7) -> Extract:
    """Random student records (no PII columns), shaped like the loader's output."""
    rng = np.random.default_rng(seed)
    races = list(schema.RACES)
    rp = np.array([0.003, 0.021, 0.152, 0.084, 0.054, 0.004, 0.682])
    rp /= rp.sum()
    enr, ass, grad = [], [], []
    for y in YEARS:
        for dcode, *_rest, schools in DISTRICTS:
            for scode, _name, _kind, lo, hi, size in schools:
                gi = schema.GRADE_ORDER
                grades = [g for g in schema.GRADES if gi[lo] <= gi[g] <= gi[hi]]
                n = int(size * (1 + 0.03 * (y - 2023)))
                g = rng.choice(grades, n)
                race = rng.choice(races, n, p=rp)
                sex = rng.choice(["F", "M"], n)
                el, iep, eco = rng.random(n) < .06, rng.random(n) < .14, rng.random(n) < .47
                de = rng.integers(120, 175, n)
                da = np.minimum(de, (de * rng.beta(18, 1.5, n)).astype(int))
                base = {"year": [y] * n, "district_code": [dcode] * n,
                        "school_code": [scode] * n}
                enr.append(pl.DataFrame({**base, "grade": g, "sex": sex, "race": race,
                                         "el": el, "iep": iep, "ecodis": eco,
                                         "days_enrolled": de, "days_attended": da}))
                for subj, sgrades in schema.SUBJECTS.items():
                    m = np.isin(g, sgrades) & ~((g == "08") & (subj == "Algebra I"))
                    k = int(m.sum())
                    if not k:
                        continue
                    ass.append(pl.DataFrame({
                        "year": [y] * k, "district_code": [dcode] * k,
                        "school_code": [scode] * k, "grade": g[m], "subject": [subj] * k,
                        "scale_score": rng.integers(300, 700, k),
                        "achievement_level": rng.choice(schema.ACHIEVEMENT_LEVELS, k,
                                                        p=[.2, .38, .3, .12]),
                        "sex": sex[m], "race": race[m], "el": el[m], "iep": iep[m],
                        "ecodis": eco[m]}))
                if hi == "12":
                    k = max(1, n // 4)
                    grad.append(pl.DataFrame({
                        "year": [y] * k, "district_code": [dcode] * k,
                        "school_code": [scode] * k, "sex": rng.choice(["F", "M"], k),
                        "race": rng.choice(races, k, p=rp), "el": rng.random(k) < .05,
                        "iep": rng.random(k) < .13, "ecodis": rng.random(k) < .45,
                        "outcome": rng.choice(list(schema.GRADUATION_OUTCOMES), k,
                                              p=[.9, .04, .04, .02])}))
    districts = pl.DataFrame(
        [d[:7] for d in DISTRICTS], orient="row",
        schema=["district_code", "district_name", "county_code", "county_name", "lea_kind",
                "low_grade", "high_grade"])
    schools = pl.DataFrame(
        [(d[0], *s[:5]) for d in DISTRICTS for s in d[7]], orient="row",
        schema=["district_code", "school_code", "school_name", "school_kind", "low_grade",
                "high_grade"])

    def lazy(frames: list[pl.DataFrame]) -> pl.LazyFrame:
        return pl.concat(frames).with_columns(pl.col("year").cast(pl.Int32)).lazy()

    return Extract(root=Path("/nonexistent"), years=YEARS, districts=districts,
                   schools=schools, enrollment=lazy(enr), assessment=lazy(ass),
                   graduation=lazy(grad))


def naive_publish(raw: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """TEST ONLY: withhold counts 1-29 and rates of fewer than 30 students; code extremes."""
    rows = []
    sym = policy.display.symbol
    for r in raw.iter_rows(named=True):
        n, k = r["n_students"], r["n_meeting"]
        out = {**r, "rate": None, "suppressed": False, "reason": ""}
        if k is None:  # a count
            if 0 < n < policy.min_cell_size:
                out.update(n_students=None, display=sym, suppressed=True, reason="primary")
            else:
                out["display"] = f"{n:,}"
        elif n == 0:
            out["display"] = policy.display.no_students
        elif n < policy.min_cell_size:
            out.update(n_students=None, n_meeting=None, display=sym, suppressed=True,
                       reason="primary")
        else:
            tenths = (2000 * k + n) // (2 * n)
            band = policy.band_for(n)
            assert band is not None
            if tenths <= 10 * band.bottom:
                out.update(n_meeting=None, display=f"≤{band.bottom}%", suppressed=True,
                           reason="bottom_coded")
            elif tenths >= 10 * band.top:
                out.update(n_meeting=None, display=f"≥{band.top}%", suppressed=True,
                           reason="top_coded")
            else:
                out.update(rate=tenths / 10, display=f"{tenths // 10}.{tenths % 10}%")
        rows.append(out)
    return pl.DataFrame(rows, schema={**RAW_SCHEMA, **PUBLISHED_EXTRA})


@pytest.fixture(scope="session")
def inputs() -> dict[str, object]:
    specs = load_specs(ROOT / "report_specs")
    policy = load_policy(ROOT / "report_specs" / "policy.yaml")
    extract = fixture_extract()
    published = naive_publish(compute_cells(extract, specs), policy)
    return {"published": published, "districts": extract.districts,
            "schools": extract.schools, "specs": specs, "policy": policy}


def _build(inputs: dict[str, object], out: Path, **kw: object):
    return build_site(inputs["published"], inputs["districts"], inputs["schools"],  # type: ignore[arg-type]
                      inputs["specs"], inputs["policy"], out, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def site(inputs: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("a") / "site"
    _build(inputs, out)
    return out


@functools.lru_cache(maxsize=256)
def _soup(path: str, mtime: int) -> BeautifulSoup:
    return BeautifulSoup(Path(path).read_text("utf-8"), "lxml")


def soup(path: Path) -> BeautifulSoup:
    """Parsed page (cached: tests only read)."""
    return _soup(str(path), path.stat().st_mtime_ns)


def entity_pages(site: Path) -> list[Path]:
    return sorted(site.glob("districts/*/index.html")) + sorted(site.glob("schools/*/index.html"))


def all_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


# --- pages exist and link to each other ----------------------------------------------------

def test_every_district_and_school_has_a_page(site: Path, inputs: dict) -> None:
    for d in inputs["districts"].iter_rows(named=True):
        page = site / "districts" / d["district_code"] / "index.html"
        assert page.is_file(), page
        assert soup(page).select_one("article h1").get_text(strip=True) == d["district_name"]
    for s in inputs["schools"].iter_rows(named=True):
        page = site / "schools" / f"{s['district_code']}-{s['school_code']}" / "index.html"
        assert page.is_file(), page
        doc = soup(page)
        assert doc.select_one("article h1").get_text(strip=True) == s["school_name"]
        # a school links to its district
        assert doc.select_one(f'.rc-lede a[href="../../districts/{s["district_code"]}/"]')
    for page in ("index.html", "state/index.html", "methodology/index.html",
                 "privacy/index.html", "glossary/index.html", "downloads/index.html"):
        assert (site / page).is_file(), page


def test_each_page_title_names_the_page_then_the_site_once(site: Path, inputs: dict) -> None:
    """A browser tab or a bookmark shows the <title>: the home page is the site's name alone,
    every other page its own name first."""
    name = "Missouri School Report Cards"
    assert soup(site / "index.html").title.get_text(strip=True) == name
    d = inputs["districts"].row(0, named=True)
    assert (soup(site / "districts" / d["district_code"] / "index.html").title
            .get_text(strip=True) == f"{d['district_name']} - {name}")
    for page in ("state", "methodology", "privacy", "glossary", "downloads"):
        title = soup(site / page / "index.html").title.get_text(strip=True)
        assert title.endswith(f" - {name}") and title.count(name) == 1, title


def test_district_links_to_its_schools(site: Path, inputs: dict) -> None:
    doc = soup(site / "districts" / "001091" / "index.html")
    hrefs = {a["href"] for a in doc.select(".rc-schools a")}
    assert hrefs == {"../../schools/001091-1020/", "../../schools/001091-1030/",
                     "../../schools/001091-1050/"}


COMPARE_COLUMNS = {
    "Students enrolled": ("enrollment", ""), "Attended over 90% of days": ("attendance_90_90", ""),
    "Chronically absent": ("chronic_absence", ""),
    **{s: ("proficient_or_advanced", s) for s in schema.SUBJECTS},
    "Four-year graduation rate": ("graduation_4yr", ""),
}
"""The columns of a district's schools table, by header: (measure, subject)."""


@pytest.mark.parametrize("code", ["001091", SMALL_DISTRICT])
def test_a_district_page_sets_its_schools_side_by_side(site: Path, inputs: dict,
                                                       code: str) -> None:
    """Each school of the district in a row of its own, linked to its page, with its grades
    and the latest year's all-students headline numbers exactly as its CSV rows show them
    (withheld ones as the symbol with a note); then the whole district and the state."""
    policy = inputs["policy"]
    latest = str(max(YEARS))
    csv = pl.read_csv(site / "downloads" / "districts" / f"{code}.csv", infer_schema=False)
    state = pl.read_csv(site / "downloads" / "state.csv", infer_schema=False)
    rows = pl.concat([csv, state.filter(pl.col("level") == "state")]).filter(
        (pl.col("year") == latest) & (pl.col("grade") == "All")
        & (pl.col("student_group") == "All students")).with_columns(
        pl.col("school_code").fill_null(""), pl.col("subject").fill_null(""))
    shown = {(r["level"], r["school_code"], r["measure"], r["subject"]): r
             for r in rows.iter_rows(named=True)}
    table = soup(site / "districts" / code / "index.html").select_one(".rc-schools #t-schools")
    assert table is not None
    headers = [th.get_text(strip=True) for th in table.select("thead tr")[-1].select("th")]
    assert set(headers) <= set(COMPARE_COLUMNS), headers
    assert {"Students enrolled", "Attended over 90% of days", "ELA", "Math",
            "Four-year graduation rate"} <= set(headers)  # K-12: every kind of column
    schools = {r["school_name"]: r for r in inputs["schools"].filter(
        pl.col("district_code") == code).iter_rows(named=True)}
    body = [tr for tr in table.select("tbody tr") if tr.select("td")]
    names = [tr.th.a.get_text() if tr.th.a else tr.th.contents[0] for tr in body]
    assert names == [*sorted(schools), "Whole district", "Missouri (whole state)"]
    n_withheld = 0
    for tr, name in zip(body, names, strict=True):
        if name in schools:
            s = schools[name]
            assert tr.th.a["href"] == f"../../schools/{code}-{s['school_code']}/"
            assert tr.th.select_one(".rc-detail").get_text() == grades_served(
                s["low_grade"], s["high_grade"])
            entity = ("school", s["school_code"])
        else:
            entity = ("district", "") if name == "Whole district" else ("state", "")
        for td, header in zip(tr.select("td"), headers, strict=True):
            cell = shown.get((*entity, *COMPARE_COLUMNS[header]))
            text, mark = _withheld_text(td)
            if cell is None:
                assert text == "–", (name, header, text)
                continue
            assert text == cell["display"], (name, header, text, cell["display"])
            assert ("w" in td.get("class", [])) == (cell["suppressed"] == "true")
            if cell["suppressed"] == "true":
                n_withheld += 1
                assert mark and text in (policy.display.symbol, cell["display"])
    if code == SMALL_DISTRICT:  # its schools of 60 and 70 students: some withheld
        assert n_withheld and table.find_next("ul", class_="rc-notes")


@pytest.fixture(scope="module")
def changed_schools(inputs: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture state where Central Elem. (048078/1100) has no students in 2025 (it
    closed: its cells of 2025 are another school's now), Central East Elem. (1400)
    opened in 2025, Central Annex (1500) is listed with no students in any year, and Adair
    Co. R-I (001090) has no students in 2025 (it merged)."""
    pub = inputs["published"].filter(
        (pl.col("district_code") != SMALL_DISTRICT) | (pl.col("year") < 2025))
    old = (pl.col("district_code") == "048078") & (pl.col("school_code") == "1100")
    moved = pub.filter(old & (pl.col("year") == 2025)).with_columns(
        pl.lit("1400").alias("school_code"))
    schools = pl.concat([inputs["schools"], pl.DataFrame(
        [("048078", "1400", "Central East Elem.", "elementary", "K", "05"),
         ("048078", "1500", "Central Annex", "other", "K", "12")],  # never any students
        schema=inputs["schools"].columns, orient="row")])
    out = tmp_path_factory.mktemp("changed") / "site"
    _build({**inputs, "published": pl.concat([pub.filter(~(old & (pl.col("year") == 2025))),
                                              moved]),
            "schools": schools}, out)
    return out


def _facts(page: Path) -> dict[str, str]:
    return {div.dt.get_text(strip=True): div.dd.get_text(" ", strip=True)
            for div in soup(page).select(".rc-facts div")}


def test_a_school_with_no_students_this_year_keeps_its_page_and_says_why(
        changed_schools: Path) -> None:
    """A school that closed: its page stays, says it has no students in the latest year and
    which years it has, and its trends stop at its last year. Its district lists it apart
    from the schools it compares, and does not count it among them."""
    page = changed_schools / "schools" / "048078-1100" / "index.html"
    facts = _facts(page)
    assert facts["Students enrolled, 2024-25"] == (
        "None reported (its last year with students: 2023-24)")
    assert facts["Years with students"] == "2021-22 to 2023-24"
    notice = soup(page).select_one(".rc-gone").get_text(" ", strip=True)
    assert "No students were reported at Central Elem. in 2024-25" in notice
    assert "2021-22 to 2023-24" in notice
    trend = soup(page).select_one("table#t-enrollment_total")
    assert [th.get_text(strip=True) for th in trend.select("tbody th")] == [
        "2021-22", "2022-23", "2023-24"]

    district = changed_schools / "districts" / "048078" / "index.html"
    assert _facts(district)["Schools"] == "3, and 2 with no students in 2024-25"
    table = soup(district).select_one("#t-schools")
    names = [tr.th.get_text(" ", strip=True) for tr in table.select("tbody tr")
             if tr.select("td")]
    assert not any(n.startswith("Central Elem.") for n in names), names
    assert any(n.startswith("Central East Elem.") for n in names), names
    apart = soup(district).select_one(".rc-no-students")
    assert [a["href"] for a in apart.select("a")] == ["../../schools/048078-1500/",
                                                       "../../schools/048078-1100/"]
    assert ("No students were reported in 2024-25 at Central Annex or Central Elem. ("
            in apart.get_text())
    # The search index says which places have no students now (the results list them
    # after the others and say so: tests/test_browser.py).
    index = {r[1]: r for r in json.loads(
        (changed_schools / "assets" / "search-index.json").read_text("utf-8"))["rows"]}
    note = "no students in 2024-25"
    assert index["048078-1100"][6:] == [note] and index["048078-1500"][6:] == [note]
    assert index[SMALL_DISTRICT][5:] == ["", note] and len(index["048078"]) == 5
    assert len(index["048078-1400"]) == len(index["048078-1200"]) == 6
    # Its page does not send a reader to the district's table it is not in.
    assert soup(page).select_one(".rc-compare-link") is None
    assert soup(changed_schools / "schools" / "048078-1400" / "index.html").select_one(
        ".rc-compare-link") is not None
    never = changed_schools / "schools" / "048078-1500" / "index.html"
    assert _facts(never)["Students enrolled, 2024-25"] == "None reported"
    assert "Years with students" not in _facts(never)
    assert soup(never).select_one(".rc-gone").get_text(" ", strip=True).startswith(
        "No students are reported at Central Annex in any year shown here")
    state = _facts(changed_schools / "state" / "index.html")
    # 11 schools in the directory: Central Elem., Central Annex and Adair Co. R-I's 2 with
    # no students now
    assert state["Schools"] == "7" and state["Districts and charter LEAs"] == "3"


def test_a_district_with_no_students_this_year_keeps_its_page_and_says_why(
        changed_schools: Path) -> None:
    page = changed_schools / "districts" / SMALL_DISTRICT / "index.html"
    facts = _facts(page)
    assert facts["Students enrolled, 2024-25"] == (
        "None reported (its last year with students: 2023-24)")
    assert facts["Schools"] == "None with students in 2024-25 (2 listed below)"
    notice = soup(page).select_one(".rc-gone").get_text(" ", strip=True)
    assert notice.startswith("No students were reported at Adair Co. R-I in 2024-25 (for "
                             "example, the district has closed")
    assert "its's" not in notice and "its download file" in notice
    # No table of its schools in 2024-25: both are named once, linked, as having none (not
    # also in a list of its schools, nor as "no school buildings are listed").
    section = soup(page).select_one(".rc-schools")
    assert section.select_one("#t-schools") is None
    apart = section.select_one(".rc-no-students")
    assert len(apart.select("a")) == 2 and " or " in apart.get_text()
    assert len(section.select("a")) == 2 and "No school buildings" not in section.get_text()
    # Nor do its schools' pages send a reader to a table they are not in.
    for school in changed_schools.glob(f"schools/{SMALL_DISTRICT}-*/index.html"):
        assert soup(school).select_one(".rc-compare-link") is None, school


def test_a_school_that_opened_says_its_years_and_others_do_not(
        changed_schools: Path) -> None:
    new = changed_schools / "schools" / "048078-1400" / "index.html"
    assert _facts(new)["Years with students"] == "2024-25"
    assert _facts(new)["Students enrolled, 2024-25"].replace(",", "").isdigit()
    assert soup(new).select_one(".rc-gone") is None
    for page in (changed_schools / "schools" / "048078-1200" / "index.html",
                 changed_schools / "districts" / "048078" / "index.html"):
        assert "Years with students" not in _facts(page)
        assert soup(page).select_one(".rc-gone") is None
    assert soup(changed_schools / "districts" / "001091" / "index.html").select_one(
        ".rc-no-students") is None


def _trend_words(page: Path) -> list[tuple[str, str, str, str]]:
    """(heading, description, caption, chart's alt) of each topic's trend on ``page``."""
    out = []
    for sec in soup(page).select("section.rc-section[id^=trend-]"):
        img, cap = sec.select_one("[role=img]"), sec.select_one("caption")
        if cap is None:  # nothing to show (an elementary school's graduation)
            continue
        out.append((sec.select_one("h3").get_text(" ", strip=True),
                    sec.select_one("p").get_text(" ", strip=True),
                    cap.get_text(" ", strip=True), img["aria-label"] if img else ""))
    return out


def test_a_trend_says_the_years_it_shows(changed_schools: Path) -> None:
    """A school that opened this year has a one-year "trend"; one that closed, its own
    years: their headings, captions and charts' descriptions say so, not the site's."""
    opened = _trend_words(changed_schools / "schools" / "048078-1400" / "index.html")
    closed = _trend_words(changed_schools / "schools" / "048078-1100" / "index.html")
    full = _trend_words(changed_schools / "schools" / "048078-1200" / "index.html")
    assert len(opened) >= 2 and len(closed) >= 2 and len(full) >= 2
    for heading, text, caption, alt in opened:
        assert heading.endswith(": 2024-25") and "trend" not in heading, heading
        assert text.endswith("for all students, in 2024-25."), text
        assert "2024-25" in caption and " to " not in caption, caption
        assert not alt or " in 2024-25, all students" in alt, alt
    for heading, text, caption, alt in closed:
        assert heading.endswith(": three-year trend"), heading
        assert text.endswith("each year from 2021-22 to 2023-24."), text
        assert "2021-22 to 2023-24" in caption and (not alt or "2021-22 to 2023-24" in alt)
    for heading, text, caption, alt in full:
        assert heading.endswith(": four-year trend"), heading
        assert "2021-22 to 2024-25" in text and "2021-22 to 2024-25" in caption
        assert not alt or "from 2021-22 to 2024-25" in alt, alt


def test_a_school_page_points_to_its_district_schools_table_unless_it_is_the_only_one(
        site: Path, inputs: dict) -> None:
    n = inputs["schools"].group_by("district_code").len()
    for code, count in n.iter_rows():
        for page in site.glob(f"schools/{code}-*/index.html"):
            link = soup(page).select_one(".rc-compare-link a")
            if count == 1:  # no other school to compare with
                assert link is None, page
            else:
                assert link is not None and link["href"] == f"../../districts/{code}/#schools-h"
                assert soup(site / "districts" / code / "index.html").select_one("#schools-h")


def test_every_spec_section_is_on_every_entity_page(site: Path, inputs: dict) -> None:
    ids = [s.id for t in inputs["specs"].topics for s in t.sections]
    for page in [site / "state" / "index.html", *entity_pages(site)]:
        doc = soup(page)
        found = [sec["id"] for sec in doc.select("section.rc-section")
                 if not sec["id"].startswith("trend-")]
        assert found == ids, page


def test_home_lists_districts_by_county_without_javascript(site: Path, inputs: dict) -> None:
    doc = soup(site / "index.html")
    county = doc.select_one("#county-001")
    assert county is not None and "Adair County" in county.get_text()
    assert {a["href"] for a in county.select("a")} == {"districts/001090/", "districts/001091/"}


@pytest.mark.parametrize("name, label", [
    ("Adair", "Adair County"), ("St. Louis City", "St. Louis City"),
    ("(statewide: Division of Youth Services)", "Run by the state"),
    ("(state: University of MO lab school)", "Run by the state"), ("", "")])
def test_a_county_is_named_as_people_name_it(name: str, label: str) -> None:
    from site_builder.site.pages import county_label

    assert county_label(name) == label


def test_the_lea_the_state_runs_are_listed_together_after_the_counties() -> None:
    from site_builder.site.build import county_groups

    def lea(code: str, name: str, county: str, county_name: str) -> dict[str, str]:
        return {"district_code": code, "district_name": name, "county_code": county,
                "county_name": county_name}

    groups = county_groups([
        lea("347347", "Division of Youth Service", "347",
            "(statewide: Division of Youth Services)"),
        lea("115115", "St. Louis City", "115", "St. Louis City"),
        lea("116116", "University of MO - Columbia", "116",
            "(state: University of MO lab school)"),
        lea("001091", "Kirksville R-III", "001", "Adair"),
        lea("001090", "Adair Co. R-I", "001", "Adair")])
    assert [(g.name, g.anchor, [d.text for d in g.districts]) for g in groups] == [
        ("Adair County", "county-001", ["Adair Co. R-I", "Kirksville R-III"]),
        ("St. Louis City", "county-115", ["St. Louis City"]),
        ("Run by the state", "state-run",
         ["Division of Youth Service", "University of MO - Columbia"])]


def test_search_index_is_compact_and_complete(site: Path, inputs: dict) -> None:
    path = site / "assets" / "search-index.json"
    rows = json.loads(path.read_text("utf-8"))["rows"]
    codes = {r[1] for r in rows}
    assert {d for d in inputs["districts"]["district_code"]} <= codes
    assert "001091-1050" in codes
    kirksville = next(r for r in rows if r[1] == "001091")
    assert kirksville[2:5] == ["Kirksville R-III", "Adair County", "districts/001091/"]
    assert path.stat().st_size < 200 * len(rows)  # bytes per entity: names, codes, county
    assert not (site / "search" / "search_index.json").exists()  # mkdocs' search is off


# --- accessible tables, withheld values ---------------------------------------------------

def test_tables_have_captions_and_scoped_headers(site: Path) -> None:
    for page in all_pages(site):
        for table in soup(page).select("article table"):
            assert table.select_one("caption") and table.caption.get_text(strip=True), page
            for th in table.select("th"):
                assert th.get("scope") in ("col", "row", "colgroup", "rowgroup"), (page, th)
            assert table.find_parent("div", class_="rc-table-wrap"), page


def _withheld_text(td) -> tuple[str, str]:
    mark = td.sup.get_text() if td.sup else ""
    text = td.get_text()
    return (text[: -len(mark)] if mark else text), mark


def test_withheld_values_show_the_symbol_and_a_footnote(site: Path, inputs: dict) -> None:
    policy = inputs["policy"]
    sym = policy.display.symbol
    bounds = {f"≤{b.bottom}%" for b in policy.coding_bands} | \
        {f"≥{b.top}%" for b in policy.coding_bands}
    doc = soup(site / "districts" / SMALL_DISTRICT / "index.html")
    withheld = doc.select("td.w")
    # The small district has withheld cells in several of its tables (4 of 11 in the tiny
    # state: enrollment, attendance and test results, by grade and by group).
    tables = doc.select("table.rc-table")
    assert len([t for t in tables if t.select("td.w")]) >= 3, len(withheld)
    for table in doc.select("table.rc-table"):
        cells = table.select("td.w")
        if not cells:
            continue
        notes = doc.select_one(f"#{table['id']}-notes")
        assert notes is not None, table["id"]
        marks = {li.select_one(".rc-note-mark").get_text().split()[-1]
                 for li in notes.select("li")}
        for td in cells:
            shown, mark = _withheld_text(td)
            assert shown == sym or shown in bounds, shown
            assert mark in marks, (table["id"], mark, marks)
    assert policy.footnote("primary") in doc.get_text()


def test_no_withheld_number_hides_in_the_page(site: Path, inputs: dict) -> None:
    """A withheld cell shows only the symbol (or a coding bound) and its note letter."""
    policy = inputs["policy"]
    bounds = {f"≤{b.bottom}%" for b in policy.coding_bands} | \
        {f"≥{b.top}%" for b in policy.coding_bands}
    for page in entity_pages(site):
        for td in soup(page).select("td.w"):
            shown, _mark = _withheld_text(td)
            assert shown == policy.display.symbol or shown in bounds, (page, shown)


# --- charts ------------------------------------------------------------------------------

def _chart_tokens(row: dict) -> set[str]:
    out = set()
    if "rate" in row:
        out.add(f"{row['rate']:.1f}%")
    if "n_students" in row:
        out.add(f"{row['n_students']:,}")
    return out


def _chart_rows_from_table(table: object, keys: dict) -> list[dict]:
    """The rule charts.js applies, written again from the HTML: one row per table cell of a
    drawn column that is not withheld and holds a number."""
    out = []
    trs = [tr for tr in table.select("tbody tr") if "rc-rowgroup" not in tr.get("class", [])]
    assert len(trs) == len(keys["rows"])
    for tr, values in zip(trs, keys["rows"], strict=True):
        group = tr.find_parent("tbody").select_one("tr.rc-rowgroup th")
        listed = iter(values)
        rk = {k: tr.th.get_text() if src == "th" else
              (group.get_text() if group else "") if src == "rowgroup" else next(listed)
              for k, src in zip(keys["keys"], keys["from"], strict=True)}
        tds = tr.select("td")
        assert len(tds) == len(keys["cols"])
        for td, ck in zip(tds, keys["cols"], strict=True):
            text = td.get_text().replace(",", "").removesuffix("%")
            if ck is None or "w" in td.get("class", []) or not re.fullmatch(r"\d+(\.\d)?", text):
                continue
            out.append({**rk, **ck, keys["value"]: float(text) if "." in text else int(text)})
    return out


def test_every_chart_number_is_in_its_table(site: Path) -> None:
    n_charts = 0
    for page in [site / "state" / "index.html", *entity_pages(site)]:
        doc = soup(page)
        for script in doc.select('script[type="application/json"].rc-chart-spec'):
            spec = json.loads(script.string)
            assert set(spec) == {"usermeta", "table"}  # no numbers in the page's chart part
            keys = spec["table"]
            assert keys["value"] in ("rate", "n_students")
            key_fields = {*keys["keys"], *(k for d in filter(None, keys["cols"]) for k in d)}
            assert key_fields <= set(CSV_COLUMNS) - {"rate", "n_students", "n_meeting"}
            table = doc.select_one(f"#{script['data-table']}")
            cells = [td.get_text() for td in table.select("td")]
            rows = _chart_rows_from_table(table, keys)
            assert 2 <= len(rows) <= len(cells), (page, script["id"])
            for row in rows:
                assert set(row) <= set(CSV_COLUMNS), row
                for tok in _chart_tokens(row):
                    assert tok in cells, (page, script["id"], tok)
            # the shared template carries the encoding and no data at all
            template = json.loads((site / "assets" / "charts" /
                                   f"{spec['usermeta']['template']}.json").read_text("utf-8"))
            assert "values" not in json.dumps(template.get("data", {}))
            assert "datasets" not in template and ("facet" in template or "mark" in template)
            n_charts += 1
            fig = script.find_parent("figure")
            assert fig.select_one("[role=img][aria-label]") and fig.figcaption
            # one full stop after a name that ends with one ("Central Elem.")
            assert ".." not in fig.select_one("[role=img]")["aria-label"], page
    assert n_charts > 50


# --- CSV downloads -------------------------------------------------------------------------

def test_csv_columns_order_and_empty_withheld(site: Path, inputs: dict) -> None:
    files = sorted((site / "downloads").rglob("*.csv"))
    names = {p.relative_to(site).as_posix() for p in files}
    assert "downloads/state.csv" in names and "downloads/data_dictionary.csv" in names
    for d in inputs["districts"]["district_code"]:
        assert f"downloads/districts/{d}.csv" in names
    for p in files:
        # Excel, opening a CSV by a double click, reads one without a UTF-8 byte-order mark
        # in a legacy code page: "≥95%" would show as "â‰¥95%".
        data = p.read_bytes()
        assert data.startswith(codecs.BOM_UTF8), f"{p}: no UTF-8 byte-order mark"
        if p.name == "data_dictionary.csv":
            continue
        header = data[len(codecs.BOM_UTF8):].decode("utf-8").splitlines()[0]
        assert header.split(",") == list(CSV_COLUMNS), p
        df = pl.read_csv(p, infer_schema=False)
        assert set(df["suppressed"].unique()) <= {"true", "false"}
        hidden = df.filter(pl.col("suppressed") == "true")
        assert hidden["n_meeting"].null_count() == hidden.height  # empty, never 0
        assert hidden.filter(pl.col("reason") == "primary")["n_students"].null_count() == \
            hidden.filter(pl.col("reason") == "primary").height
        key = ["district_code", "level", "school_code", "year", "topic", "measure", "subject",
               "grade", "group_family", "student_group"]
        assert df.height == df.unique(subset=key).height
    total = sum(pl.read_csv(p, infer_schema=False).height for p in files
                if p.parent.name == "districts")
    published = inputs["published"]
    assert total == published.filter(pl.col("level") != "state").height


def test_data_dictionary_names_every_column_measure_and_group(site: Path, inputs: dict) -> None:
    dd = pl.read_csv(site / "downloads" / "data_dictionary.csv", infer_schema=False)
    names = set(dd["name"])
    assert set(CSV_COLUMNS) <= names
    assert {m.id for t in inputs["specs"].topics for m in t.measures} <= names
    assert {"Black", "English learners", "All students"} <= names
    # A spreadsheet drops leading zeros unless the codes are imported as text: both say so.
    described = dict(dd.filter(pl.col("kind") == "column").select("name", "description").rows())
    assert all("as text" in described[c] for c in ("district_code", "school_code", "grade"))
    page = soup(site / "downloads" / "index.html").get_text(" ", strip=True)
    assert "import those columns as text" in page
    assert "UTF-8 with a byte-order mark" in page


def _csv_displays(site: Path) -> dict[tuple[str, str, str], set[str]]:
    out: dict[tuple[str, str, str], set[str]] = {}
    for p in (site / "downloads").rglob("*.csv"):
        if p.name == "data_dictionary.csv":
            continue
        df = pl.read_csv(p, infer_schema=False).with_columns(
            pl.col("district_code").fill_null(""), pl.col("school_code").fill_null(""))
        for lv, d, s, disp in df.select("level", "district_code", "school_code",
                                        "display").iter_rows():
            out.setdefault((lv, d, s), set()).add(disp)
    return out


def test_page_numbers_are_csv_cells(site: Path) -> None:
    """Every table value on a page is the display of a CSV cell of that page's entities."""
    shown = _csv_displays(site)
    state = shown[("state", "", "")]
    for page in entity_pages(site):
        kind, code = page.parent.parent.name, page.parent.name
        if kind == "districts":  # the district, and its schools side by side
            allowed = state | shown.get(("district", code, ""), set())
            for (lv, d, _s), values in shown.items():
                if lv == "school" and d == code:
                    allowed = allowed | values
        else:
            d, s = code.split("-")
            allowed = state | shown.get(("district", d, ""), set()) | \
                shown.get(("school", d, s), set())
        for td in soup(page).select("td"):
            text = td.get_text()
            if td.sup:
                text = text[: -len(td.sup.get_text())]
            assert text in allowed or text == "–", (page, text)


# --- privacy: nothing from another host, a CSP, no cookies -----------------------------

def test_nothing_loads_from_another_host(site: Path) -> None:
    for page in all_pages(site):
        doc = soup(page)
        for el in doc.select("script[src], link[href], img[src], iframe[src], form[action]"):
            url = el.get("src") or el.get("href") or el.get("action")
            assert not re.match(r"^(https?:)?//", url), (page, url)
        assert "fonts.googleapis" not in page.read_text("utf-8")
    for js in (site / "assets").glob("*.js"):
        assert "document.cookie" not in js.read_text("utf-8")


def test_csp_meta_forbids_other_origins(site: Path) -> None:
    for page in all_pages(site):
        doc = soup(page)
        meta = doc.select_one('meta[http-equiv="Content-Security-Policy"]')
        assert meta is not None, page
        csp = meta["content"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "unsafe-eval" not in csp and "http" not in csp
        scripts = [s for s in doc.select("script")
                   if not s.get("src") and "json" not in s.get("type", "")]
        assert not scripts, (page, "inline script would need 'unsafe-inline'")


def test_no_sitemap_with_build_date(site: Path) -> None:
    assert not (site / "sitemap.xml").exists()
    assert not (site / "sitemap.xml.gz").exists()


def test_pages_are_lean(site: Path) -> None:
    for page in all_pages(site):
        assert page.stat().st_size < 300_000, page
    bundles = list(site.rglob("vega-bundle.js"))
    assert len(bundles) == 1


# --- determinism and failures --------------------------------------------------------------

def _hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_cells_give_byte_identical_sites(site: Path, inputs: dict,
                                              tmp_path: Path) -> None:
    again = tmp_path / "site"
    _build(inputs, again)
    a, b = _hashes(site), _hashes(again)
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []


def test_undefined_template_variable_fails_clearly(inputs: dict, tmp_path: Path) -> None:
    bad = tmp_path / "templates"
    bad.mkdir()
    (bad / "privacy.html").write_text(
        "<h1>{{ page.title }}</h1>\n<p>{{ page.no_such_field }}</p>\n")
    with pytest.raises(SiteTemplateError) as err:
        _build(inputs, tmp_path / "site", template_dir=bad)
    msg = str(err.value)
    assert "templates/privacy.html, line 2" in msg
    assert "no_such_field" in msg and "PrivacyPage" in msg


def test_raw_cells_are_refused(inputs: dict, tmp_path: Path) -> None:
    from site_builder.site.data import PublishedCellsError

    raw = inputs["published"].select(list(RAW_SCHEMA))
    with pytest.raises(PublishedCellsError, match="missing column"):
        build_site(raw, inputs["districts"], inputs["schools"], inputs["specs"],
                   inputs["policy"], tmp_path / "site")
    leaky = inputs["published"].with_columns(
        pl.when(pl.col("suppressed")).then(7).otherwise(pl.col("n_meeting")).alias("n_meeting"))
    with pytest.raises(PublishedCellsError, match="withheld cell"):
        build_site(leaky, inputs["districts"], inputs["schools"], inputs["specs"],
                   inputs["policy"], tmp_path / "site")


def test_a_chart_that_would_differ_from_its_table_fails_the_build() -> None:
    from site_builder.site.charts import ChartTableMismatch, with_data
    from site_builder.site.tables import RowGroup, Table, TableCell, TableRow

    rows = (TableRow("2023-24", (TableCell("1,204"), TableCell("*", "a", True))),
            TableRow("2024-25", (TableCell("1,250"), TableCell("57.3%"))))
    chart_rows = ({"year": 2024, "level": "district", "n_students": 1204},
                  {"year": 2025, "level": "district", "n_students": 1250})

    def table(keys: tuple, rows_: tuple = rows) -> Table:
        return Table("t-x", "c", "School year", (), ("District", "Missouri"),
                     (RowGroup("", rows_),), (), chart_rows, "n_students", keys,
                     ({"level": "district"}, None))

    good = with_data("tpl", table(({"year": 2024}, {"year": 2025})))
    assert good == {"usermeta": {"template": "tpl"}, "table": {
        "value": "n_students", "keys": ["year"], "from": ["rows"], "rows": [[2024], [2025]],
        "cols": [{"level": "district"}, None]}}
    with pytest.raises(ChartTableMismatch, match="would differ"):  # keys swapped
        with_data("tpl", table(({"year": 2025}, {"year": 2024})))
    with pytest.raises(ChartTableMismatch, match="1 row keys for 2 rows"):
        with_data("tpl", table(({"year": 2024},)))
    shown = (rows[0], TableRow("2024-25", (TableCell("1,251"), TableCell("–"))))
    with pytest.raises(ChartTableMismatch, match="would differ"):  # a cell not the chart's
        with_data("tpl", table(({"year": 2024}, {"year": 2025}), shown))


def test_whitespace_is_collapsed_outside_pre_script_and_textarea() -> None:
    from site_builder.site.mkdocs_hooks import collapse_whitespace

    page = ('<p>a   b\n\n  c</p>\n   <pre>x\n   y</pre>  <script>var a = 1;\n\n  b</script>'
            '\n\n<textarea> t  t</textarea> <PRE class="q">  k  </PRE>')
    assert collapse_whitespace(page) == (
        '<p>a b\nc</p>\n<pre>x\n   y</pre> <script>var a = 1;\n\n  b</script>'
        '\n<textarea> t  t</textarea> <PRE class="q">  k  </PRE>')


def test_built_pages_carry_no_indentation_runs(site: Path) -> None:
    for page in [site / "index.html", *entity_pages(site)[:5]]:
        text = page.read_text("utf-8")
        outside = re.sub(r"<(pre|script|textarea|style)\b.*?</\1>", "X", text, flags=re.S)
        assert not re.search(r"[ \t\n]{2,}", outside), page


def test_a_chart_says_how_many_of_its_values_are_withheld_and_not_drawn(site: Path) -> None:
    """A bar left out because its value is withheld (or only a band like ≥95%) is not a
    zero: the chart's text alternative and caption count what the table marks instead."""
    said = silent = 0
    for page in [site / "districts" / SMALL_DISTRICT / "index.html", *entity_pages(site)]:
        doc = soup(page)
        for script in doc.select('script[type="application/json"].rc-chart-spec'):
            cols = json.loads(script.string)["table"]["cols"]
            table = doc.select_one(f"#{script['data-table']}")
            hidden = sum(1 for tr in table.select("tbody tr")
                         if "rc-rowgroup" not in tr.get("class", [])
                         for td, ck in zip(tr.select("td"), cols, strict=True)
                         if ck is not None and "w" in td.get("class", []))
            fig = script.find_parent("figure")
            label = fig.select_one("[role=img]")["aria-label"]
            if hidden:
                what = "value is" if hidden == 1 else "values are"
                assert f" {hidden} {what} withheld or shown only as a range, and not drawn" \
                    in label, (page, script["id"], label)
                assert label in " ".join(fig.figcaption.get_text().split())
                said += 1
            else:
                assert "not drawn" not in label, (page, script["id"])
                silent += 1
    assert said and silent

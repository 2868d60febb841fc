"""The gate refuses each kind of leak, and passes a clean site.

Each test starts from the same small clean site (written here by hand, so these tests do not
depend on the renderer) and plants exactly one leak. The end-to-end test on the real demo
build lives in test_publish.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from site_builder.gate import GateRefused, pii, require_pass, run_gate
from site_builder.gate.manifest import verify, write_manifest
from site_builder.gate.publish import PublishLock, PublishLocked, swap_directories

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'")
HEAD = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'

CSV_HEADER = ",".join((
    "year", "level", "district_code", "district_name", "school_code", "school_name", "topic",
    "measure", "subject", "grade", "group_family", "student_group", "n_students", "n_meeting",
    "rate", "display", "suppressed", "reason"))
CSV_ROWS = [
    "2024,state,,,,,enrollment,enrollment,,All,All,All students,900000,,,\"900,000\",false,",
    "2024,district,001091,KIRKSVILLE R-III,,,enrollment,enrollment,,All,All,All students,"
    "2350,,,\"2,350\",false,",
    "2024,district,001091,KIRKSVILLE R-III,,,enrollment,enrollment,,All,Race/Ethnicity,Black,"
    ",,,*,true,primary",
    "2024,district,001091,KIRKSVILLE R-III,,,enrollment,enrollment,,All,Race/Ethnicity,White,"
    ",,,*,true,complementary",
    "2024,district,001091,KIRKSVILLE R-III,,,attendance,attendance_90_90,,All,All,"
    "All students,2350,1800,76.6,76.6%,false,",
]


def district_page(extra_td: str = "", chart_rows: list[dict] | None = None,
                  head: str = HEAD, body_extra: str = "") -> str:
    rows = chart_rows if chart_rows is not None else [
        {"year": 2024, "student_group": "All students", "rate": 76.6, "display": "76.6%"}]
    spec = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "mark": "bar",
            "data": {"values": rows}}
    return f"""<!doctype html><html lang="en"><head>{head}<title>Kirksville R-III</title>
<script src="../../assets/vega-bundle.js"></script></head><body>
<section><h2>Enrollment</h2>
<table id="t1"><caption>Students</caption>
<tr><th scope="row">All students</th><td>2,350</td></tr>
<tr><th scope="row">Black</th><td>*</td></tr>
<tr><th scope="row">White</th><td>*{extra_td}</td></tr></table></section>
<section><figure><script type="application/json" data-table="t2">{json.dumps(spec)}</script>
<table id="t2"><tr><th scope="row">90/90</th><td>76.6%</td><td>2,350</td></tr></table>
</figure></section>{body_extra}</body></html>"""


@pytest.fixture()
def clean_site(tmp_path: Path) -> Path:
    site = tmp_path / "staging"
    (site / "districts" / "001091").mkdir(parents=True)
    (site / "downloads" / "districts").mkdir(parents=True)
    (site / "assets").mkdir()
    (site / "index.html").write_text(
        f"<!doctype html><html><head>{HEAD}</head><body><h1>Missouri report cards</h1>"
        '<input type="search" aria-label="Find a district"></body></html>')
    (site / "districts" / "001091" / "index.html").write_text(district_page())
    (site / "downloads" / "state.csv").write_text("\n".join([CSV_HEADER, *CSV_ROWS]) + "\n")
    (site / "assets" / "search.json").write_text(json.dumps(
        [{"name": "KIRKSVILLE R-III", "code": "001091", "county": "Adair",
          "url": "districts/001091/"}]))
    (site / "assets" / "vega-bundle.js").write_text("window.vegaEmbed=function(){};")
    return site


@pytest.fixture()
def pii_extract(tmp_path: Path) -> Path:
    """An extract with just the restricted columns the gate reads, plus canaries."""
    root = tmp_path / "extract"
    (root / "2024").mkdir(parents=True)
    (root / "directory").mkdir()
    pl.DataFrame({
        "year": [2024, 2024], "student_id": ["4821937465", "9990000001"],
        "first_name": ["Maribel", "Canary"], "last_name": ["Okonkwo", "Zzyzx0001"],
        "birth_date": [dt.date(2013, 4, 17), dt.date(2012, 2, 29)],
        "ssn": ["912345678", "999000001"],
    }).write_parquet(root / "2024" / "enrollment.parquet")
    pl.DataFrame({"district_code": ["001091"], "district_name": ["KIRKSVILLE R-III"],
                  "county_name": ["Adair"]}).write_csv(root / "directory" / "districts.csv")
    pl.DataFrame({"district_code": ["001091"], "school_code": ["1050"],
                  "school_name": ["Ray Miller Elementary"]}).write_csv(
        root / "directory" / "schools.csv")
    (root / "canaries.json").write_text(json.dumps({"canaries": [{
        "student_id": "9990000001", "first_name": "Canary", "last_name": "Zzyzx0001",
        "birth_date": "2012-02-29", "ssn": "999000001"}]}))
    return root


def checks(site: Path, extract: Path | None = None) -> list[tuple[str, str]]:
    report = run_gate(site, extract=extract, audit=False)
    return [(f.check, f.rule) for f in report.findings]


def test_clean_site_passes(clean_site: Path, pii_extract: Path) -> None:
    report = run_gate(clean_site, extract=pii_extract, audit=False)
    assert report.ok, report.render()
    assert report.files_scanned == 5


def test_canary_name_in_a_template_is_refused(clean_site: Path, pii_extract: Path) -> None:
    page = clean_site / "index.html"
    page.write_text(page.read_text().replace("<h1>", "<h1>Zzyzx0001 "))
    found = checks(clean_site, pii_extract)
    assert ("pii", "a canary student's identifying value appears") in found


def test_student_full_name_is_refused(clean_site: Path, pii_extract: Path) -> None:
    page = clean_site / "index.html"
    page.write_text(page.read_text().replace("</body>", "<p hidden>maribel okonkwo</p></body>"))
    assert ("pii", "a student's full name from the extract appears") in checks(
        clean_site, pii_extract)


def test_small_cell_in_a_chart_spec_is_refused(clean_site: Path) -> None:
    page = clean_site / "districts" / "001091" / "index.html"
    page.write_text(district_page(chart_rows=[
        {"year": 2024, "student_group": "Black", "n_students": 14}]))
    assert ("disclosure", "a chart shows a number that no published cell holds") in checks(
        clean_site)


def test_unsuppressed_number_on_a_page_is_refused(clean_site: Path) -> None:
    page = clean_site / "districts" / "001091" / "index.html"
    page.write_text(district_page(extra_td='<span class="visually-hidden">14</span>'))
    found = checks(clean_site)
    assert ("disclosure", "a table shows a number that no published cell holds") in found


def test_ssn_like_number_in_a_csv_is_refused(clean_site: Path) -> None:
    csv = clean_site / "downloads" / "state.csv"
    csv.write_text(csv.read_text() + CSV_ROWS[1].replace("KIRKSVILLE R-III",
                                                         "KIRKSVILLE 123-45-6789") + "\n")
    assert ("pii", "an SSN-like number (123-45-6789) appears") in checks(clean_site)


def test_ssn_from_the_extract_without_dashes_is_refused(clean_site: Path,
                                                        pii_extract: Path) -> None:
    (clean_site / "assets" / "vega-bundle.js").write_text("var x=912345678;")
    assert ("pii", "an SSN from the extract appears") in checks(clean_site, pii_extract)


def test_external_script_tag_is_refused(clean_site: Path) -> None:
    page = clean_site / "index.html"
    page.write_text(page.read_text().replace(
        "</head>", '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script></head>'))
    assert ("external", "<script src> points to another host") in checks(clean_site)


def test_external_font_in_css_is_refused(clean_site: Path) -> None:
    (clean_site / "assets" / "site.css").write_text(
        "@import 'https://fonts.googleapis.com/css?family=Roboto';")
    assert ("external", "a stylesheet loads from another host") in checks(clean_site)


def test_cookie_setting_snippet_is_refused(clean_site: Path) -> None:
    page = clean_site / "index.html"
    page.write_text(page.read_text().replace(
        "</body>", "<script>document.cookie='visitor=1';</script></body>"))
    assert ("external", "cookie or tracking code") in checks(clean_site)


def test_search_index_entry_with_a_student_id_is_refused(clean_site: Path,
                                                         pii_extract: Path) -> None:
    index = clean_site / "assets" / "search.json"
    entries = json.loads(index.read_text())
    entries.append({"name": "x", "code": "4821937465", "county": "", "url": ""})
    index.write_text(json.dumps(entries))
    found = checks(clean_site, pii_extract)
    assert ("pii", "a student ID from the extract appears") in found


def test_any_ten_digit_number_is_refused_even_without_the_extract(clean_site: Path) -> None:
    index = clean_site / "assets" / "search.json"
    index.write_text(index.read_text().replace("001091", "1234567890"))
    assert ("pii", "a 10-digit number (the shape of a MOSIS student ID) appears") in checks(
        clean_site)


def test_birth_date_is_refused(clean_site: Path, pii_extract: Path) -> None:
    page = clean_site / "index.html"
    page.write_text(page.read_text().replace("</body>", "<!-- 4/17/2013 --></body>"))
    assert ("pii", "a birth date from the extract appears") in checks(clean_site, pii_extract)


def test_missing_or_permissive_csp_is_refused(clean_site: Path) -> None:
    page = clean_site / "districts" / "001091" / "index.html"
    page.write_text(district_page(head=""))
    assert ("external", "no Content-Security-Policy meta tag") in checks(clean_site)
    page.write_text(district_page(head=HEAD.replace("script-src 'self'",
                                                    "script-src 'self' https://cdn.example")))
    assert ("external", "the Content-Security-Policy allows another origin in script-src") in \
        checks(clean_site)


def test_chart_with_more_rows_than_its_table_is_refused(clean_site: Path) -> None:
    rows = [{"year": 2024, "student_group": "All students", "rate": 76.6}] * 5
    page = clean_site / "districts" / "001091" / "index.html"
    page.write_text(district_page(chart_rows=rows))
    assert ("row_level", "a chart embeds more rows than the table it illustrates") in checks(
        clean_site)


def test_chart_with_unpublished_fields_is_refused(clean_site: Path) -> None:
    page = clean_site / "districts" / "001091" / "index.html"
    page.write_text(district_page(chart_rows=[
        {"year": 2024, "student_group": "All students", "rate": 76.6, "student_id": "x"}]))
    assert ("row_level", "a chart carries fields that are not published columns") in checks(
        clean_site)


def test_restricted_file_types_are_refused(clean_site: Path) -> None:
    (clean_site / "downloads" / "cells.parquet").write_bytes(b"PAR1")
    assert ("hygiene", "a restricted file type (.parquet) is in the site") in checks(clean_site)


def test_require_pass_raises_with_a_readable_message(clean_site: Path) -> None:
    page = clean_site / "index.html"
    page.write_text(page.read_text().replace("</head>",
                                             '<script src="//evil.example/a.js"></script></head>'))
    with pytest.raises(GateRefused) as err:
        require_pass(clean_site, audit=False)
    text = str(err.value)
    assert "[external] index.html (line 1): <script src> points to another host: " \
           "//evil.example/a.js" in text
    assert "Nothing was published; the previous site/ is unchanged." in text


def test_manifest_records_and_verifies_every_file(clean_site: Path, tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "a.yaml").write_text("x: 1\n")
    write_manifest(clean_site, specs=specs, extract=None, parameters={"seed": 1})
    doc = json.loads((clean_site / "manifest.json").read_text())
    assert set(doc["files"]) == {p.relative_to(clean_site).as_posix()
                                 for p in clean_site.rglob("*") if p.is_file()} - {
        "manifest.json"}
    assert verify(clean_site).ok
    (clean_site / "index.html").write_text("tampered")
    (clean_site / "extra.html").write_text("x")
    v = verify(clean_site)
    assert v.changed == ["index.html"] and v.extra == ["extra.html"] and not v.ok


def test_swap_is_an_exchange_and_keeps_the_old_tree(tmp_path: Path) -> None:
    site, new = tmp_path / "site", tmp_path / "new"
    site.mkdir()
    new.mkdir()
    (site / "v").write_text("old")
    (new / "v").write_text("new")
    inode_new = os.stat(new).st_ino
    swap_directories(new, site)
    assert (site / "v").read_text() == "new" and os.stat(site).st_ino == inode_new
    assert (new / "v").read_text() == "old"
    shutil.rmtree(new)


def test_publish_staged_makes_the_swap_durable(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """After the exchange, the directory holding site/ is fsynced (a rename is only durable
    once its directory is); every staged file was fsynced before the swap."""
    from site_builder.gate import publish as pub

    site, staging = tmp_path / "www" / "site", tmp_path / "www" / ".site.staging-1"
    site.mkdir(parents=True)
    staging.mkdir()
    (site / "index.html").write_text("old")
    (staging / "index.html").write_text("new")
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(pub.os, "fsync", spy)
    monkeypatch.setattr(pub, "write_manifest", lambda *a, **k: None)
    pub.publish_staged(staging, site, extract=None, specs=tmp_path, parameters={},
                       gate=lambda p: "ok")
    assert (site / "index.html").read_text() == "new" and not staging.exists()
    swap_at = synced.index(str(site.parent))
    assert str(staging / "index.html") in synced[:swap_at]


def test_second_publisher_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    site = tmp_path / "site"
    with PublishLock(site), pytest.raises(PublishLocked) as err, PublishLock(site):
        pass
    assert "another `reportcard publish` is already running (pid " in str(err.value)
    assert "nothing was changed" in str(err.value)


def test_link_check_finds_broken_files_and_anchors(clean_site: Path) -> None:
    from site_builder.gate.links import check_links

    page = clean_site / "index.html"
    page.write_text(page.read_text().replace(
        "</body>", '<a href="districts/001091/#t1">ok</a><a href="districts/001091/#nope">x</a>'
                   '<a href="districts/999999/">y</a><a href="https://dese.mo.gov/">ext</a>'
                   '<a href="/districts/001091/">root-relative</a><a href="/nope.css">z</a>'
                   "</body>"))
    checked, broken = check_links(clean_site)
    assert checked >= 3
    assert sorted((b.target, b.problem) for b in broken) == [
        ("/nope.css", "no such file"),
        ("districts/001091/#nope", "no element with id 'nope'"),
        ("districts/999999/", "no such file"),
    ]


def test_code_files_get_exact_checks_but_no_pattern_checks(clean_site: Path,
                                                           pii_extract: Path) -> None:
    """Minified libraries carry 10-digit constants and sample dates; IDs are still refused."""
    bundle = clean_site / "assets" / "vega-bundle.js"
    bundle.write_text("var a=1717986918,b='2013-04-17';")
    (clean_site / "assets" / "theme.css").write_text(".x{width:1717986918px}")
    assert checks(clean_site, pii_extract) == []
    bundle.write_text("var a='4821937465';")
    assert checks(clean_site, pii_extract) == [("pii", "a student ID from the extract appears")]


def _keyed_chart_page(keys: dict) -> str:
    """The clean district page plus a site chart drawn from table t2 (keys only)."""
    spec = json.dumps({"usermeta": {"template": "x"}, "table": keys})
    return district_page(body_extra=(
        f'<figure><script type="application/json" class="rc-chart-spec" id="c-spec" '
        f'data-table="t2">{spec}</script></figure>'))


GOOD_KEYS = {"value": "rate", "keys": ["year"], "from": ["rows"], "rows": [[2024]],
             "cols": [{"level": "district"}, None]}


def test_a_chart_drawn_from_its_table_passes(clean_site: Path) -> None:
    page = clean_site / "districts" / "001091" / "index.html"
    page.write_text(_keyed_chart_page(GOOD_KEYS))
    assert checks(clean_site) == []


@pytest.mark.parametrize(("keys", "rule"), [
    ({**GOOD_KEYS, "keys": ["year", "n_students"], "from": ["rows", "rows"],
      "rows": [[2024, 14]]},
     "a chart's table keys carry fields that are not published key columns"),
    ({**GOOD_KEYS, "keys": ["student_group"], "from": ["th"], "rows": [[]]}, None),
    ({**GOOD_KEYS, "from": ["caption"]}, "a chart's table keys are malformed"),
    ({**GOOD_KEYS, "rows": [[{"n_students": 14}]]}, "a chart's table keys are malformed"),
    ({**GOOD_KEYS, "cols": [{"level": "district", "student_id": "x"}, None]},
     "a chart's table keys carry fields that are not published key columns"),
    ({**GOOD_KEYS, "rows": [[2024], [2023]]}, "a chart's table keys do not fit its table"),
    ({**GOOD_KEYS, "cols": [{"level": "district"}]}, "a chart's table keys do not fit its table"),
    ({**GOOD_KEYS, "value": "student_id"}, "a chart's table keys are malformed"),
    (None, "a chart's table keys are malformed"),
])
def test_chart_table_keys_that_could_carry_more_than_the_table_are_refused(
        clean_site: Path, keys: dict | None, rule: str | None) -> None:
    page = clean_site / "districts" / "001091" / "index.html"
    page.write_text(_keyed_chart_page(keys) if keys is not None else district_page(body_extra=(
        '<figure><script type="application/json" class="rc-chart-spec" data-table="t2">'
        '{"usermeta": {"template": "x"}}</script></figure>')))
    assert checks(clean_site) == ([("row_level", rule)] if rule else [])


def test_inline_data_in_a_site_chart_is_checked_even_without_a_vega_schema(
        clean_site: Path) -> None:
    page = clean_site / "districts" / "001091" / "index.html"
    spec = json.dumps({"usermeta": {"template": "x"}, "table": GOOD_KEYS,
                       "data": {"values": [{"student_group": "Black", "n_students": 14}]}})
    page.write_text(district_page(body_extra=(
        '<figure><script type="application/json" class="rc-chart-spec" data-table="t2">'
        f"{spec}</script></figure>")))
    assert checks(clean_site) == [
        ("disclosure", "a chart shows a number that no published cell holds")]


def test_a_theme_file_as_shipped_is_not_matched_against_names(clean_site: Path,
                                                               pii_extract: Path) -> None:
    """mkdocs-material's lunr/wordcut.js credits "Thomas Robinson", a name a synthetic
    student can have (the central state's gate refused it). Byte for byte as the theme ships
    it, the file holds none of our text; changed by one line, it is checked like any other."""
    import material

    theme = Path(material.__file__).parent / "templates" / "assets" / "javascripts"
    shipped = (theme / "lunr" / "wordcut.js").read_bytes()
    assert b"Thomas Robinson" in shipped
    enrollment = pii_extract / "2024" / "enrollment.parquet"
    pl.read_parquet(enrollment).with_columns(
        pl.Series("first_name", ["Thomas", "Canary"]),
        pl.Series("last_name", ["Robinson", "Zzyzx0001"])).write_parquet(enrollment)
    copy = clean_site / "assets" / "javascripts" / "lunr" / "wordcut.js"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(shipped)
    assert run_gate(clean_site, extract=pii_extract, audit=False).ok
    copy.write_bytes(shipped + b"\n// thomas robinson\n")
    assert ("pii", "a student's full name from the extract appears") in checks(
        clean_site, pii_extract)
    moved = clean_site / "districts" / "wordcut.js"  # the theme's bytes, not where it puts them
    moved.write_bytes(shipped)
    copy.unlink()
    assert ("pii", "a student's full name from the extract appears") in checks(
        clean_site, pii_extract)


def test_a_school_name_beside_its_countys_name_is_not_a_student(clean_site: Path,
                                                                 pii_extract: Path) -> None:
    """The search index lists a school's name and then its county's: "Early Childhood Ed
    Center West", "Jackson" reads "west jackson", and a full state (seed 7) has a student of
    that name (its publish was refused for it). That word pair is public; a student's name
    elsewhere in the index is still refused."""
    enrollment = pii_extract / "2024" / "enrollment.parquet"
    pl.concat([pl.read_parquet(enrollment), pl.DataFrame({
        "year": [2024], "student_id": ["4821937466"], "first_name": ["West"],
        "last_name": ["Jackson"], "birth_date": [dt.date(2013, 5, 1)], "ssn": ["912345679"]})],
    ).write_parquet(enrollment)
    pl.DataFrame({"district_code": ["048078"], "district_name": ["KANSAS CITY 33"],
                  "county_name": ["Jackson"]}).write_csv(
        pii_extract / "directory" / "districts.csv")
    pl.DataFrame({"district_code": ["048078"], "school_code": ["9100"],
                  "school_name": ["Early Childhood Ed Center West"]}).write_csv(
        pii_extract / "directory" / "schools.csv")
    index = clean_site / "assets" / "search-index.json"
    index.parent.mkdir(parents=True, exist_ok=True)
    row = '["s","048078-9100","Early Childhood Ed Center West","Jackson",' \
        '"schools/048078-9100/","KANSAS CITY 33"]'
    index.write_text('{"rows":[' + row + ']}')
    assert ("pii", "a student's full name from the extract appears") not in checks(
        clean_site, pii_extract)
    index.write_text('{"rows":[' + row + ',["s","x","Lincoln Elem. West","Jackson"]]}')
    assert ("pii", "a student's full name from the extract appears") not in checks(
        clean_site, pii_extract)  # the same public pair
    index.write_text('{"rows":[' + row + ',["s","x","Jackson West","Clay"]]}')
    assert ("pii", "a student's full name from the extract appears") in checks(
        clean_site, pii_extract)  # last name first: not a place pair


def test_a_place_name_beside_its_districts_name_is_not_a_student(clean_site: Path,
                                                                  pii_extract: Path) -> None:
    """A download row puts a district's name right before its school's: "ST. JOSEPH" then
    "Ellis Elem." reads "joseph ellis", and the full state has a student of that name (the
    first full-state publish was refused for it). That word pair is public (the gate matches
    word pairs, so anywhere on the site); other students' names are still refused."""
    enrollment = pii_extract / "2024" / "enrollment.parquet"
    pl.concat([pl.read_parquet(enrollment), pl.DataFrame({
        "year": [2024], "student_id": ["4821937466"], "first_name": ["Joseph"],
        "last_name": ["Ellis"], "birth_date": [dt.date(2013, 5, 1)], "ssn": ["912345679"]})],
    ).write_parquet(enrollment)
    pl.DataFrame({"district_code": ["001091", "011082"],
                  "district_name": ["KIRKSVILLE R-III", "ST. JOSEPH"],
                  "county_name": ["Adair", "Buchanan"]}).write_csv(
        pii_extract / "directory" / "districts.csv")
    pl.DataFrame({"district_code": ["001091", "011082"], "school_code": ["1050", "4100"],
                  "school_name": ["Ray Miller Elementary", "Ellis Elem."]}).write_csv(
        pii_extract / "directory" / "schools.csv")
    csv = clean_site / "downloads" / "districts" / "011082.csv"
    csv.parent.mkdir(parents=True, exist_ok=True)
    csv.write_text("year,level,district_code,district_name,school_code,school_name\n"
                   "2024,school,011082,ST. JOSEPH,4100,Ellis Elem.\n")
    assert ("pii", "a student's full name from the extract appears") not in checks(
        clean_site, pii_extract)
    page = clean_site / "index.html"
    page.write_text(page.read_text().replace("</body>", "<p>Joseph Ellis, grade 5</p></body>"))
    assert ("pii", "a student's full name from the extract appears") not in checks(
        clean_site, pii_extract)  # the same word pair: a place-name pair is public anywhere
    page.write_text(page.read_text().replace("Joseph Ellis", "Ellis Joseph Okonkwo Maribel"))
    assert ("pii", "a student's full name from the extract appears") in checks(
        clean_site, pii_extract)


def test_the_scan_cache_checks_again_every_file_whose_inputs_changed(
        clean_site: Path, pii_extract: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that passed is not checked again only while its bytes, the extract's restricted
    values and (for a page) the downloads its numbers are checked against are the same."""
    import site_builder.gate as gate

    cache = tmp_path / "cache" / "scan"
    checked: list[str] = []
    real = gate._check_file

    def spy(rel, path, needles, published):  # noqa: ANN001, ANN202
        checked.append(rel)
        return real(rel, path, needles, published)

    monkeypatch.setattr(gate, "_check_file", spy)

    def run(extract: Path = pii_extract) -> list[tuple[str, str]]:
        checked.clear()
        report = run_gate(clean_site, extract=extract, audit=False, scan_cache=cache)
        return [(f.check, f.rule) for f in report.findings]

    index = clean_site / "index.html"
    index.write_text(index.read_text().replace("</h1>", "</h1><p>Ask Lena Voss</p>"))
    assert run() == [] and len(checked) == 5
    assert run() == [] and checked == []                      # nothing changed

    # A planted name in one file: that file is checked, and refused.
    original = index.read_text()
    index.write_text(original.replace("</body>", "<p hidden>maribel okonkwo</p></body>"))
    assert run() == [("pii", "a student's full name from the extract appears")]
    assert checked == ["index.html"]
    index.write_text(original)
    assert run() == [] and checked == ["index.html"]

    # The same bytes, but a new extract in which "Lena Voss" is a student: checked again.
    people = pl.read_parquet(pii_extract / "2024" / "enrollment.parquet")
    people = pl.concat([people, people.head(1).with_columns(
        pl.lit("Lena").alias("first_name"), pl.lit("Voss").alias("last_name"),
        pl.lit("4821937466").alias("student_id"))])
    people.write_parquet(pii_extract / "2024" / "enrollment.parquet")
    assert run() == [("pii", "a student's full name from the extract appears")]
    assert len(checked) == 5

    # A page's bytes unchanged, but the downloads no longer publish one of its numbers.
    index.write_text(original.replace("<p>Ask Lena Voss</p>", ""))
    assert run() == []
    csv = clean_site / "downloads" / "state.csv"
    csv.write_text(csv.read_text().replace("2350,", "2351,").replace("2,350", "2,351"))
    found = run()
    assert ("disclosure", "a table shows a number that no published cell holds") in found
    assert "districts/001091/index.html" in checked


# --- the PII scan's fast paths find exactly what the patterns find ------------------------

_PIECES = st.lists(st.one_of(
    st.sampled_from(["-", "/", " ", "x", "٣", "19", "20", "01", "12", "31", "1", "0"]),
    st.from_regex(r"\d{1,12}", fullmatch=True),
    st.sampled_from(["2011-02-03", "1999-12-31", "3/4/2020", "03/14/1999", "12/31/2019",
                     "123-45-6789", "987-65-4321", "1234567890", "123456789"])),
    max_size=30)


@settings(max_examples=600, deadline=None)
@given(_PIECES)
@example(["112/05/2020"])
@example(["2020-01-2021-01-15"])
@example(["1/2/2020/3/2020"])
@example(["123-45-6789-10"])
@example(["--12-34-5678"])
@example(["x٣1/2/2020"])
def test_the_anchored_scans_find_what_the_patterns_find(pieces: list[str]) -> None:
    """Each fast path (a separator first, then the pattern at the one start it fixes)
    against the pattern's own finditer, on text made of dates, SSNs, digit runs and the
    characters around them (including a non-ASCII digit, which ``\\d`` matches)."""
    text = "".join(pieces)
    for rx, anchor in ((pii.ISO_DATE, pii._ISO_ANCHOR), (pii.US_DATE, pii._US_ANCHOR),
                       (pii.SSN_DASHED, pii._SSN_ANCHOR)):
        assert list(pii._matches(rx, anchor, text)) == [m.group() for m in rx.finditer(text)]
    assert [m.group() for m in pii.LONG_RUN.finditer(text) if len(m.group()) in (9, 10)] == [
        m.group() for m in pii.DIGIT_RUN.finditer(text) if len(m.group()) in (9, 10)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["Ann", "Lee", "ann", "LEE", "O'Neil", "Mary-Jo", "Smith",
                                 "x1", " ", "\n", ",", "Ann Lee", "lee ann"]), max_size=25))
def test_the_name_scan_finds_what_every_word_pair_finds(pieces: list[str]) -> None:
    text = " ".join(pieces)
    names = {"ann lee", "lee ann", "o'neil smith", "mary-jo smith", "smith mary-jo"}
    needles = pii.PiiNeedles(full_names=names)
    assert pii._name_hits(text, names, needles.name_starts()) == pii._bigrams(text) & names

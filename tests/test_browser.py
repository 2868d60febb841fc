"""The demo site as a visitor gets it: real Chromium, served on 127.0.0.1.

Covers search, charts, downloads, privacy during a walk through the site, pages without
JavaScript, WCAG 2.1 AA (axe-core) at desktop and phone widths, keyboard access, internal
links, and screenshots for a reviewer in build/screenshots/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from browser_support import (
    SCREENSHOTS,
    WIDTHS,
    axe_violations,
    chart_marks,
    chromium,
    numbers_in,
    serve,
)
from demo_site import demo_root, demo_site
from playwright.sync_api import Browser, Page

from site_builder.cells import CSV_COLUMNS
from site_builder.disclosure import load_policy
from site_builder.gate.links import check_links
from site_builder.site.build import build_site, read_directory
from site_builder.specs import load_specs

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site() -> Path:
    return demo_site()


@pytest.fixture(scope="module")
def base(site: Path) -> Iterator[str]:
    with serve(site) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    p = context.new_page()
    yield p
    context.close()


@pytest.fixture(scope="module")
def pages(site: Path) -> dict[str, str]:
    """The pages the issue names, chosen from what the site publishes."""
    state = pl.read_csv(site / "downloads" / "state.csv", infer_schema=False)
    latest = state["year"].max()
    sizes = state.filter(
        (pl.col("level") == "district") & (pl.col("measure") == "enrollment")
        & (pl.col("grade") == "All") & (pl.col("student_group") == "All students")
        & (pl.col("year") == latest) & pl.col("n_students").is_not_null()
    ).with_columns(pl.col("n_students").cast(pl.Int64)).sort("n_students", "district_code")
    large = sizes["district_code"][-1]
    small = sizes["district_code"][0]
    district_csv = pl.read_csv(site / "downloads" / "districts" / f"{large}.csv",
                               infer_schema=False)
    school = district_csv.filter(pl.col("level") == "school")["school_code"].sort()[0]
    return {
        "home": "",
        "state": "state/",
        "large-district": f"districts/{large}/",
        "small-district": f"districts/{small}/",
        "school": f"schools/{large}-{school}/",
        "methodology": "methodology/",
        "downloads": "downloads/",
    }


# --- search -----------------------------------------------------------------------

def _search(page: Page, base: str, query: str) -> list[tuple[str, str]]:
    page.goto(base)
    page.fill("#rc-q", query)
    page.wait_for_selector("#rc-results a", timeout=5000)
    return page.eval_on_selector_all("#rc-results a",
                                     "as => as.map(a => [a.textContent, a.href])")


def test_search_finds_a_district_by_name_and_by_code(page: Page, base: str) -> None:
    for query in ("Kirksville", "001091"):
        hits = _search(page, base, query)
        assert any("Kirksville" in name for name, _ in hits), (query, hits)
        page.click("#rc-results a >> text=Kirksville R-III")
        page.wait_for_url(re.compile(r".*/districts/001091/$"))
        assert "KIRKSVILLE R-III" in page.inner_text("h1").upper()


@pytest.mark.parametrize("typo", ["Kirksvile", "kirkvsille", "krksville r-iii"])
def test_search_forgives_a_misspelt_name_and_says_so(page: Page, base: str, typo: str) -> None:
    """A letter missing, two swapped or one too many: a parent still finds the district,
    told the match is close, not exact. Codes and nonsense still find nothing."""
    hits = _search(page, base, typo)
    assert [n for n, _ in hits if n.upper() == "KIRKSVILLE R-III"], (typo, hits)
    assert page.inner_text("#rc-count").startswith("No exact match."), typo
    for nothing in ("zzqqxx", "001099"):
        page.fill("#rc-q", nothing)
        page.wait_for_function("document.getElementById('rc-count').textContent"
                               ".startsWith('No district or school matches')")
        assert page.locator("#rc-results a").count() == 0, nothing


def test_search_finds_a_school_and_lands_on_its_page(page: Page, base: str, site: Path) -> None:
    csv = pl.read_csv(site / "downloads" / "districts" / "001091.csv", infer_schema=False)
    school = csv.filter(pl.col("level") == "school").sort("school_code").row(0, named=True)
    hits = _search(page, base, school["school_name"])
    target = f"/schools/001091-{school['school_code']}/"
    assert any(href.endswith(target) for _, href in hits), hits
    page.click(f"#rc-results a[href$='{target.lstrip('/')}']")
    page.wait_for_url(re.compile(".*" + re.escape(target) + "$"))
    assert school["school_name"] in page.inner_text("h1")


@pytest.fixture(scope="module")
def closed_base(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo site built again (the real builder) with Adair Co. Elem. (001090/4020)
    closed: none of its cells in the latest year (by name, it would come first)."""
    aggregates = demo_root() / "aggregates"
    published = pl.read_parquet(aggregates / "published.parquet")
    closed = ((pl.col("district_code") == "001090") & (pl.col("school_code") == "4020")
              & (pl.col("year") == published["year"].max()))
    assert published.filter(closed).height
    districts, schools = read_directory(aggregates)
    out = tmp_path_factory.mktemp("closed") / "site"
    build_site(published.filter(~closed), districts, schools, load_specs(ROOT / "report_specs"),
               load_policy(ROOT / "report_specs" / "policy.yaml"), out)
    with serve(out) as url:
        yield url


def test_search_lists_a_closed_school_after_those_with_students_and_says_so(
        page: Page, closed_base: str) -> None:
    """Looking for an elementary school, a parent sees the ones with students now first;
    the closed one comes last, said to have no students this year, and still leads to its
    page (its earlier years)."""
    hits = _search(page, closed_base, "elem")
    names = [name for name, _ in hits]
    metas = page.eval_on_selector_all("#rc-results li .rc-meta",
                                      "ms => ms.map(m => m.textContent)")
    assert len(names) > 2 and names[-1] == "Adair Co. Elem.", names
    assert metas[-1].endswith("(no students in 2024-25)"), metas
    assert not any("no students" in m for m in metas[:-1]), metas
    page.click("#rc-results a >> text=Adair Co. Elem.")
    page.wait_for_url(re.compile(r".*/schools/001090-4020/$"))
    assert "its last year with students" in page.inner_text(".rc-facts")


# --- a district's schools, sorted -------------------------------------------------

def _column(page: Page, col: int) -> list[float | None]:
    """The schools' values in number column ``col`` as shown (None: withheld or not reported)."""
    texts = page.eval_on_selector_all(
        "#t-schools tbody:first-of-type tr", f"rs => rs.map(r => r.cells[{col + 1}].textContent)")
    return [float(re.sub(r"[,%≥≤]", "", s)) if re.match(r"^[≥≤]?[\d,.]+%?$", s) else None
            for s in texts]


def test_a_districts_schools_sort_by_any_column(page: Page, base: str,
                                                pages: dict[str, str]) -> None:
    """A column heading's button sorts the schools by it, highest first, then lowest first;
    a withheld or unreported value is always last; the whole district and the state stay
    below; the sort is announced and marked with aria-sort."""
    page.goto(base + pages["large-district"])
    names = page.eval_on_selector_all("#t-schools tbody:first-of-type th",
                                      "ths => ths.map(th => th.querySelector('a').textContent)")
    assert len(names) >= 3 and names == sorted(names, key=str.lower)
    corner = page.locator("#t-schools thead tr:first-child th").first
    assert corner.inner_text() == "School" and corner.get_attribute("aria-sort") == "ascending"
    heads = page.eval_on_selector_all("#t-schools thead tr:last-child th",
                                      "ths => ths.map(th => th.textContent)")
    for label in ("Students enrolled", "ELA", "Four-year graduation rate"):
        col = heads.index(label)
        before = _column(page, col)
        button = page.locator("#t-schools thead tr:last-child th button", has_text=label)
        for direction in ("descending", "ascending"):
            button.click()
            shown = _column(page, col)
            known = [v for v in shown if v is not None]
            assert shown == known + [None] * (len(shown) - len(known)), (label, shown)
            assert known == sorted(known, reverse=direction == "descending"), (label, shown)
            assert sorted(known) == sorted(v for v in before if v is not None)
            th = page.locator("#t-schools thead tr:last-child th").nth(col)
            assert th.get_attribute("aria-sort") == direction
            assert page.locator("#t-schools th[aria-sort]").count() == 1
            assert page.inner_text(".rc-sort-status").startswith(f"Sorted by {label}, ")
    others = page.eval_on_selector_all("#t-schools tbody:last-of-type th",
                                       "ths => ths.map(th => th.textContent)")
    assert others[-2:] == ["Whole district", "Missouri (whole state)"]



# --- tables on a phone ------------------------------------------------------------

BORDER = (0xC9, 0xD1, 0xD9)
"""The colour of a table's lines (site.css, ``--rc-border``)."""


def _is_line(pixel: tuple[int, ...]) -> bool:
    return all(abs(a - b) <= 16 for a, b in zip(pixel[:3], BORDER, strict=True))


def test_a_table_scrolled_sideways_on_a_phone_keeps_its_row_headers_lines_and_caption(
        browser: Browser, base: str, pages: dict[str, str]) -> None:
    """At 390 px a wide table scrolls sideways; its row headers stay in view (sticky). What
    a visitor sees, checked on the screenshot's pixels (device scale 2): every row header
    covers what scrolls under it and has its line above, left and right, whole (Chromium
    painted a stuck cell up to a device pixel off its row, and the next one painted over its
    bottom line); the caption stays in view. A row header is as wide as "Grade 3" or more."""
    from io import BytesIO

    from PIL import Image

    context = browser.new_context(viewport={"width": 390, "height": 900},
                                  device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(base + pages["large-district"])
        checked = 0
        for table_id in ("t-schools", "t-assessment_levels_by_grade"):
            wrap = page.locator(f"#{table_id}").locator("xpath=..")
            assert wrap.evaluate("w => w.scrollWidth > w.clientWidth + 60"), table_id
            wrap.evaluate("w => { w.scrollIntoView(); w.scrollLeft = 60; }")
            page.wait_for_timeout(200)
            box = wrap.bounding_box()
            assert box is not None
            cap = page.locator(f"#{table_id} caption .rc-stick").bounding_box()
            assert cap is not None and cap["x"] >= box["x"] - 0.5, (table_id, cap, box)
            heads = page.eval_on_selector_all(
                f"#{table_id} tbody th[scope=row]", """ths => ths.map(th => {
                    const r = th.getBoundingClientRect();
                    const at = document.elementFromPoint(r.x + r.width - 3, r.y + r.height / 2);
                    return {text: th.innerText.split('\\n')[0], x: r.x, y: r.y,
                            w: r.width, h: r.height, covers: th.contains(at)}; })""")
            shot = Image.open(BytesIO(page.screenshot())).convert("RGB")
            k = 2
            for h in heads:
                if h["y"] < 0 or h["y"] + h["h"] > 900:
                    continue
                assert h["covers"], (table_id, h)
                assert h["w"] >= 80, (table_id, h)  # "Grade 3" on one line
                # A line is whole when a row (or column) of device pixels within one CSS
                # pixel of the cell's edge is the line's colour from end to end.
                top, left = round(h["y"] * k), round(h["x"] * k)
                right = round((h["x"] + h["w"]) * k) - 1
                xs = range(left + 4, right - 4)
                ys = range(top + 4, round((h["y"] + h["h"]) * k) - 4)
                assert any(all(_is_line(shot.getpixel((x, y))) for x in xs)
                           for y in range(top - 1, top + 2)), (table_id, h, "line above")
                for edge in (left, right):
                    assert any(all(_is_line(shot.getpixel((x, y))) for y in ys)
                               for x in range(edge - 2, edge + 3)), (table_id, h, edge)
                checked += 1
        assert checked >= 8, checked
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "phone-table-scrolled.png"))
    finally:
        context.close()


# --- print ------------------------------------------------------------------------

def test_a_district_page_prints_on_letter_paper(browser: Browser, base: str,
                                                pages: dict[str, str]) -> None:
    """Print media at letter width (8.5 in at 96 px/in): the site's header, navigation and
    search are not printed, a demo's notice that its data are synthetic is, nothing is wider
    than the page, and Chromium's own print to a Letter PDF gives pages."""
    context = browser.new_context(viewport={"width": 816, "height": 1056})
    page = context.new_page()
    try:
        page.emulate_media(media="print")
        page.goto(base + pages["large-district"])
        for chrome in (".md-header", ".md-sidebar--primary", "#rc-q"):
            loc = page.locator(chrome)
            assert loc.count() == 0 or not loc.first.is_visible(), chrome
        assert page.locator("h1").is_visible()
        assert page.locator("table.rc-table").first.is_visible()
        # A printed demo page still says its numbers are made up.
        assert "made-up student records" in page.locator(".rc-notice").inner_text()
        assert page.locator(".rc-notice").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 816
        # A table's lines of text are as tight as its 8 pt print (on screens, 22 px).
        lines = page.eval_on_selector(
            "#t-schools tbody th",
            "th => parseFloat(getComputedStyle(th).lineHeight)"
            " / parseFloat(getComputedStyle(th).fontSize)")
        assert lines <= 1.5, lines
        pdf = page.pdf(format="Letter")
        assert pdf.startswith(b"%PDF")
        assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "print-large-district.png"))
    finally:
        context.close()


# --- charts -----------------------------------------------------------------------

def _drawn(page: Page) -> None:
    """Wait until every chart of the page is drawn and laid out for good (charts.js marks
    it ``data-drawn``: a chart too wide for the page is drawn again). Polled from Python:
    the site's CSP rightly forbids the eval that wait_for_function uses."""
    n_figures = page.locator("figure.rc-chart").count()
    for _ in range(150):
        drawn = page.evaluate("() => document.querySelectorAll("
                              "'figure.rc-chart [data-drawn] svg').length")
        if drawn >= n_figures:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{drawn} of {n_figures} charts drawn after 15 s")


def test_every_chart_on_a_district_page_renders_and_matches_its_table(
        page: Page, base: str, pages: dict[str, str]) -> None:
    page.goto(base + pages["large-district"])
    assert page.locator("figure.rc-chart").count() > 0
    _drawn(page)
    marks = chart_marks(page)
    assert all(m > 0 for m in marks), marks
    for spec_el in page.query_selector_all("script.rc-chart-spec"):
        table_id = spec_el.get_attribute("data-table")
        table_text = page.inner_text(f"#{table_id}")
        shown = numbers_in(table_text)
        # the rows charts.js drew, read from the table by the page's own script
        rows = spec_el.evaluate("el => window.rcChartRows(el)")
        published = page.locator(f"#{table_id} td:not(.w)").all_inner_texts()
        assert 2 <= len(rows) <= len(published), (table_id, rows)
        for row in rows:
            for field in ("rate", "n_students", "n_meeting"):
                value = row.get(field)
                if value is None:
                    continue
                # JSON from the page: 57.0 arrives as 57, so format by the field
                text = f"{float(value):.1f}" if field == "rate" else str(value)
                assert text in shown, (table_id, field, value, sorted(shown)[:20])


def test_a_grade_chart_labels_its_grades_as_its_table_does(
        page: Page, base: str, pages: dict[str, str]) -> None:
    """The students-by-grade chart's axis reads Pre-K, K, 1 ... 12 under the title "Grade",
    one label for each of its table's rows (not the codes: "09")."""
    for name in ("state", "large-district"):
        page.goto(base + pages[name])
        _drawn(page)
        figure = page.locator("figure.rc-chart:has(script[data-table=t-enrollment_by_grade])")
        texts = figure.locator("svg text").evaluate_all("ts => ts.map(t => t.textContent)")
        rows = page.locator("#t-enrollment_by_grade tbody th").all_inner_texts()
        assert len(rows) >= 2, name
        short = {"Pre-K": "Pre-K", "Kindergarten": "K"}
        wanted = [short.get(r, r.removeprefix("Grade ")) for r in rows]
        assert all(w in texts for w in wanted), (name, wanted, texts)
        assert "Grade" in texts and not [t for t in texts if re.fullmatch(r"0\d", t)], texts


def test_chart_axes_read_upright_and_their_labels_do_not_touch(
        browser: Browser, base: str, pages: dict[str, str]) -> None:
    """School years stand upright under a title that says how to read them (Vega-Lite turns
    them on their side), and the labels an axis shows are 4 px apart or more, at desktop and
    phone widths (the full state's "60,00080,000" touched; the tiny state's school page at
    390 px had 3 px between "600" and "800")."""
    for width in (1280, 390):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        try:
            for name in ("state", "large-district", "school"):
                page.goto(base + pages[name])
                _drawn(page)
                figure = page.locator(
                    "figure.rc-chart:has(script[data-table=t-enrollment_total])")
                texts = figure.locator("svg text").evaluate_all(
                    "ts => ts.map(t => [t.textContent, t.getAttribute('transform') || ''])")
                years = [(t, tr) for t, tr in texts if re.fullmatch(r"20\d\d", t)]
                assert len(years) >= 2 and not [y for y in years if "rotate" in y[1]], years
                assert "School year (2025 = 2024-25)" in [t for t, _ in texts], texts
                # Vega hides a label it drops with opacity 0.
                boxes = page.locator("figure.rc-chart svg text").evaluate_all("""ts => ts
                    .filter(t => /^[\\d,.%]+$/.test(t.textContent)
                                 && t.getAttribute('opacity') !== '0')
                    .map(t => { const r = t.getBoundingClientRect();
                                return [t.textContent, r.left, r.right, r.top]; })""")
                close = [(a[0], b[0], round(b[1] - a[2], 1))
                         for a, b in zip(boxes, boxes[1:], strict=False)
                         if abs(a[3] - b[3]) < 1 and a[1] < b[1] and b[1] - a[2] < 4]
                assert close == [], (width, name, close)
        finally:
            context.close()


def test_charts_at_phone_width_are_not_shrunk_too_small_to_read(
        browser: Browser, base: str, pages: dict[str, str]) -> None:
    """A chart wider than the page is scaled down to fit, its words with it. At 390 px,
    panels side by side (one per subject) go one under another instead, and bars beside
    long group names get narrower, so that no chart is drawn at less than 90% of its size
    (side by side: 43%, 5-pixel words; the bars as wide as on a desktop: 75%)."""
    context = browser.new_context(viewport={"width": 390, "height": 900})
    page = context.new_page()
    try:
        for name in ("school", "large-district", "state"):
            page.goto(base + pages[name])
            _drawn(page)
            scales = page.evaluate("""() => Array.from(
                document.querySelectorAll('figure.rc-chart svg'),
                s => [s.closest('figure').querySelector('figcaption').textContent.trim(),
                      s.getBoundingClientRect().width / Number(s.getAttribute('width'))])""")
            assert scales, name
            small = [(c[:60], round(k, 2)) for c, k in scales if k < 0.9]
            assert small == [], (name, small)
    finally:
        context.close()


# --- downloads --------------------------------------------------------------------

def test_district_csv_downloads_and_parses_with_the_documented_schema(
        page: Page, base: str, pages: dict[str, str], tmp_path: Path) -> None:
    page.goto(base + pages["large-district"])
    code = pages["large-district"].split("/")[1]
    with page.expect_download() as info:
        page.click(f"a[href$='downloads/districts/{code}.csv']")
    path = tmp_path / "d.csv"
    info.value.save_as(path)
    df = pl.read_csv(path, infer_schema=False)
    assert tuple(df.columns) == CSV_COLUMNS
    assert df.height > 0
    assert set(df["district_code"].unique()) == {code}
    assert set(df["level"].unique()) == {"district", "school"}
    withheld = df.filter(pl.col("reason").is_in(["primary", "complementary"]))
    assert withheld.height > 0
    assert withheld["n_students"].null_count() == withheld.height  # empty, never 0
    coded = df.filter(pl.col("reason").is_in(["top_coded", "bottom_coded"]))
    assert coded["n_meeting"].null_count() == coded.height  # a coded rate hides its numerator


# --- privacy ----------------------------------------------------------------------

def test_a_walk_through_the_site_stays_on_127_0_0_1_and_sets_nothing(
        browser: Browser, base: str, pages: dict[str, str]) -> None:
    context = browser.new_context()
    page = context.new_page()
    requests: list[str] = []
    set_cookies: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("response", lambda r: set_cookies.extend(
        v for k, v in r.all_headers().items() if k.lower() == "set-cookie"))
    for name in ("home", "large-district", "school", "methodology", "downloads"):
        page.goto(base + pages[name])
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.cookie") == "", name
    page.goto(base)
    page.fill("#rc-q", "Kirk")
    page.wait_for_selector("#rc-results a")
    storage = page.evaluate("JSON.stringify(Object.assign({}, localStorage, sessionStorage))")
    context_cookies = context.cookies()
    context.close()
    assert requests and all(u.startswith(base) for u in requests), [
        u for u in requests if not u.startswith(base)]
    assert set_cookies == []
    assert context_cookies == []
    stored = json.loads(storage)
    identifying = {k: v for k, v in stored.items()
                   if re.search(r"[0-9a-f]{8}-[0-9a-f]{4}|[A-Za-z0-9_-]{20,}", f"{k}{v}")}
    assert identifying == {}, stored


# --- without JavaScript ----------------------------------------------------------

def test_tables_and_downloads_are_there_without_javascript(
        browser: Browser, base: str, pages: dict[str, str]) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(base + pages["large-district"])
    assert page.locator("table").count() >= 5
    assert page.locator("a[href$='.csv']").count() >= 1
    page.goto(base + pages["downloads"])
    assert page.locator("a[href$='state.csv']").count() == 1
    page.goto(base)
    assert page.locator("a[href*='districts/']").count() >= 4  # the county lists
    context.close()


# --- accessibility ------------------------------------------------------------------

@pytest.mark.parametrize("width_name", sorted(WIDTHS))
def test_axe_finds_no_wcag_21_aa_violations_and_screenshots_are_written(
        browser: Browser, base: str, pages: dict[str, str], width_name: str) -> None:
    width = WIDTHS[width_name]
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems = {}
    for name, rel in pages.items():
        page.goto(base + rel)
        page.wait_for_load_state("networkidle")
        violations = axe_violations(page)
        if violations:
            problems[name] = violations
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width_name}.png"), full_page=True)
    context.close()
    assert problems == {}, json.dumps(problems, indent=1)


def _tab_until(page: Page, predicate: str, limit: int = 200) -> dict[str, str]:
    for _ in range(limit):
        page.keyboard.press("Tab")
        found = page.evaluate(f"""() => {{
            const el = document.activeElement;
            if (!el || !({predicate})) return null;
            const s = getComputedStyle(el);
            return {{tag: el.tagName, outline: s.outlineStyle + ' ' + s.outlineWidth,
                     shadow: s.boxShadow}};
        }}""")
        if found:
            return found
    raise AssertionError(f"keyboard focus never reached: {predicate}")


def _visible_focus(style: dict[str, str]) -> bool:
    return not style["outline"].startswith("none") or style["shadow"] not in ("", "none")


def test_keyboard_reaches_search_tables_and_downloads_with_visible_focus(
        page: Page, base: str, pages: dict[str, str]) -> None:
    page.goto(base)
    assert _visible_focus(_tab_until(page, "el.id === 'rc-q'"))
    page.goto(base + pages["large-district"])
    assert _visible_focus(_tab_until(page, "el.querySelector && el.querySelector('table')"))
    assert _visible_focus(_tab_until(page, "el.tagName === 'A' && /\\.csv$/.test(el.href)"))


# --- links --------------------------------------------------------------------------

def test_no_broken_internal_link_or_anchor(site: Path) -> None:
    checked, broken = check_links(site)
    assert checked > 1000 or checked > 100 and "tiny" in str(site)
    assert broken == [], "\n".join(b.render() for b in broken[:30])

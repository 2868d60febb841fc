"""The browser and accessibility checks can fail: each test plants one defect and sees it caught.

The tiny demo state's published aggregates (the ones test_browser's demo site is published
from) are built into sites with the real builder (``build_site``): once per module with the
package's templates (the control), and once per defect with one template changed through
``template_dir`` (the way a real mistake would arrive). Each test runs the check the real
suite runs (tests/test_browser.py, the gate) on both, and asserts that the check passes on the
control and reports the planted defect:

1. an external ``<script src>``: the privacy walk's request recorder sees the page try to
   leave 127.0.0.1 (the CSP stops the load, and Chromium reports it); the gate's privacy
   check refuses the file;
2. a chart whose text alternative (aria-label and figcaption) is gone: test_site_build's
   chart check, and axe-core's ``role-img-alt`` on the chart containers, before Vega draws
   and after (charts.js puts the authored role and label back once vega-embed has drawn);
3. a link to a page that does not exist and to an anchor that does not exist: ``check_links``;
4. body text below WCAG AA contrast (#aaa on #fff, 2.3:1): axe-core's ``color-contrast``.

There is no base page template among the Jinja templates (the page shell is mkdocs-material's,
with site_builder/site/overrides), so the defects go into district.html and _macros.html and
the checks look at one district page that draws charts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import polars as pl
import pytest
from browser_support import axe_violations, chromium, serve
from demo_site import demo_root, demo_site
from lxml import html as lxml_html
from playwright.sync_api import Browser, Page

from site_builder.disclosure import load_policy
from site_builder.gate import run_gate
from site_builder.gate.links import check_links
from site_builder.site.build import build_site, read_directory
from site_builder.specs import load_specs

pytestmark = [pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "report_specs"
TEMPLATES = ROOT / "site_builder" / "site" / "templates"

EXTERNAL = "https://cdn.example.com/x.js"


# --- building planted sites ---------------------------------------------------------------

@pytest.fixture(scope="module")
def aggregates() -> Path:
    """The tiny demo state's published aggregates (shared with test_browser's demo site).

    Always the tiny state: four planted builds of the full state would not fit the budget.
    """
    with mock.patch.dict(os.environ, {"REPORTCARD_TEST_PROFILE": "tiny"}):
        demo_site()
        return demo_root() / "aggregates"


@pytest.fixture(scope="module")
def inputs(aggregates: Path) -> dict[str, object]:
    districts, schools = read_directory(aggregates)
    return {"published": pl.read_parquet(aggregates / "published.parquet"),
            "districts": districts, "schools": schools, "specs": load_specs(SPECS),
            "policy": load_policy(SPECS / "policy.yaml")}


def _build(inputs: dict[str, object], out: Path,
           plant: tuple[str, str, str] | None = None) -> Path:
    """Build the site into ``out``; ``plant`` = (template, old, new) edits a copy of it."""
    override = None
    if plant is not None:
        template, old, new = plant
        override = out.parent / f"{out.name}-templates"
        override.mkdir(parents=True)
        text = (TEMPLATES / template).read_text("utf-8")
        assert text.count(old) == 1, f"{template} no longer contains {old!r} exactly once"
        (override / template).write_text(text.replace(old, new), "utf-8")
    build_site(inputs["published"], inputs["districts"], inputs["schools"],  # type: ignore[arg-type]
               inputs["specs"], inputs["policy"], out, template_dir=override)  # type: ignore[arg-type]
    return out


@pytest.fixture(scope="module")
def control(inputs: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(inputs, tmp_path_factory.mktemp("control") / "site")


@pytest.fixture(scope="module")
def district(control: Path) -> str:
    """A district page (relative URL) that draws charts."""
    for page in sorted(control.glob("districts/*/index.html")):
        if 'class="rc-chart"' in page.read_text("utf-8"):
            return page.parent.relative_to(control).as_posix() + "/"
    raise AssertionError("no district page of the tiny state has a chart")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def _open(browser: Browser, url: str, block: str | None = None
          ) -> tuple[Page, dict[str, list[str]]]:
    """Open ``url`` recording what the privacy walk records, plus what Chromium refuses.

    ``block``: a URL glob of the site's own files to fail (to look at a page before a script
    has run).
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    seen: dict[str, list[str]] = {"requests": [], "failed": [], "console": []}
    # Nothing may leave the machine, even if a planted request got past the CSP.
    page.route(lambda u: not u.startswith("http://127.0.0.1:"), lambda r: r.abort())
    if block is not None:
        page.route(block, lambda r: r.abort())
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("requestfailed", lambda r: seen["failed"].append(f"{r.url} {r.failure}"))
    page.on("console", lambda m: seen["console"].append(f"{m.type}: {m.text}"))
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return page, seen


def _axe(browser: Browser, site: Path, rel: str, block: str | None = None) -> list[str]:
    with serve(site) as base:
        page, _ = _open(browser, base + rel, block)
        try:
            return axe_violations(page)
        finally:
            page.context.close()


# --- 1. an external script ----------------------------------------------------------------

def _walk(browser: Browser, site: Path, rel: str) -> tuple[str, dict[str, list[str]]]:
    with serve(site) as base:
        page, seen = _open(browser, base + rel)
        page.context.close()
    return base, seen


def _gate_privacy(site: Path) -> list[tuple[str, str, str]]:
    report = run_gate(site, audit=False, policy=SPECS / "policy.yaml")
    return [(f.check, f.rule, f.evidence) for f in report.findings]


def test_an_external_script_is_caught_by_chromium_and_by_the_gate(
        browser: Browser, inputs: dict[str, object], control: Path, district: str,
        tmp_path: Path) -> None:
    planted = _build(inputs, tmp_path / "site",
                     ("district.html", "</h1>", f'</h1><script src="{EXTERNAL}"></script>'))

    # The privacy walk's request recorder sees the page try to leave 127.0.0.1. The page's
    # CSP (script-src 'self') is what stops the load: Chromium fails the request as "csp"
    # and reports the violation on the console.
    base, seen = _walk(browser, planted, district)
    assert [u for u in seen["requests"] if not u.startswith(base)] == [EXTERNAL], seen
    assert f"{EXTERNAL} csp" in seen["failed"], seen["failed"]
    assert any(EXTERNAL in m and "Content Security Policy" in m for m in seen["console"]), (
        seen["console"])

    # The gate's privacy check reads the files and refuses the page.
    found = _gate_privacy(planted)
    assert ("external", "<script src> points to another host", EXTERNAL) in found, found

    # The control: every request stays on 127.0.0.1, nothing is refused, the gate is clean.
    base, seen = _walk(browser, control, district)
    assert seen["requests"] and all(u.startswith(base) for u in seen["requests"]), seen
    assert seen["failed"] == [], seen["failed"]
    assert not [m for m in seen["console"] if "Content Security Policy" in m], seen["console"]
    assert _gate_privacy(control) == []


# --- 2. a chart without a text alternative --------------------------------------------------

@pytest.fixture(scope="module")
def chartless(inputs: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site with the chart macro's aria-label and figcaption removed."""
    text = (TEMPLATES / "_macros.html").read_text("utf-8")
    start = text.index('<figure class="rc-chart">')
    old = text[start:text.index("</figure>", start)]
    assert 'aria-label="{{ c.alt }}"' in old and "<figcaption>" in old
    new = old.replace(' aria-label="{{ c.alt }}"', "")
    new = new[:new.index("<figcaption>")]
    return _build(inputs, tmp_path_factory.mktemp("chartless") / "site",
                  ("_macros.html", old, new))


def _charts_without_alternative(page: Path) -> list[str]:
    """test_site_build's check: every chart has a [role=img][aria-label] and a figcaption."""
    doc = lxml_html.document_fromstring(page.read_bytes())
    missing = []
    for spec in doc.xpath("//script[contains(@class, 'rc-chart-spec')]"):
        fig = next(a for a in spec.iterancestors() if a.tag == "figure")
        if not fig.xpath(".//*[@role='img'][@aria-label]") or not fig.xpath(".//figcaption"):
            missing.append(spec.get("id"))
    return missing


def test_a_chart_without_a_text_alternative_is_caught_by_axe(
        browser: Browser, chartless: Path, control: Path, district: str) -> None:
    assert _charts_without_alternative(chartless / district / "index.html")
    assert _charts_without_alternative(control / district / "index.html") == []

    # axe sees the chart containers as the page serves them, before Vega draws into them
    # (the chart library is held back; charts.js has already made the figures visible).
    found = _axe(browser, chartless, district, block="**/vega-bundle.js")
    assert any(v.startswith("role-img-alt ") and "'#c-" in v for v in found), found
    assert _axe(browser, control, district, block="**/vega-bundle.js") == []


def _drawn(browser: Browser, site: Path, rel: str) -> tuple[list[list[str | None]], list[str]]:
    """(role, aria-label) of every chart container once Vega has drawn it, and axe's
    findings on that drawn page."""
    with serve(site) as base:
        page, _ = _open(browser, base + rel)
        try:
            for _ in range(100):  # the CSP forbids eval, so no wait_for_function
                if page.evaluate("Array.from(document.querySelectorAll('[id^=\"c-\"]'))"
                                 ".every(c => c.querySelector('svg'))"):
                    break
                page.wait_for_timeout(100)
            labels = page.evaluate(
                "Array.from(document.querySelectorAll('[id^=\"c-\"]'))"
                ".filter(c => c.querySelector('svg'))"
                ".map(c => [c.getAttribute('role'), c.getAttribute('aria-label')])")
            return labels, axe_violations(page)
        finally:
            page.context.close()


def test_axe_after_the_charts_are_drawn_catches_a_chart_without_a_text_alternative(
        browser: Browser, chartless: Path, control: Path, district: str) -> None:
    # Drawn charts keep the page's own role and words (not vega-embed's generic label) ...
    labels, found = _drawn(browser, control, district)
    assert labels and found == []
    assert all(role == "img" and label and "Vega visualization" not in label
               for role, label in labels), labels
    # ... so axe on the drawn page still sees a chart that has none.
    labels, found = _drawn(browser, chartless, district)
    assert labels and all(label is None for _, label in labels), labels
    assert any(v.startswith("role-img-alt ") for v in found), found


# --- 3. a broken link and a broken anchor ---------------------------------------------------

def test_a_broken_link_and_anchor_are_caught_by_check_links(
        inputs: dict[str, object], control: Path, tmp_path: Path) -> None:
    planted = _build(inputs, tmp_path / "site", (
        "district.html", "</h1>",
        '</h1><p><a href="../../districts/999999/">A district that does not exist</a> '
        '<a href="#no-such-section">A section that does not exist</a></p>'))
    n_districts = len(list(planted.glob("districts/*/index.html")))
    checked, broken = check_links(planted)
    assert checked > 100
    problems = {(b.target, b.problem) for b in broken}
    assert problems == {("../../districts/999999/", "no such file"),
                        ("#no-such-section", "no element with id 'no-such-section'")}, problems
    assert len(broken) == 2 * n_districts, [b.render() for b in broken]

    checked, broken = check_links(control)
    assert checked > 100
    assert broken == [], [b.render() for b in broken]


# --- 4. text below WCAG AA contrast ---------------------------------------------------------

def test_low_contrast_text_is_caught_by_axe(
        browser: Browser, inputs: dict[str, object], control: Path, district: str,
        tmp_path: Path) -> None:
    # site.css is copied from the package's assets, which template_dir cannot replace; the
    # CSP allows inline styles, so the rule arrives as a <style> block in the page template.
    planted = _build(inputs, tmp_path / "site", (
        "district.html", "</h1>",
        "</h1><style>.md-typeset p.rc-lede { color: #aaa !important; "
        "background-color: #fff !important; }</style>"))

    found = _axe(browser, planted, district)
    assert any(v.startswith("color-contrast ") and ".rc-lede" in v for v in found), found
    assert _axe(browser, control, district) == []

"""``reportcard build``: published cells + public directory -> the static site (mkdocs).

Reads nothing but what it is given: the published (protected) cells, the public directory
of districts and schools, the report specs and the disclosure policy. Steps:

1. index the published cells each page shows (latest year, plus five-year trends);
2. write the CSV downloads (every published cell, by district and for the state);
3. render every page with Jinja (StrictUndefined) from its typed context into a docs
   directory beside ``out`` (``.<out>.src``), as Markdown files with pre-rendered HTML;
4. run a real ``mkdocs build`` (mkdocs-material) from that directory into ``out``.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import vl_convert
from rich.progress import Progress

from site_builder.cells import ALL_GRADES, ALL_STUDENTS, CSV_COLUMNS
from site_builder.disclosure.policy import Policy
from site_builder.site import charts, mkdocs_site
from site_builder.site.contexts import (
    CodingBandText,
    County,
    DistrictPage,
    DownloadFile,
    DownloadsPage,
    Fact,
    GlossaryPage,
    HomePage,
    Link,
    MeasureDefinition,
    MethodologyPage,
    PrivacyPage,
    SchoolPage,
    StatePage,
)
from site_builder.site.csvs import COLUMN_DESCRIPTIONS, write_downloads
from site_builder.site.data import STATE, CellIndex, csv_frame, index_cells
from site_builder.site.pages import (
    STATE_NAME,
    STATE_RUN,
    PageKit,
    compare_schools,
    county_label,
    district_facts,
    district_places,
    no_students_notice,
    school_facts,
    school_places,
    state_facts,
    state_places,
)
from site_builder.site.render import environment, render
from site_builder.site.sections import SiteSpecs, adapt
from site_builder.site.tables import (
    NO_CELL,
    Place,
    RowGroup,
    Table,
    TableRow,
    _Notes,
    number_word,
    school_year,
)
from site_builder.store import SYNTHETIC_MARKER, synthetic_identity

SYNTHETIC_NOTICE = ("Demonstration: these report cards are computed from made-up student "
                    "records shaped like Missouri's. They are not the real results of any "
                    "school or district.")

ASSETS = Path(__file__).parent / "assets"


@dataclass
class BuildResult:
    out: Path
    pages: int = 0
    files: int = 0
    total_bytes: int = 0
    largest_page: tuple[str, int] = ("", 0)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        steps = ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items())
        return (f"Built {self.pages:,} pages ({self.files:,} files, "
                f"{self.total_bytes / 1e6:.1f} MB) into {self.out} in {self.seconds:.1f}s "
                f"({steps}); largest page {self.largest_page[0]} "
                f"({self.largest_page[1] / 1e3:.0f} KB).")


def _front_matter(title: str) -> str:
    return (f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\nprerendered: true\n"
            "hide:\n  - toc\n---\n")


def _write_page(docs: Path, rel_md: str, title: str, html: str) -> None:
    path = docs / rel_md
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_front_matter(title) + html, "utf-8")


def _dir_rows(df: pl.DataFrame) -> list[dict[str, str]]:
    return [{k: ("" if v is None else str(v)) for k, v in r.items()} for r in df.iter_rows(
        named=True)]


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{max(n / 1e3, 0.1):.1f} KB"


def build_site(published: pl.DataFrame, districts: pl.DataFrame, schools: pl.DataFrame,
               specs: object, policy: Policy, out: Path, *, progress: bool = False,
               base_config: Path | None = None, template_dir: Path | None = None,
               keep_sources: bool = False, notice: str | None = None) -> BuildResult:
    """Build the public site into ``out`` from published cells only.

    ``notice``: a line shown atop every page (:data:`SYNTHETIC_NOTICE` for a demo built from
    a synthetic extract).

    ``specs`` is a :class:`site_builder.specs.ReportSpecs` (or an already adapted
    :class:`SiteSpecs`). ``template_dir`` puts extra templates in front of the package's own
    (used by tests). The generated docs directory is removed unless ``keep_sources``.
    """
    started = time.perf_counter()
    result = BuildResult(out=Path(out))
    # Absolute: mkdocs reads the docs and site directories of the generated mkdocs.yml
    # relative to that file, so a relative --out (the default, build/staging) was doubled
    # ("build/.staging.src/build/.staging.src/docs isn't an existing directory").
    out = Path(out).resolve()
    site_specs = specs if isinstance(specs, SiteSpecs) else adapt(specs)  # type: ignore[arg-type]
    env = environment(template_dir)
    # Fail on a broken template before any work is done.
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)

    t = time.perf_counter()
    trend = {m.id for tp in site_specs.topics for m in tp.headline}
    rates = {m.id for m in site_specs.measures.values() if m.kind == "rate"}
    index = index_cells(published, trend, rates)
    kit = PageKit(site_specs, index, policy)
    result.timings["index"] = time.perf_counter() - t

    work = out.parent / f".{out.name}.src"
    docs = work / "docs"
    if work.exists():
        shutil.rmtree(work)
    out_existed = out.exists()
    try:
        docs.mkdir(parents=True)
        mkdocs_site.copy_assets(ASSETS, docs / "assets")
        bundle = vl_convert.javascript_bundle()  # type: ignore[call-arg]
        (docs / "assets" / "vega-bundle.js").write_text(bundle, "utf-8")

        dirs = sorted(_dir_rows(districts), key=lambda r: r["district_code"])
        schs = sorted(_dir_rows(schools), key=lambda r: (r["district_code"], r["school_code"]))
        d_by_code = {d["district_code"]: d for d in dirs}
        schools_of: dict[str, list[dict[str, str]]] = {}
        for s in schs:
            schools_of.setdefault(s["district_code"], []).append(s)

        t = time.perf_counter()
        frame = csv_frame(published, districts, schools)
        # Every district with a page or a school page gets a file: the CSVs must hold every
        # cell any page shows.
        codes = sorted({d["district_code"] for d in dirs} | {s["district_code"] for s in schs})
        written = write_downloads(frame, docs, codes, site_specs,
                                  policy)
        result.timings["csv"] = time.perf_counter() - t

        t = time.perf_counter()
        n_pages = 0
        with Progress(disable=not progress, transient=True) as bar:
            task = bar.add_task("Rendering pages", total=len(dirs) + len(schs) + 7)
            root2 = "../../"
            # State
            sp = state_places()
            state = StatePage(title=f"{STATE_NAME} (whole state)", root="../",
                             facts=state_facts(
                                 kit,
                                 sum(kit.index.has_latest(("district", d["district_code"], ""))
                                     for d in dirs),
                                 sum(kit.index.has_latest(("school", s["district_code"],
                                                           s["school_code"])) for s in schs)),
                             topics=kit.topics(sp, "../"), symbol=policy.display.symbol,
                             download=Link("state.csv", "../downloads/state.csv"))
            _write_page(docs, "state.md", state.title, render(env, "state.html", state))
            n_pages += 1
            n_compared: dict[str, int] = {}  # per district: its schools in its table
            for d in dirs:
                code = d["district_code"]
                places = district_places(code, d["district_name"])
                mine = sorted(schools_of.get(code, []),
                              key=lambda s: (s["school_name"], s["school_code"]))
                links = tuple(Link(s["school_name"],
                                   f"{root2}schools/{code}-{s['school_code']}/") for s in mine)
                # Compared: the schools with students in the latest year; the others named.
                now = [(s, x) for s, x in zip(mine, links, strict=True)
                       if kit.index.has_latest(("school", code, s["school_code"]))]
                shown = {x for _s, x in now}
                gone = tuple(x for x in links if x not in shown)
                n_compared[code] = len(now)
                dpage = DistrictPage(
                    title=d["district_name"], root=root2, code=code,
                    facts=district_facts(kit, d, len(now), len(gone)),
                    topics=kit.topics(places, root2),
                    schools=tuple(x for _s, x in now), compare=compare_schools(
                        kit, places, [s for s, _x in now], tuple(x for _s, x in now)),
                    compare_year=school_year(kit.index.latest), symbol=policy.display.symbol,
                    download=Link(f"{code}.csv", f"{root2}downloads/districts/{code}.csv"),
                    county=county_label(d["county_name"]),
                    no_students=gone,
                    notice=no_students_notice(kit, places[0].entity, d["district_name"],
                                              "district"))
                _write_page(docs, f"districts/{code}.md", dpage.title,
                            render(env, "district.html", dpage))
                n_pages += 1
                bar.advance(task)
            for s in schs:
                dcode, scode = s["district_code"], s["school_code"]
                d = d_by_code.get(dcode, {"district_name": dcode, "county_name": ""})
                places = school_places(dcode, scode, s["school_name"], d["district_name"])
                dhref = f"{root2}districts/{dcode}/"
                spage = SchoolPage(
                    title=s["school_name"], root=root2, code=f"{dcode}-{scode}",
                    facts=school_facts(kit, s, d, dhref),
                    topics=kit.topics(places, root2, (places[0], places[2])),
                    district=Link(d["district_name"], dhref),
                    # The schools its district's table compares, this one among them (none
                    # if it has no students in the latest year: its district names it apart).
                    district_schools=n_compared.get(dcode, 0) if kit.index.has_latest(
                        ("school", dcode, scode)) else 0, symbol=policy.display.symbol,
                    download=Link(f"{dcode}.csv", f"{root2}downloads/districts/{dcode}.csv"),
                    notice=no_students_notice(kit, places[0].entity, s["school_name"],
                                              "school"))
                _write_page(docs, f"schools/{dcode}-{scode}.md", spage.title,
                            render(env, "school.html", spage))
                n_pages += 1
                bar.advance(task)
            n_pages += _general_pages(env, docs, kit, dirs, schs, written, policy)
        (docs / "assets" / "charts").mkdir()
        for name, template in sorted(kit.templates.items()):
            (docs / "assets" / "charts" / f"{name}.json").write_text(
                charts.spec_json(template), "utf-8")
        result.timings["render"] = time.perf_counter() - t

        t = time.perf_counter()
        cfg = mkdocs_site.write_config(work, docs, out.resolve(),
                                       mkdocs_site.base_config(base_config), notice=notice)
        mkdocs_site.run_mkdocs(cfg)
        result.timings["mkdocs"] = time.perf_counter() - t
    except BaseException:
        # Nothing half-built is left behind: not the generated sources, nor a new output dir.
        shutil.rmtree(work, ignore_errors=True)
        if not out_existed:
            shutil.rmtree(out, ignore_errors=True)
        raise
    if not keep_sources:
        shutil.rmtree(work)

    result.pages = n_pages
    for p in out.rglob("*"):
        if p.is_file():
            size = p.stat().st_size
            result.files += 1
            result.total_bytes += size
            if p.suffix == ".html" and size > result.largest_page[1]:
                result.largest_page = (p.relative_to(out).as_posix(), size)
    result.seconds = time.perf_counter() - started
    return result


def _glance(kit: PageKit) -> Table:
    """Missouri's headline numbers, latest year."""
    notes = _Notes(kit.policy)
    rows = []
    latest = kit.index.latest
    for topic in kit.specs.topics:
        for m in topic.headline:
            for subject in topic.subjects or ("",):
                shown = kit.index.get(STATE, (latest, m.id, subject, ALL_GRADES, ALL_STUDENTS))
                if shown is None:
                    continue
                label = f"{m.label}, {subject}" if subject else m.label
                rows.append(TableRow(label, (notes.cell(shown),)))
    return Table("t-glance", f"Missouri at a glance, {school_year(latest)}", "Measure", (),
                 (STATE_NAME,), (RowGroup("", tuple(rows)),) if rows else (),
                 notes.footnotes(), ())


def county_groups(dirs: list[dict[str, str]]) -> tuple[County, ...]:
    """The home page's districts by county: counties by name, then the LEAs the state runs
    itself (DESE gives them no county), together; districts by name within each."""
    groups: dict[tuple[bool, str, str], list[Link]] = {}
    for d in dirs:
        label = county_label(d["county_name"])
        key = (True, label, "state-run") if label == STATE_RUN else (
            False, label, f"county-{d['county_code']}")
        groups.setdefault(key, []).append(
            Link(d["district_name"], f"districts/{d['district_code']}/"))
    return tuple(County(name, anchor, tuple(sorted(links, key=lambda link: link.text)))
                 for (_, name, anchor), links in sorted(groups.items()))


def _years_shown(index: CellIndex, places: int) -> str:
    """How many years of results a page has, in words: "five years" where every place
    (``places`` of them, the state's included) has every year, else "up to six years" (a
    school that opened or closed has fewer)."""
    n = len(index.years)
    if n == 1:
        return "one year"
    every = (len(index.spans) == places
             and all(span == (index.years[0], index.latest) for span in index.spans.values()))
    return f"{'' if every else 'up to '}{number_word(n)} years"


def _general_pages(env: object, docs: Path, kit: PageKit, dirs: list[dict[str, str]],
                   schs: list[dict[str, str]], written: list, policy: Policy) -> int:
    specs = kit.specs
    # Search index: compact rows [kind, code, name, county, href, district name], and for a
    # place with no students in the latest year (closed or merged: its page stays) a note
    # the results show, listing it after the places of the same name that have students.
    county_of = {d["district_code"]: county_label(d["county_name"]) for d in dirs}
    name_of = {d["district_code"]: d["district_name"] for d in dirs}
    gone = f"no students in {school_year(kit.index.latest)}"

    def noted(row: list[str], entity: tuple[str, str, str]) -> list[str]:
        # The note is the 7th field (a district's row leaves the 6th, its district, empty).
        return row if kit.index.has_latest(entity) else [*row, *[""] * (6 - len(row)), gone]

    rows = [noted(["d", d["district_code"], d["district_name"], county_of[d["district_code"]],
                   f"districts/{d['district_code']}/"], ("district", d["district_code"], ""))
            for d in dirs]
    rows += [noted(["s", f"{s['district_code']}-{s['school_code']}", s["school_name"],
                    county_of.get(s["district_code"], ""),
                    f"schools/{s['district_code']}-{s['school_code']}/",
                    name_of.get(s["district_code"], "")],
                   ("school", s["district_code"], s["school_code"])) for s in schs]
    (docs / "assets" / "search-index.json").write_text(
        json.dumps({"rows": rows}, ensure_ascii=False, separators=(",", ":")), "utf-8")

    home = HomePage(
        title="Missouri School Report Cards", root="",
        year_label=school_year(kit.index.latest),
        counties=county_groups(dirs),
        glance=_glance(kit), n_districts=len(dirs), n_schools=len(schs),
        years_shown=_years_shown(kit.index, len(dirs) + len(schs) + 1),
        search_index="assets/search-index.json")
    _write_page(docs, "index.md", home.title, render(env, "home.html", home))  # type: ignore[arg-type]

    bands = []
    for b in sorted(policy.coding_bands, key=lambda b: b.min_n):
        who = f"{b.min_n} to {b.max_n}" if b.max_n is not None else f"{b.min_n} or more"
        bands.append(CodingBandText(who, f"≤{b.bottom}% or ≥{b.top}%"))
    sym = policy.display.symbol
    meth = MethodologyPage(
        title="Methodology", root="../",
        measures=tuple(MeasureDefinition(m.label, m.topic,
                                         "number of students" if m.kind == "count"
                                         else "percent", m.description)
                       for m in specs.measures.values()),
        min_cell=policy.min_cell_size, symbol=sym,
        footnotes=(Fact(f"{sym} a", policy.footnote("primary")),
                   Fact(f"{sym} b", policy.footnote("complementary")),
                   Fact("c", policy.footnote("top_coded")),
                   Fact(NO_CELL, "Not reported for this place, for example a grade or test "
                                 "the school does not offer.")),
        bands=tuple(bands),
        years=f"{school_year(kit.index.years[0])} to {school_year(kit.index.latest)}",
        families=tuple(Fact(f.title, f.description) for f in specs.families))
    _write_page(docs, "methodology.md", meth.title, render(env, "methodology.html", meth))  # type: ignore[arg-type]
    priv = PrivacyPage(title="Privacy", root="../", min_cell=policy.min_cell_size)
    _write_page(docs, "privacy.md", priv.title, render(env, "privacy.html", priv))  # type: ignore[arg-type]
    gloss = GlossaryPage(title="Glossary", root="../", terms=tuple(
        Fact(t.term, t.definition, t.id) for t in sorted(specs.glossary,
                                                          key=lambda t: t.term.lower())))
    _write_page(docs, "glossary.md", gloss.title, render(env, "glossary.html", gloss))  # type: ignore[arg-type]

    by_rel = {w.rel: w for w in written}
    general = []
    for rel, text in (("downloads/state.csv", "the state and every district, all years"),
                      ("downloads/data_dictionary.csv",
                       "every column, measure, student group and symbol explained")):
        w = by_rel[rel]
        general.append(DownloadFile(f"../{rel}", rel.rsplit("/", 1)[1], text, _size(w.bytes)))
    district_files = []
    for d in dirs:
        w = by_rel[f"downloads/districts/{d['district_code']}.csv"]
        district_files.append(DownloadFile(
            f"../{w.rel}", f"{d['district_code']}.csv",
            f"{d['district_name']} and its schools", _size(w.bytes)))
    dl = DownloadsPage(title="Downloads", root="../", general=tuple(general),
                       districts=tuple(district_files),
                       columns=tuple(Fact(c, COLUMN_DESCRIPTIONS[c]) for c in CSV_COLUMNS))
    _write_page(docs, "downloads.md", dl.title, render(env, "downloads.html", dl))  # type: ignore[arg-type]
    return 6


__all__ = ["BuildResult", "Place", "build_from_aggregates", "build_site", "read_directory"]


def read_directory(root: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The public directory (districts.csv, schools.csv) under ``root/directory``."""
    from site_builder import schema
    from site_builder.errors import ReportcardError
    from site_builder.extract import find_file, scan_file

    frames = []
    for spec in (schema.DISTRICTS, schema.SCHOOLS):
        path = find_file(root / "directory", spec.name)
        if path is None:
            raise ReportcardError(
                f"{root / 'directory' / spec.name}.csv: file is missing.\n  Hint: the site "
                "reads only the public directory of the extract (districts.csv, schools.csv)")
        frames.append(scan_file(path, spec).collect())
    return frames[0], frames[1]


def build_from_aggregates(aggregates: Path, out: Path, *, specs: Path = Path("report_specs"),
                          extract: Path = Path("data/extract"), policy: Path | None = None,
                          progress: bool = False) -> BuildResult:
    """``reportcard build``: ``<aggregates>/published.parquet`` + the public directory.

    The directory is read from ``<aggregates>/directory`` when compute copied it there,
    otherwise from ``<extract>/directory`` (public data; nothing else of the extract is read).
    """
    from site_builder.disclosure.policy import load_policy
    from site_builder.errors import ReportcardError
    from site_builder.specs import load_specs

    path = Path(aggregates) / "published.parquet"
    if not path.exists():
        raise ReportcardError(
            f"{path}: no published cells.\n  Hint: run `reportcard compute` first; the site is "
            "built from the protected aggregates only")
    published = pl.read_parquet(path)
    src = Path(aggregates) if (Path(aggregates) / "directory").is_dir() else Path(extract)
    districts, schools = read_directory(src)
    synthetic = ((src / "directory" / SYNTHETIC_MARKER).is_file()
                 or synthetic_identity(extract) is not None)
    return build_site(published, districts, schools, load_specs(specs),
                      load_policy(policy or Path(specs) / "policy.yaml"), Path(out),
                      progress=progress, notice=SYNTHETIC_NOTICE if synthetic else None)

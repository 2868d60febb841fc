"""Pages may show only published cells, and charts may carry only what their table shows.

The CSV downloads are the statement of what is published. This module reads them back from
the staged site and checks every page against them:

* every number in a data table cell (``<td>``) or in a chart's data is a value of a published
  cell of an entity that page is about (the page's school, district and the state);
* every chart's embedded dataset has no more rows than the table it illustrates holds cells,
  and only fields that are published CSV columns;
* a site chart (``script.rc-chart-spec``) normally embeds no numbers at all: it names what
  each row and column of its table stands for (``{"table": {"value", "keys", "from", "rows",
  "cols"}}``: key names; where each is read: the row's header cell ``th``, its row group's
  header ``rowgroup``, or ``rows``, one list of values per body row; one dict per column) and
  the browser reads the numbers from the table. Those keys must be published CSV columns, must
  not be value columns, and must fit the table (one per body row, one per number column), so
  the chart can only draw what the table shows. A chart spec is checked as one whether or not
  it looks like Vega-Lite.

This is what makes a hidden ``<span>14</span>`` under a ``*``, or a chart fed the
unsuppressed table, a refusal rather than a leak.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import polars as pl
from lxml import html as lxml_html

from site_builder.cells import CSV_COLUMNS
from site_builder.gate.findings import Finding

NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w])")
VALUE_FIELDS = ("n_students", "n_meeting", "rate")

Entity = tuple[str, str, str]
"""(level, district_code, school_code)."""


def _norm(token: str) -> str:
    token = token.replace(",", "")
    if "." in token:
        return f"{float(token):.1f}"
    return str(int(token))


class Published:
    """The published values of each entity, read from the site's CSV downloads."""

    def __init__(self, values: dict[Entity, set[str]], districts_of: dict[str, set[str]]):
        self.values = values
        self.schools_of = districts_of

    @classmethod
    def read(cls, site: Path) -> Published:
        files = sorted(p for p in (site / "downloads").rglob("*.csv")
                       if p.name != "data_dictionary.csv") if (site / "downloads").is_dir() \
            else []
        where = ["level", "district_code", "school_code"]
        pairs: list[pl.DataFrame] = []  # (entity, a value it shows), each pair once
        schools: dict[str, set[str]] = defaultdict(set)
        for path in files:
            df = pl.read_csv(path, infer_schema=False)
            if "level" not in df.columns:
                continue
            df = df.with_columns(pl.col("district_code").fill_null(""),
                                 pl.col("school_code").fill_null(""))
            cols = [c for c in ("n_students", "n_meeting", "rate", "display") if c in df.columns]
            pairs.append(df.unpivot(cols, index=where, value_name="v").select(
                *where, pl.col("v").cast(pl.String)).drop_nulls("v").unique())
            for d, s in df.filter(pl.col("level") == "school").select(
                    "district_code", "school_code").unique().iter_rows():
                schools[d].add(s)
        values: dict[Entity, set[str]] = defaultdict(set)
        if pairs:
            # Each distinct text is read once (a few thousand, where the rows are millions).
            both = pl.concat(pairs).unique()
            tokens = {v: [_norm(t) for t in NUMBER.findall(v)] for v in both["v"].unique()}
            for level, d, s, v in both.iter_rows():
                values[(level, d, s)].update(tokens[v])
        return cls(dict(values), dict(schools))

    def allowed_for(self, rel: str) -> set[str] | None:
        """Values a page may show, or None when the page is not about an entity."""
        state = self.values.get(("state", "", ""), set())
        parts = Path(rel).parts
        if len(parts) >= 2 and parts[0] == "districts":
            d = parts[1]
            out = set(state) | self.values.get(("district", d, ""), set())
            for s in self.schools_of.get(d, ()):
                out |= self.values.get(("school", d, s), set())
            return out
        if len(parts) >= 2 and parts[0] == "schools" and "-" in parts[1]:
            d, s = parts[1].split("-", 1)
            return (set(state) | self.values.get(("district", d, ""), set())
                    | self.values.get(("school", d, s), set()))
        if rel in ("index.html", "state/index.html") or parts[0] in ("state", "counties"):
            out = set(state)
            for (level, _d, _s), v in self.values.items():
                if level == "district":
                    out |= v
            return out
        return None


def _vega_datasets(spec: object) -> Iterator[tuple[str, list[object]]]:
    """Every inline dataset of a Vega-Lite spec, wherever it is nested."""
    if isinstance(spec, dict):
        data = spec.get("data")
        if isinstance(data, dict) and isinstance(data.get("values"), list):
            yield "data.values", data["values"]
        for name, rows in (spec.get("datasets") or {}).items():
            if isinstance(rows, list):
                yield f"datasets.{name}", rows
        for key in ("layer", "hconcat", "vconcat", "concat"):
            for sub in spec.get(key) or []:
                yield from _vega_datasets(sub)
        if isinstance(spec.get("spec"), dict):
            yield from _vega_datasets(spec["spec"])


def is_vega(spec: object) -> bool:
    return isinstance(spec, dict) and (
        "vega" in str(spec.get("$schema", "")) or "mark" in spec or "layer" in spec
        or "datasets" in spec)


def check_vega_spec(rel: str, where: str, spec: dict, max_rows: int | None,
                    allowed: set[str] | None) -> list[Finding]:
    out = []
    for path, rows in _vega_datasets(spec):
        if max_rows is not None and len(rows) > max_rows:
            out.append(Finding(
                "row_level", rel, "a chart embeds more rows than the table it illustrates",
                where=f"{where} {path}", evidence=f"{len(rows)} rows > {max_rows} table cells",
                hint="give the chart only the rows its table shows"))
        extra = sorted({k for r in rows if isinstance(r, dict) for k in r} - set(CSV_COLUMNS))
        if extra:
            out.append(Finding(
                "row_level", rel, "a chart carries fields that are not published columns",
                where=f"{where} {path}", evidence=", ".join(extra[:8]),
                hint=f"chart data may use only the CSV columns: {', '.join(CSV_COLUMNS)}"))
        if allowed is not None:
            for r in rows:
                if not isinstance(r, dict):
                    continue
                for k in VALUE_FIELDS:
                    v = r.get(k)
                    if v is None or isinstance(v, bool):
                        continue
                    tok = _norm(f"{v:.1f}" if isinstance(v, float) else str(v))
                    if tok not in allowed:
                        out.append(Finding(
                            "disclosure", rel,
                            "a chart shows a number that no published cell holds",
                            where=f"{where} {path} field {k}", evidence=str(v),
                            hint="charts may show only protected, published values"))
    return out


def check_table_keys(rel: str, where: str, keys: object, table: object) -> list[Finding]:
    """The row and column keys of a chart drawn from its table (see the module docstring)."""
    def bad(rule: str, evidence: str) -> list[Finding]:
        return [Finding("row_level", rel, rule, where=f"{where} table", evidence=evidence,
                        hint="a chart names its table's row and column keys (published "
                             "columns) and nothing else; rebuild with `reportcard build`")]

    if not isinstance(keys, dict) or keys.get("value") not in VALUE_FIELDS \
            or not all(isinstance(keys.get(k), list) for k in ("keys", "from", "rows", "cols")):
        return bad("a chart's table keys are malformed", str(keys)[:80])
    names, sources, rows, cols = keys["keys"], keys["from"], keys["rows"], keys["cols"]
    listed = sum(s == "rows" for s in sources)
    scalar = (str, int)
    if not all(isinstance(n, str) for n in names) or len(sources) != len(names) \
            or not all(s in ("th", "rowgroup", "rows") for s in sources) \
            or not all(isinstance(r, list) and len(r) == listed
                       and all(isinstance(v, scalar) for v in r) for r in rows) \
            or not all(c is None or (isinstance(c, dict)
                                     and all(isinstance(v, scalar) for v in c.values()))
                       for c in cols):
        return bad("a chart's table keys are malformed", str(keys)[:80])
    fields = set(names) | {k for c in cols if c is not None for k in c}
    extra = sorted(fields - (set(CSV_COLUMNS) - set(VALUE_FIELDS)))
    if extra:
        return bad("a chart's table keys carry fields that are not published key columns",
                   ", ".join(extra[:8]))
    if table is None:
        return bad("a chart's table keys name no table on the page", "")
    # body rows as a browser sees them (a <tr> straight in <table> gets an implied <tbody>)
    body = [tr for tr in table.iter("tr")  # type: ignore[attr-defined]
            if tr.getparent().tag in ("tbody", "table")
            and "rc-rowgroup" not in (tr.get("class") or "")]
    widths = {len(tr.findall("td")) for tr in body}
    if len(body) != len(rows) or widths - {len(cols)}:
        return bad("a chart's table keys do not fit its table",
                   f"{len(rows)} row keys x {len(cols)} column keys; the table has "
                   f"{len(body)} rows of {sorted(widths)} cells")
    return []


def check_page(rel: str, text: str, published: Published) -> list[Finding]:
    """Table numbers and chart data of one HTML page against the published cells."""
    doc = lxml_html.document_fromstring(text)
    allowed = published.allowed_for(rel)
    out: list[Finding] = []
    if allowed is not None:
        for td in doc.iter("td"):
            cell_text = td.text_content()
            for tok in NUMBER.findall(cell_text):
                if _norm(tok) not in allowed:
                    out.append(Finding(
                        "disclosure", rel, "a table shows a number that no published cell holds",
                        where=f"line {td.sourceline}", evidence=cell_text.strip()[:60],
                        hint="pages may show only the protected values in the CSV downloads; "
                             "a withheld value must show the suppression symbol"))
    by_id: dict[str, lxml_html.HtmlElement] | None = None  # get_element_by_id: a walk each
    for i, script in enumerate(doc.iter("script")):
        if not (script.get("type") or "").endswith("json") or not script.text:
            continue
        try:
            spec = json.loads(script.text)
        except json.JSONDecodeError:
            continue
        site_chart = "rc-chart-spec" in (script.get("class") or "").split()
        if not (site_chart or is_vega(spec)) or not isinstance(spec, dict):
            continue
        scope = next((a for a in script.iterancestors() if a.tag in ("figure", "section")),
                     doc)
        ref = script.get("data-table")
        if by_id is None:  # the first element with each id, as get_element_by_id gives
            by_id = {}
            for el in doc.xpath("//*[@id]"):
                by_id.setdefault(el.get("id"), el)
        table = by_id.get(ref) if ref else None
        cells = len(list((table if table is not None else scope).iter("td")))
        where = f"chart {script.get('id') or i}"
        out += check_vega_spec(rel, where, spec, cells if cells else None, allowed)
        if site_chart or "table" in spec:
            out += check_table_keys(rel, where, spec.get("table"), table)
    return out


def check_json_file(rel: str, text: str) -> list[Finding]:
    """A standalone Vega spec must obey the same rules (its table is unknown: fields only)."""
    try:
        spec = json.loads(text)
    except json.JSONDecodeError:
        return []
    return check_vega_spec(rel, "spec", spec, None, None) if is_vega(spec) else []

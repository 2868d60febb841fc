"""Vega-Lite chart specs (built with altair) for the tables of a page.

A spec is built once per (section, columns shown) with altair, without data, and served as
one file (``assets/charts/<name>.json``). A page embeds no numbers for its charts: the numbers
are in the table beside each chart, and the page says only what the table's rows and columns
stand for (:func:`with_data`)::

    {"usermeta": {"template": name},
     "table": {"value": "rate", "keys": ["student_group", "subject", "year"],
               "from": ["th", "rowgroup", "rows"], "rows": [[2024], ...],
               "cols": [{"level": "school"}, null, {"level": "state"}]}}

(each row key's value comes from the body row's header cell, its row group's header, or the
``rows`` list, one entry per body row in table order; each number column's keys, or null for
a column the chart does not draw). ``assets/charts.js`` reads every body row of the table
(``data-table``), skips withheld cells (``td.w``) and cells without a number, and makes one
data row per remaining cell: the row's keys, the column's keys, and the cell's number as
``value``. :func:`rows_from_table` is the
same rule in Python; the build checks it yields exactly the table's chart rows. Embedding the
numbers a second time as Vega-Lite data was 40% of every page at full scale; building one
altair chart per page would cost seconds per thousand pages.

Specs load nothing remotely: the data is inline, there is no URL, and the page renders them
with the site's own copy of vega-embed (``assets/vega-bundle.js``) using Vega's expression
interpreter (``ast: true``), so the Content-Security-Policy needs no ``'unsafe-eval'``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import altair as alt

from site_builder.schema import GRADES
from site_builder.site.sections import SiteMeasure, SiteSection, Topic
from site_builder.site.tables import Place, Table

PLACE_COLORS = {"school": "#1b4f8a", "district": "#2f7fc1", "state": "#9aa5b1"}
LEVEL_COLORS = ["#b2452e", "#e59a5b", "#6aa5d8", "#1b4f8a"]
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
CONFIG: dict[str, Any] = {
    "font": FONT,
    "view": {"stroke": None},
    # labelSeparation: a number axis drops a label that would touch the next ("60,00080,000")
    "axis": {"labelFontSize": 12, "titleFontSize": 12, "labelLimit": 180, "labelSeparation": 4},
    "legend": {"labelFontSize": 12, "titleFontSize": 12, "orient": "bottom"},
    "header": {"labelFontSize": 13, "labelFontWeight": "bold"},
}


def _year_axis() -> alt.X:
    """School years by their ending year, upright (Vega-Lite turns them on their side), with
    a title that says how to read them, as the tables write them (2024-25)."""
    return alt.X("year:O", title="School year (2025 = 2024-25)", axis=alt.Axis(labelAngle=0))


GRADE_AXIS = {"PK": "Pre-K", "K": "K"}
"""Grade codes whose axis label is not the code without its leading zero."""


def _label_expr(labels: dict[str, str]) -> str:
    """A Vega expression mapping codes to labels: c1 ? l1 : c2 ? l2 : datum.label."""
    expr = "datum.label"
    for code, label in reversed(list(labels.items())):
        expr = f"datum.value === {json.dumps(code)} ? {json.dumps(label)} : {expr}"
    return expr


def _place_color(places: tuple[Place, ...]) -> alt.Color:
    levels = [p.entity[0] for p in places]
    return alt.Color(
        "level:N", title=None,
        scale=alt.Scale(domain=levels, range=[PLACE_COLORS[lv] for lv in levels]),
        legend=alt.Legend(labelExpr=_label_expr({p.entity[0]: p.label for p in places})),
    )


def _value_axis(value: str) -> alt.X:
    if value == "rate":
        return alt.X("rate:Q", title="Percent of students", scale=alt.Scale(domain=[0, 100]))
    return alt.X("n_students:Q", title="Students")


def _facet(chart: alt.Chart, field: str | None, order: list[str],
           labels: dict[str, str] | None = None, *,
           independent_y: bool = False) -> alt.TopLevelMixin:
    if not field:
        return chart
    header = alt.Header(labelExpr=_label_expr(labels)) if labels else alt.Header()
    faceted = chart.facet(facet=alt.Facet(f"{field}:N", sort=order, title=None, header=header),
                          columns=2)
    # Each panel lists only its own categories (Science is tested in grades 5 and 8 only).
    return faceted.resolve_scale(y="independent") if independent_y else faceted


def _to_template(chart: alt.TopLevelMixin, _description: str = "") -> dict[str, Any]:
    """The shared part of a chart: no data and nothing about a particular page."""
    spec = chart.configure(**CONFIG).to_dict(validate=False)
    spec.pop("datasets", None)
    spec["data"] = {"name": "table"}
    return spec


def section_template(section: SiteSection, places: tuple[Place, ...],
                     description: str) -> dict[str, Any]:
    """A Vega-Lite spec (no data) for one section's chart."""
    base = alt.Chart(alt.Data(name="table"))
    measures = {m.id: m.label for m in section.measures}
    chart_places = places[:1] if section.chart_local_only else places
    value = section.value if section.value in ("rate", "n_students") else "rate"
    if section.rows == "year":
        chart = base.mark_line(point=True).encode(
            x=_year_axis(),
            y=alt.Y(f"{value}:Q", title="Students" if value == "n_students" else "Percent"),
            color=_place_color(chart_places),
        ).properties(width=320, height=180)
        return _to_template(_facet(chart, "subject" if section.subjects else None,
                                   list(section.subjects)), description)
    cat = "grade" if section.rows == "grade" else "student_group"
    order = list(GRADES) if cat == "grade" else None
    # Grades read as the tables write them, under the axis title "Grade": Pre-K, K, 1 ... 12
    # (the codes PK, K, 01 ... 12 read as "09" on the axis).
    labels = _label_expr({g: GRADE_AXIS.get(g, g.lstrip("0")) for g in GRADES}) \
        if cat == "grade" else alt.Undefined
    y = alt.Y(f"{cat}:N", title="Grade" if cat == "grade" else None, sort=order,
              axis=alt.Axis(labelLimit=200, labelExpr=labels))
    if section.chart_kind == "stacked_bar":
        ids = [m.id for m in section.measures]
        chart = base.mark_bar().transform_calculate(
            order=f"indexof({json.dumps(ids)}, datum.measure)",
        ).encode(
            y=y, x=alt.X("rate:Q", title="Percent of students tested", stack="zero"),
            color=alt.Color("measure:N", title=None,
                            scale=alt.Scale(domain=ids, range=LEVEL_COLORS[:len(ids)]),
                            legend=alt.Legend(labelExpr=_label_expr(measures))),
            order=alt.Order("order:Q"),
        ).properties(width=260, height=alt.Step(16))
    else:
        chart = base.mark_bar().encode(
            y=y, x=_value_axis(value),
            yOffset=alt.YOffset("level:N", sort=[p.entity[0] for p in chart_places]),
            color=_place_color(chart_places),
        ).properties(width=260, height=alt.Step(12))
    return _to_template(_facet(chart, "subject" if section.subjects else None,
                               list(section.subjects), independent_y=True), description)


def trend_template(topic: Topic, places: tuple[Place, ...], description: str,
                   measures: dict[str, SiteMeasure]) -> dict[str, Any]:
    """A line chart (no data) of a topic's five-year trend."""
    value = "n_students" if all(m.kind == "count" for m in topic.headline) else "rate"
    chart = alt.Chart(alt.Data(name="table")).mark_line(point=True).encode(
        x=_year_axis(),
        y=alt.Y(f"{value}:Q", title="Percent" if value == "rate" else "Students",
                scale=alt.Scale(domain=[0, 100]) if value == "rate" else alt.Undefined),
        color=_place_color(places),
    ).properties(width=220 if (topic.subjects or len(topic.headline) > 1) else 320,
                 height=150)
    if topic.subjects:
        faceted = _facet(chart, "subject", list(topic.subjects))
    elif len(topic.headline) > 1:
        faceted = _facet(chart, "measure", [m.id for m in topic.headline],
                         {m.id: m.label for m in topic.headline})
    else:
        faceted = chart
    return _to_template(faceted, description)


class ChartTableMismatch(AssertionError):
    """The chart rows read back from a table are not the rows the table was built with."""


NUMBER = re.compile(r"-?\d+(\.\d+)?")
"""A cell's text (without thousands commas and a trailing %) that charts.js draws."""


def _number(text: str) -> int | float | None:
    """A table cell's number as charts.js reads it: '2,445' -> 2445, '57.3%' -> 57.3."""
    text = text.strip().replace(",", "").removesuffix("%")
    if not NUMBER.fullmatch(text):
        return None
    return float(text) if "." in text else int(text)


SOURCES = ("th", "rowgroup", "rows")
"""Where a row key's value is read: the row's header cell, its row group's header, or the
page's ``rows`` list (in that order of preference: header text costs the page nothing)."""


def _headed_rows(table: Table) -> list[tuple[str, str]]:
    """(row header, row group header) of every body row, in table order."""
    return [(r.header, g.header) for g in table.row_groups for r in g.rows]


def encode_row_keys(table: Table) -> tuple[list[str], list[str], list[list[Any]]]:
    """Row keys as the page carries them: key names, each key's source, and per body row the
    values of the keys whose source is ``rows``."""
    rows = [dict(k) for k in table.row_keys]
    keys = sorted({k for r in rows for k in r})
    if any(set(r) != set(keys) for r in rows):
        raise ChartTableMismatch(f"{table.id}: rows with different keys")
    headed = _headed_rows(table)
    if len(headed) != len(rows):
        raise ChartTableMismatch(f"{table.id}: {len(rows)} row keys for {len(headed)} rows")
    def plain(text: str) -> bool:  # read back the same after whitespace is collapsed
        return text == " ".join(text.split())

    sources = []
    for k in keys:
        if all(r[k] == th and plain(th) for r, (th, _g) in zip(rows, headed, strict=True)):
            sources.append("th")
        elif all(r[k] == g and plain(g) for r, (_th, g) in zip(rows, headed, strict=True)):
            sources.append("rowgroup")
        else:
            sources.append("rows")
    listed = [k for k, s in zip(keys, sources, strict=True) if s == "rows"]
    return keys, sources, [[r[k] for k in listed] for r in rows]


def decode_row_keys(table: Table, keys: list[str], sources: list[str],
                    rows: list[list[Any]]) -> list[dict[str, Any]]:
    """Each body row's keys, read back as charts.js reads them."""
    headed = _headed_rows(table)
    if len(headed) != len(rows):
        raise ChartTableMismatch(f"{table.id}: {len(rows)} row keys for {len(headed)} rows")
    out = []
    for (th, group), listed in zip(headed, rows, strict=True):
        values = iter(listed)
        row: dict[str, Any] = {}
        for k, source in zip(keys, sources, strict=True):
            row[k] = th if source == "th" else group if source == "rowgroup" else next(values)
        out.append(row)
    return out


def rows_from_table(table: Table, value: str, rows: list[dict[str, Any]],
                    cols: list[dict[str, Any] | None]) -> list[dict[str, Any]]:
    """The chart data charts.js makes from ``table``, its rows' keys and the columns' keys."""
    body = [r for g in table.row_groups for r in g.rows]
    if len(body) != len(rows):
        raise ChartTableMismatch(f"{table.id}: {len(rows)} row keys for {len(body)} rows")
    out = []
    for row, keys in zip(body, rows, strict=True):
        if len(row.cells) != len(cols):
            raise ChartTableMismatch(f"{table.id}: {len(cols)} column keys, "
                                     f"{len(row.cells)} cells")
        for cell, col in zip(row.cells, cols, strict=True):
            if col is None or cell.withheld:
                continue
            number = _number(cell.text)
            if number is not None:
                out.append({**keys, **col, value: number})
    return out


def with_data(template_name: str, table: Table) -> dict[str, Any] | None:
    """The page's part of a chart: its template and the keys of ``table``'s rows and columns
    (the numbers are read from the table); None when the chart would have fewer than two
    points (one bar is not a chart; the table says it)."""
    if len(table.chart_rows) < 2:
        return None
    cols = list(table.col_keys)
    keys, sources, rows = encode_row_keys(table)
    derived = rows_from_table(table, table.value_field,
                              decode_row_keys(table, keys, sources, rows), cols)
    if sorted(map(_canonical, derived)) != sorted(map(_canonical, table.chart_rows)):
        raise ChartTableMismatch(f"{table.id}: the chart read from the table would differ "
                                 "from the chart rows the table was built with")
    return {"usermeta": {"template": template_name},
            "table": {"value": table.value_field, "keys": keys, "from": sources,
                      "rows": rows, "cols": cols}}


def _canonical(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True)


def spec_json(spec: dict[str, Any]) -> str:
    """Deterministic JSON, safe inside <script type="application/json">."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")

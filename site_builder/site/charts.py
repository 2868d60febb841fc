"""Vega-Lite chart specs (built with altair) for the tables of a page.

A spec is built once per (section, columns shown) with altair, without data, and served as
one file (``assets/charts/<name>.json``). A page embeds only its own data, in a minimal
Vega-Lite spec naming its template: ``{"$schema": ..., "data": {"values": [...]},
"usermeta": {"template": name}}``, where the values are exactly the chart rows of the table
beside it (:attr:`site_builder.site.tables.Table.chart_rows`). ``assets/charts.js`` merges the
two. Building one altair chart per page would cost seconds per thousand pages, and repeating
the encoding on every page would add about 25 KB to each.

Specs load nothing remotely: the data is inline, there is no URL, and the page renders them
with the site's own copy of vega-embed (``assets/vega-bundle.js``) using Vega's expression
interpreter (``ast: true``), so the Content-Security-Policy needs no ``'unsafe-eval'``.
"""

from __future__ import annotations

import json
from typing import Any

import altair as alt

from site_builder.schema import GRADES
from site_builder.site.sections import SiteMeasure, SiteSection, Topic
from site_builder.site.tables import Place, Table

PLACE_COLORS = {"school": "#1b4f8a", "district": "#2f7fc1", "state": "#9aa5b1"}
LEVEL_COLORS = ["#b2452e", "#e59a5b", "#6aa5d8", "#1b4f8a"]
VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
"""Names the format; never fetched (vega-embed does not load $schema)."""
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
CONFIG: dict[str, Any] = {
    "font": FONT,
    "view": {"stroke": None},
    "axis": {"labelFontSize": 12, "titleFontSize": 12, "labelLimit": 180},
    "legend": {"labelFontSize": 12, "titleFontSize": 12, "orient": "bottom"},
    "header": {"labelFontSize": 13, "labelFontWeight": "bold"},
}


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
            x=alt.X("year:O", title="School year (ending)"),
            y=alt.Y(f"{value}:Q", title="Students" if value == "n_students" else "Percent"),
            color=_place_color(chart_places),
        ).properties(width=320, height=180)
        return _to_template(_facet(chart, "subject" if section.subjects else None,
                                   list(section.subjects)), description)
    cat = "grade" if section.rows == "grade" else "student_group"
    order = list(GRADES) if cat == "grade" else None
    y = alt.Y(f"{cat}:N", title="Grade" if cat == "grade" else None, sort=order,
              axis=alt.Axis(labelLimit=200))
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
        x=alt.X("year:O", title="School year (ending)"),
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


def with_data(template_name: str, table: Table) -> dict[str, Any] | None:
    """The page's part of a chart: exactly the chart rows of ``table``; None when fewer than
    two (one bar is not a chart; the table says it)."""
    if len(table.chart_rows) < 2:
        return None
    return {"$schema": VEGA_LITE_SCHEMA, "data": {"values": [dict(r) for r in table.chart_rows]},
            "usermeta": {"template": template_name}}


def spec_json(spec: dict[str, Any]) -> str:
    """Deterministic JSON, safe inside <script type="application/json">."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")

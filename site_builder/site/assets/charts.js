/* Draw every chart of the page with the site's own copy of vega-embed.
   A chart's numbers are the numbers of the table beside it, read from the table's cells: the
   page embeds only the name of a shared template in assets/charts/ and what each row and
   column of the table stands for ({"table": {"value", "keys", "from", "rows", "cols"}}: a
   row key is the row's header text, its row group's header text, or listed in rows). Withheld cells
   (td.w) and cells without a number are not drawn. site_builder/site/charts.py
   (rows_from_table) is the same rule; the build checks the two agree. Expressions run in
   Vega's interpreter (ast: true), so the Content-Security-Policy needs no 'unsafe-eval'.
   Without JavaScript the charts stay hidden and the tables carry every number. */
(function () {
  "use strict";
  document.documentElement.classList.add("rc-js");
  var base = document.currentScript.src.replace(/charts\.js(\?.*)?$/, "charts/");
  var cache = {};
  function template(name) {
    if (!/^[\w-]+$/.test(name)) { return Promise.reject(new Error("bad template name")); }
    if (!cache[name]) {
      cache[name] = fetch(base + name + ".json", { credentials: "omit" })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); });
    }
    return cache[name];
  }
  function text(el) { return el.textContent.replace(/\s+/g, " ").trim(); }
  function number(text) {
    var t = text.trim().replace(/,/g, "").replace(/%$/, "");
    return /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : null;
  }
  // The data rows of one chart: one per table cell that holds a published number.
  function rowsFor(el) {
    var page = JSON.parse(el.textContent);
    var keys = page.table;
    var table = document.getElementById(el.getAttribute("data-table"));
    if (!keys || !table) { return []; }
    var out = [];
    var trs = table.querySelectorAll("tbody tr:not(.rc-rowgroup)");
    if (trs.length !== keys.rows.length) { throw new Error("table and chart keys differ"); }
    Array.prototype.forEach.call(trs, function (tr, i) {
      var th = tr.querySelector("th");
      var head = tr.parentNode.querySelector("tr.rc-rowgroup th");
      var rowKeys = {};
      var listed = 0;
      keys.keys.forEach(function (k, n) {
        var from = keys.from[n];
        rowKeys[k] = from === "th" ? text(th)
          : from === "rowgroup" ? (head ? text(head) : "")
          : keys.rows[i][listed++];
      });
      var tds = tr.querySelectorAll("td");
      Array.prototype.forEach.call(tds, function (td, j) {
        var col = keys.cols[j];
        if (!col || td.classList.contains("w")) { return; }
        var v = number(td.textContent);
        if (v === null) { return; }
        var row = Object.assign({}, rowKeys, col);
        row[keys.value] = v;
        out.push(row);
      });
    });
    return out;
  }
  window.rcChartRows = rowsFor;
  var MIN_PLOT = 150;  // px: the narrowest a chart's plot is made to fit a phone
  function draw() {
    if (typeof window.vegaEmbed !== "function") { return; }
    var specs = document.querySelectorAll("script.rc-chart-spec");
    Array.prototype.forEach.call(specs, function (el) {
      var target = document.getElementById(el.id.replace(/-spec$/, ""));
      if (!target) { return; }
      var page;
      try { page = JSON.parse(el.textContent); } catch (e) { return; }
      // vega-embed gives the container its own role and a generic "Vega visualization"
      // label; the page's authored role="img" and aria-label (what the chart shows, in
      // words) are put back once it has drawn.
      var role = target.getAttribute("role");
      var label = target.getAttribute("aria-label");
      var opts = { actions: false, ast: true, renderer: "svg" };
      template(page.usermeta.template).then(function (t) {
        var spec = Object.assign({}, t, { data: { values: rowsFor(el) } });
        if (label) { spec.description = label; }
        // A chart wider than the page (a phone) would be shrunk to fit, its words with it.
        // Panels side by side go one under another instead; then, if the chart is still too
        // wide (long group names beside the bars), its bars get narrower, down to MIN_PLOT.
        function fit(result, step) {
          var svg = target.querySelector("svg");
          var over = (svg ? Number(svg.getAttribute("width")) : 0) - target.clientWidth;
          if (!(over > 0)) { return result; }
          var inner = spec.spec || spec;
          var next = null;
          if (step === 0 && spec.columns > 1) {
            next = Object.assign({}, spec, { columns: 1 });
          } else if (step < 2 && typeof inner.width === "number" && inner.width > MIN_PLOT) {
            var width = { width: Math.max(MIN_PLOT, Math.floor(inner.width - over)) };
            next = spec.spec ? Object.assign({}, spec, { spec: Object.assign({}, inner, width) })
              : Object.assign({}, spec, width);
            step = 1;
          }
          if (!next) { return result; }
          spec = next;
          result.finalize();
          return window.vegaEmbed(target, spec, opts).then(function (r) { return fit(r, step + 1); });
        }
        return window.vegaEmbed(target, spec, opts).then(function (r) { return fit(r, 0); });
      }).then(function () {
        if (role) { target.setAttribute("role", role); } else { target.removeAttribute("role"); }
        if (label) { target.setAttribute("aria-label", label); } else { target.removeAttribute("aria-label"); }
        target.setAttribute("data-drawn", "");  // laid out for good (what the tests wait for)
      }).catch(function () { target.parentNode.classList.add("rc-chart-failed"); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else { draw(); }
})();

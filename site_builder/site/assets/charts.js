/* Draw every chart of the page with the site's own copy of vega-embed.
   A page embeds only its data (the numbers of the table beside the chart) and the name of
   a shared template in assets/charts/; the two are merged here. Expressions run in Vega's
   interpreter (ast: true), so the Content-Security-Policy needs no 'unsafe-eval'.
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
      template(page.usermeta.template).then(function (t) {
        var spec = Object.assign({}, t, { data: page.data });
        if (label) { spec.description = label; }
        return window.vegaEmbed(target, spec, { actions: false, ast: true, renderer: "svg" });
      }).then(function () {
        if (role) { target.setAttribute("role", role); } else { target.removeAttribute("role"); }
        if (label) { target.setAttribute("aria-label", label); } else { target.removeAttribute("aria-label"); }
      }).catch(function () { target.parentNode.classList.add("rc-chart-failed"); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else { draw(); }
})();

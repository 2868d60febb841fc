/* Draw every chart of the page from its inline Vega-Lite spec with the site's own copy of
   vega-embed. Expressions run in Vega's interpreter (ast: true), so no eval is needed.
   Without JavaScript the charts stay hidden and the tables carry every number. */
(function () {
  "use strict";
  document.documentElement.classList.add("rc-js");
  function draw() {
    if (typeof window.vegaEmbed !== "function") { return; }
    var specs = document.querySelectorAll("script.rc-chart-spec");
    Array.prototype.forEach.call(specs, function (el) {
      var target = document.getElementById(el.id.replace(/-spec$/, ""));
      if (!target) { return; }
      var spec;
      try { spec = JSON.parse(el.textContent); } catch (e) { return; }
      window.vegaEmbed(target, spec, { actions: false, ast: true, renderer: "svg" })
        .catch(function () { target.parentNode.classList.add("rc-chart-failed"); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else { draw(); }
})();

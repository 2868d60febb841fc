/* Find a district or school by name, code or county, entirely in the browser, from the
   site's compact index (assets/search-index.json). Nothing typed leaves the page. */
(function () {
  "use strict";
  var box = document.querySelector(".rc-search");
  if (!box) { return; }
  var input = document.getElementById("rc-q");
  var list = document.getElementById("rc-results");
  var count = document.getElementById("rc-count");
  var root = box.getAttribute("data-root");
  var rows = null;
  var KIND = { d: "District", s: "School" };
  function norm(s) { return s.toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, ""); }
  function load() {
    if (rows) { return Promise.resolve(rows); }
    return fetch(box.getAttribute("data-index"), { credentials: "omit" })
      .then(function (r) { return r.json(); })
      .then(function (j) {
        rows = j.rows.map(function (r) {
          return { kind: r[0], code: r[1], name: r[2], county: r[3], href: r[4], parent: r[5] || "",
                   hay: norm(r[2] + " " + r[1] + " " + r[1].replace("-", "") + " " + r[3] + " county " + (r[5] || "")) };
        });
        return rows;
      });
  }
  function show(q) {
    list.textContent = "";
    q = norm(q.trim());
    if (q.length < 2) { count.textContent = ""; return; }
    var words = q.split(/\s+/);
    var hits = rows.filter(function (r) {
      return words.every(function (w) { return r.hay.indexOf(w) !== -1; });
    });
    hits.sort(function (a, b) {
      var pa = norm(a.name).indexOf(q) === 0 || a.code.indexOf(q) === 0 ? 0 : 1;
      var pb = norm(b.name).indexOf(q) === 0 || b.code.indexOf(q) === 0 ? 0 : 1;
      return pa - pb || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0) || (a.name < b.name ? -1 : 1);
    });
    count.textContent = hits.length === 0 ? "No district or school matches." :
      hits.length + (hits.length === 1 ? " match" : " matches") + (hits.length > 25 ? ", first 25 shown." : ".");
    hits.slice(0, 25).forEach(function (r) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = root + r.href;
      a.textContent = r.name;
      li.appendChild(a);
      var meta = document.createElement("span");
      meta.className = "rc-meta";
      meta.textContent = " " + KIND[r.kind] + " " + r.code + ", " + r.county + (r.parent ? ", " + r.parent : "");
      li.appendChild(meta);
      list.appendChild(li);
    });
  }
  input.addEventListener("input", function () {
    load().then(function () { show(input.value); });
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter") {
      var first = list.querySelector("a");
      if (first) { window.location.href = first.href; }
    }
  });
})();

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
        function words(s) { return s.split(/[^a-z0-9]+/).filter(Boolean); }
        rows = j.rows.map(function (r) {
          var hay = norm(r[2] + " " + r[1] + " " + r[1].replace("-", "") + " " + r[3] + " county " + (r[5] || ""));
          var low = norm(r[2]);
          return { kind: r[0], code: r[1], name: r[2], county: r[3], href: r[4], parent: r[5] || "",
                   note: r[6] || "", hay: hay, words: words(hay), low: low, nameWords: words(low) };
        });
        return rows;
      });
  }
  /* Edit distance (insertions, deletions, substitutions and swaps of two neighbours), or
     max + 1 as soon as it must exceed max. */
  function distance(a, b, max) {
    if (Math.abs(a.length - b.length) > max) { return max + 1; }
    var prev2 = null, prev = [], i, j;
    for (j = 0; j <= b.length; j++) { prev.push(j); }
    for (i = 1; i <= a.length; i++) {
      var cur = [i], low = i;
      for (j = 1; j <= b.length; j++) {
        var d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        if (prev2 && i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
          d = Math.min(d, prev2[j - 2] + 1);
        }
        cur.push(d);
        low = Math.min(low, d);
      }
      if (low > max) { return max + 1; }
      prev2 = prev; prev = cur;
    }
    return prev[b.length];
  }
  function allowed(w) { return w.length >= 8 ? 2 : 1; }
  /* How far a typed word is from the nearest of ``words`` (or the start of one, for a word
     still being typed): a typo a word (two in a long one) is forgiven; codes must be exact. */
  function near(w, hay, words) {
    var max = allowed(w), best = max + 1;
    if (hay.indexOf(w) !== -1) { return 0; }
    if (w.length < 3 || /\d/.test(w)) { return best; }
    words.forEach(function (t) {
      for (var n = w.length - max; n <= w.length + max && best > 0; n++) {
        if (n > 0 && n <= t.length && (n === t.length || n >= w.length)) {
          best = Math.min(best, distance(w, t.slice(0, n), max));
        }
      }
    });
    return best;
  }
  function fuzzy(words) {
    var out = [];
    rows.forEach(function (r) {
      var total = 0;
      for (var i = 0; i < words.length; i++) {
        var d = near(words[i], r.hay, r.words);
        if (d > allowed(words[i])) { return; }
        total += d;
      }
      out.push({ r: r, d: total });
    });
    out.sort(function (a, b) { return a.d - b.d; });
    var best = out.length ? out[0].d : 0;
    return out.filter(function (h) { return h.d === best; }).map(function (h) { return h.r; });
  }
  /* Whether every word is (close to) a word of the row's own name, not its county's or its
     district's: "jeferson city" is Jefferson City before Crystal City in Jefferson County. */
  function byName(r, words) {
    return words.every(function (w) { return near(w, r.low, r.nameWords) <= allowed(w); }) ? 0 : 1;
  }
  function show(q) {
    list.textContent = "";
    q = norm(q.trim());
    if (q.length < 2) { count.textContent = ""; return; }
    var words = q.split(/\s+/);
    var hits = rows.filter(function (r) {
      return words.every(function (w) { return r.hay.indexOf(w) !== -1; });
    });
    var close = hits.length === 0;
    if (close) { hits = fuzzy(words); }
    hits.forEach(function (r) { r.rank = byName(r, words); });
    hits.sort(function (a, b) {
      var pa = a.low.indexOf(q) === 0 || a.code.indexOf(q) === 0 ? 0 : 1;
      var pb = b.low.indexOf(q) === 0 || b.code.indexOf(q) === 0 ? 0 : 1;
      /* a place with students now before one with none (closed, or merged into another) */
      return pa - pb || a.rank - b.rank || (a.note ? 1 : 0) - (b.note ? 1 : 0) ||
        (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0) || (a.name < b.name ? -1 : 1);
    });
    var many = hits.length > 25 ? ", first 25 shown." : ".";
    count.textContent = hits.length === 0 ? "No district or school matches. Check the spelling, or try a county or a code." :
      close ? "No exact match. " + (hits.length === 1 ? "1 close match" : hits.length + " close matches") +
        " (spelled a little differently)" + many :
      hits.length + (hits.length === 1 ? " match" : " matches") + many;
    hits.slice(0, 25).forEach(function (r) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = root + r.href;
      a.textContent = r.name;
      li.appendChild(a);
      var meta = document.createElement("span");
      meta.className = "rc-meta";
      meta.textContent = " " + KIND[r.kind] + " " + r.code + ", " + r.county + (r.parent ? ", " + r.parent : "") +
        (r.note ? " (" + r.note + ")" : "");
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

/* A district's schools table (#t-schools), sortable by any column: each column heading
   becomes a button. Numbers sort highest first on the first press; a withheld value (the
   symbol) and a value not reported (–) always go last, whichever way; the rows "For
   comparison" (the whole district, the state) stay where they are. Without JavaScript the
   table reads as built: schools by name. */
(function () {
  "use strict";
  var table = document.getElementById("t-schools");
  if (!table || !table.tHead || !table.tBodies.length) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var nCols = rows.length ? rows[0].cells.length - 1 : 0;
  var status = document.createElement("p");
  status.className = "rc-sort-status";
  status.setAttribute("aria-live", "polite");
  status.textContent = "Select a column heading to sort the schools by it.";
  table.parentNode.parentNode.insertBefore(status, table.parentNode);

  function number(row, col) {
    var cell = row.cells[col + 1];
    if (!cell || cell.classList.contains("w")) { return null; }
    var v = parseFloat(cell.textContent.replace(/[,%≥≤\s]/g, ""));
    return isNaN(v) ? null : v;
  }
  function name(row) { return row.cells[0].textContent.trim().toLowerCase(); }

  var heads = [];  // [th, column (-1: the school's name), label]
  var last = table.tHead.rows[table.tHead.rows.length - 1];
  var offset = last.cells.length === nCols ? 0 : 1;
  heads.push([table.tHead.rows[0].cells[0], -1]);
  for (var i = offset; i < last.cells.length; i++) { heads.push([last.cells[i], i - offset]); }

  function sort(th, col, button) {
    var now = th.getAttribute("aria-sort");
    // A press sorts a column its usual way (names A to Z, numbers highest first), then back.
    var down = col < 0 ? now === "ascending" : now !== "descending";
    var ordered = rows.slice().sort(function (a, b) {
      if (col < 0) { return (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0) * (down ? -1 : 1); }
      var x = number(a, col), y = number(b, col);
      if (x === null || y === null) { return (x === null) - (y === null) || (name(a) < name(b) ? -1 : 1); }
      return (down ? y - x : x - y) || (name(a) < name(b) ? -1 : 1);
    });
    ordered.forEach(function (r) { body.appendChild(r); });
    heads.forEach(function (h) { h[0].removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", down ? "descending" : "ascending");
    status.textContent = "Sorted by " + button.textContent + ", " +
      (col < 0 ? (down ? "Z to A" : "A to Z") : (down ? "highest first" : "lowest first")) +
      ". Withheld and not reported values are last.";
  }

  heads[0][0].setAttribute("aria-sort", "ascending");  // as built: by name
  heads.forEach(function (h) {
    var th = h[0], col = h[1];
    var button = document.createElement("button");
    button.type = "button";
    button.className = "rc-sort";
    while (th.firstChild) { button.appendChild(th.firstChild); }
    th.appendChild(button);
    button.addEventListener("click", function () { sort(th, col, button); });
  });
})();

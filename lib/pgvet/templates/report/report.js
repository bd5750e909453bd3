/* pgvet report tables: sort by a column, search by a typed word, filter by a column's value, page
   through thousands of rows, and jump to a finding's anchor (#<finding key>). No network, no library. */
(function () {
  "use strict";
  function setup(box) {
    var table = box.querySelector("table"), tbody = table.tBodies[0];
    var rows = Array.prototype.slice.call(tbody.rows), shown = rows, page = 0;
    var size = parseInt(box.getAttribute("data-page-rows"), 10) || 25;
    var search = box.querySelector(".pgvet-search"), count = box.querySelector(".pgvet-count");
    var filters = Array.prototype.slice.call(box.querySelectorAll(".pgvet-filter"));
    var pager = box.querySelector(".pgvet-pager");
    var text = rows.map(function (r) { return r.textContent.toLowerCase(); });
    function cellValue(row, i) {
      var cell = row.cells[i];
      return cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent;
    }
    function collapse() {
      Array.prototype.forEach.call(tbody.querySelectorAll("tr.pgvet-expand"), function (r) { r.parentNode.removeChild(r); });
      Array.prototype.forEach.call(tbody.querySelectorAll("details[open]"), function (d) { d.open = false; });
    }
    function draw() {
      collapse();
      var pages = Math.max(1, Math.ceil(shown.length / size));
      page = Math.min(page, pages - 1);
      rows.forEach(function (r) { r.hidden = true; });
      shown.slice(page * size, page * size + size).forEach(function (r) { r.hidden = false; });
      count.textContent = shown.length === rows.length ? rows.length.toLocaleString() + " rows"
        : shown.length.toLocaleString() + " of " + rows.length.toLocaleString() + " rows";
      pager.innerHTML = "";
      if (pages < 2) return;
      [["« first", 0], ["‹ previous", page - 1], ["page " + (page + 1) + " of " + pages, -1],
       ["next ›", page + 1], ["last »", pages - 1]].forEach(function (b) {
        var el = document.createElement(b[1] < 0 ? "span" : "button");
        el.textContent = b[0];
        if (b[1] >= 0) {
          el.disabled = b[1] === page || b[1] >= pages;
          el.addEventListener("click", function () { page = b[1]; draw(); });
        }
        pager.appendChild(el);
      });
    }
    function apply() {
      var words = search.value.toLowerCase().trim();
      shown = rows.filter(function (r, i) {
        if (words && text[i].indexOf(words) < 0) return false;
        return filters.every(function (f) {
          return !f.value || cellValue(r, +f.getAttribute("data-column")) === f.value;
        });
      });
      page = 0;
      draw();
    }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.addEventListener("click", function () {
        var numeric = th.getAttribute("data-type") === "number";
        var was = th.getAttribute("aria-sort");  /* numbers: largest first; text: A to Z */
        var down = was ? was === "ascending" : numeric;
        Array.prototype.forEach.call(th.parentNode.cells, function (c) { c.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", down ? "descending" : "ascending");
        var order = rows.slice().sort(function (a, b) {
          var x = cellValue(a, i), y = cellValue(b, i);
          var d = numeric ? (parseFloat(x) || 0) - (parseFloat(y) || 0) : x.localeCompare(y, undefined, {numeric: true});
          return down ? -d : d;
        });
        order.forEach(function (r) { tbody.appendChild(r); });
        rows = order;
        text = rows.map(function (r) { return r.textContent.toLowerCase(); });
        apply();
      });
    });
    search.addEventListener("input", apply);
    filters.forEach(function (f) { f.addEventListener("change", apply); });
    box.pgvetShow = function (row) {
      if (shown.indexOf(row) < 0) {
        search.value = "";
        filters.forEach(function (f) { f.value = ""; });
        apply();
      }
      page = Math.floor(shown.indexOf(row) / size);
      draw();
    };
    apply();
  }
  function jump() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (!el) return;
    for (var p = el.parentNode; p; p = p.parentNode) {
      if (p.tagName === "DETAILS") p.open = true;
      if (p.pgvetShow) p.pgvetShow(el);
    }
    Array.prototype.forEach.call(document.querySelectorAll(".pgvet-target"), function (t) {
      t.classList.remove("pgvet-target");
    });
    el.classList.add("pgvet-target");
    el.scrollIntoView({block: "center"});
  }
  function fillDoc(slot) {
    /* a finding's block shows its check's doc and SQL, kept once per check in a <template> */
    var doc = document.getElementById("doc-" + slot.getAttribute("data-check"));
    if (doc && !slot.firstChild) slot.appendChild(doc.content.cloneNode(true));
  }
  document.addEventListener("toggle", function (e) {
    /* in a table, an opened block is shown full width in a row under its finding */
    var d = e.target;
    if (!d.tagName || d.tagName !== "DETAILS") return;
    var cell = d.parentNode, row = cell && cell.parentNode;
    if (!cell || cell.tagName !== "TD") {
      Array.prototype.forEach.call(d.querySelectorAll(".pgvet-doc-slot"), fillDoc);
      return;
    }
    var next = row.nextElementSibling;
    if (next && next.classList.contains("pgvet-expand")) next.parentNode.removeChild(next);
    if (!d.open) return;
    var tr = document.createElement("tr"), td = document.createElement("td");
    tr.className = "pgvet-expand";
    td.colSpan = row.cells.length;
    Array.prototype.forEach.call(d.children, function (c) {
      if (c.tagName !== "SUMMARY") td.appendChild(c.cloneNode(true));
    });
    Array.prototype.forEach.call(td.querySelectorAll(".pgvet-doc-slot"), fillDoc);
    tr.appendChild(td);
    row.parentNode.insertBefore(tr, row.nextSibling);
  }, true);
  function drawCharts() {
    /* plotly.js travels gzipped in the page; unpack it, run it, then each chart's drawing script */
    var packed = document.getElementById("pgvet-plotly");
    var plots = document.querySelectorAll('script[type="text/x-pgvet-plot"]');
    if (!packed || !plots.length) return;
    if (typeof DecompressionStream === "undefined") {
      Array.prototype.forEach.call(plots, function (s) {
        s.insertAdjacentHTML("beforebegin", '<p class="pgvet-note">This browser cannot unpack the charts; ' +
          "open the page in a current Chrome, Edge, Firefox or Safari.</p>");
      });
      return;
    }
    var bytes = Uint8Array.from(atob(packed.textContent), function (c) { return c.charCodeAt(0); });
    new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text().then(function (js) {
      (0, eval)(js);
      Array.prototype.forEach.call(plots, function (s) { (0, eval)(s.textContent); });
    });
  }
  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".pgvet-table"), setup);
    drawCharts();
    jump();
    window.addEventListener("hashchange", jump);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

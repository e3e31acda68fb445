"""The page's stylesheet and its only script (sorting and filtering tables), embedded so that the
report opens offline."""

#: The stylesheet: fits 1280 px and 800 px windows; long tables keep their header row in view.

CSS = """*,*::before,*::after{box-sizing:border-box}
html{font-size:16px;-webkit-text-size-adjust:100%}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",sans-serif;line-height:1.5;color:#1f2328;
 max-width:80rem;margin:0 auto;padding:1.5rem 1.25rem 4rem}
h1{font-size:2rem;line-height:1.2;margin:0 0 .4rem}
h2{font-size:1.45rem;line-height:1.25;margin:2.6rem 0 .6rem;padding-top:.8rem;border-top:1px solid #e1e4e8}
p,li{max-width:50rem}
a{color:#0b57a4}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}
.note{color:#555;font-size:.9rem}
.lede{font-size:1.05rem;color:#444;margin-top:0}
.summary{font-size:1.15rem;font-weight:600}
.verdicts{padding-left:1.2rem}.verdicts li{margin:.35rem 0}
.badge{display:inline-block;font-size:.75rem;font-weight:700;padding:0 .45rem;border-radius:.6rem;margin-right:.3rem;
 vertical-align:.1em}
.badge.ok{background:#d7f0dc;color:#14532d}.badge.differs{background:#fbdada;color:#7f1d1d}
.badge.open{background:#eceff3;color:#374151}
.scroll{overflow-x:auto;max-width:100%;margin:.6rem 0 1.4rem}
.scroll.tall{max-height:34rem;overflow:auto}
thead th{position:sticky;top:0;z-index:1}
figure{margin:1rem 0 1.6rem}figure img{margin:0 0 .3rem}
figcaption{font-size:.9rem;color:#444;max-width:50rem}
.smoke{border-left:4px solid #d97706;background:#fff7ed;padding:.4rem .8rem;max-width:50rem}
table{border-collapse:collapse;font-size:.85rem;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d0d7de;padding:.3rem .55rem;text-align:left;vertical-align:top}
thead th{background:#f3f4f6;font-weight:600;vertical-align:bottom}
tbody tr:nth-child(even){background:#fafbfc}
td{white-space:nowrap}td.num{text-align:right}
td.long{white-space:normal;overflow-wrap:anywhere;min-width:34rem}
caption{text-align:left;padding:.2rem 0}
th[aria-sort]{cursor:pointer;user-select:none}
th[aria-sort]::after{content:" \\2195";color:#9aa0a6;font-weight:400}
th[aria-sort=ascending]::after{content:" \\25B2";color:#1f2328}
th[aria-sort=descending]::after{content:" \\25BC";color:#1f2328}
.filter{display:flex;gap:.6rem;align-items:center;flex-wrap:wrap;margin:.4rem 0 -.2rem;font-size:.85rem;color:#555}
.filter input{font:inherit;padding:.25rem .5rem;border:1px solid #c4c9d0;border-radius:4px;width:min(18rem,100%)}
.heatmap td{text-align:center;min-width:5.4rem;padding:.3rem .25rem;white-space:nowrap}
.heatmap td.na{background:#f3f4f6;color:#888}
tr.few td{color:#6b7280;font-style:italic;background:#f4f5f7}.heatmap td.few{font-style:italic}.heatmap th .few{display:block;font-size:.72rem;font-weight:400;color:#555}
.swatch.few{display:inline-block;width:.9rem;height:.9rem;background:#eceff3;border:1px solid #ccc;
 vertical-align:middle;margin-right:.3rem}
.heatmap .tau{display:block;font-size:1.05rem;font-weight:650}
.heatmap .pub{display:block;font-size:.72rem;line-height:1.25}
.heatmap thead th{min-width:5.4rem}
.heatmap tbody th{text-align:left;white-space:nowrap;vertical-align:middle}
.heatmap tr.own th{font-weight:700}
.legend{font-size:.85rem;color:#444;display:flex;flex-wrap:wrap;gap:.4rem 1.4rem;align-items:center}
.ramp{display:inline-block;width:9rem;height:.8rem;border:1px solid #ccc;vertical-align:middle;margin:0 .3rem}
nav#contents ol{columns:2 17rem;padding-left:1.4rem;margin:.3rem 0}
img{max-width:100%;height:auto;display:block;margin:1rem 0}
.prov{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.78rem;white-space:pre-wrap;
 overflow-wrap:anywhere;background:#f6f8fa;padding:1rem;max-height:32rem;overflow:auto}
@media (max-width:900px){html{font-size:15px}body{padding:1rem .8rem 3rem}h1{font-size:1.7rem}h2{font-size:1.3rem}}"""

#: Sort (click a header; numbers by their full-precision ``data-v``) and filter (a box above each
#: table marked ``filterable``) -- the page's only script, no network.
TABLE_JS = """<script>
(function () {
  function numeric(rows, col) {
    return rows.every(function (r) { var c = r.cells[col]; return !c || c.hasAttribute('data-v'); });
  }
  function sortBy(table, col, th) {
    var body = table.tBodies[0], rows = Array.from(body.rows), num = numeric(rows, col);
    var first = num ? 'descending' : 'ascending', other = num ? 'ascending' : 'descending';
    var dir = th.getAttribute('aria-sort') === first ? other : first, sign = dir === 'ascending' ? 1 : -1;
    rows.sort(function (a, b) {
      var x = a.cells[col], y = b.cells[col];
      if (!x || !y) return 0;
      if (num) {
        var p = parseFloat(x.getAttribute('data-v')), q = parseFloat(y.getAttribute('data-v'));
        if (isNaN(p)) return isNaN(q) ? 0 : 1;
        if (isNaN(q)) return -1;
        return sign * (p - q);
      }
      return sign * x.textContent.localeCompare(y.textContent, undefined, {numeric: true});
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.from(th.parentNode.cells).forEach(function (h) { h.setAttribute('aria-sort', 'none'); });
    th.setAttribute('aria-sort', dir);
  }
  function filter(table, input, count) {
    var terms = input.value.toLowerCase().split(/\\s+/).filter(Boolean), shown = 0, rows = table.tBodies[0].rows;
    Array.from(rows).forEach(function (r) {
      var text = r.textContent.toLowerCase();
      r.hidden = !terms.every(function (t) { return text.indexOf(t) >= 0; });
      if (!r.hidden) shown++;
    });
    count.textContent = terms.length ? shown + ' of ' + rows.length + ' rows' : rows.length + ' rows';
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    if (!table.tHead || !table.tBodies.length) return;
    var heads = table.tHead.rows[table.tHead.rows.length - 1].cells;
    Array.from(heads).forEach(function (th, col) {
      th.setAttribute('aria-sort', 'none');
      th.tabIndex = 0;
      th.addEventListener('click', function () { sortBy(table, col, th); });
      th.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortBy(table, col, th); }
      });
    });
    if (table.classList.contains('filterable')) {
      var box = document.createElement('div'), input = document.createElement('input'),
          count = document.createElement('span');
      box.className = 'filter';
      input.type = 'search';
      input.placeholder = 'filter rows (all words must match)';
      input.setAttribute('aria-label', 'filter the rows of the table below');
      box.appendChild(input);
      box.appendChild(count);
      var anchor = table.parentNode.classList.contains('scroll') ? table.parentNode : table;
      anchor.parentNode.insertBefore(box, anchor);
      input.addEventListener('input', function () { filter(table, input, count); });
      filter(table, input, count);
    }
  });
})();
</script>"""

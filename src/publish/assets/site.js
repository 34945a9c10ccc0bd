// suiji public pages: result filters and the verify buttons. The pages read fine without it.
(function () {
  "use strict";
  function $(id) { return document.getElementById(id); }
  // What a search compares: NFKC folds full-width letters and digits (ＡＢＣ, １２３) and
  // compatibility forms into what the pages show, so a query typed either way finds the row.
  function fold(t) { return (t.normalize ? t.normalize("NFKC") : t).toLowerCase(); }
  function texts(rows) { return rows.map(function (row) { return fold(row.textContent); }); }

  // Results: filter by division, city and outcome; search by any text in the row.
  var table = $("results");
  if (table) {
    var selects = Array.prototype.slice.call(document.querySelectorAll("select[data-filter]"));
    var search = $("f-search");
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var folded = texts(rows);
    var apply = function () {
      var q = fold((search.value || "").trim());
      var shown = 0;
      rows.forEach(function (row, i) {
        var ok = selects.every(function (s) {
          return !s.value || row.getAttribute("data-" + s.getAttribute("data-filter")) === s.value;
        });
        if (ok && q) ok = folded[i].indexOf(q) >= 0;
        row.hidden = !ok;
        if (ok) shown += 1;
      });
      $("f-count").textContent = "显示 " + shown + " / " + rows.length + " 项";
      $("f-empty").hidden = shown > 0;
    };
    selects.forEach(function (s) { s.addEventListener("change", apply); });
    search.addEventListener("input", apply);
    apply();
  }

  // Directories: search a long table by any text in its rows.
  var dsearch = $("d-search");
  if (dsearch) {
    var dtable = $(dsearch.getAttribute("data-table"));
    var drows = Array.prototype.slice.call(dtable.tBodies[0].rows);
    var dtexts = texts(drows);
    var dapply = function () {
      var q = fold((dsearch.value || "").trim());
      var shown = 0;
      drows.forEach(function (row, i) {
        row.hidden = !!q && dtexts[i].indexOf(q) < 0;
        if (!row.hidden) shown += 1;
      });
      $("d-count").textContent = "显示 " + shown + " / " + drows.length + " 项";
    };
    dsearch.addEventListener("input", dapply);
    dapply();
  }

  // Verify: recompute a draw from its published files, in this browser.
  var out = $("verify-output");
  if (out && window.SuijiVerify) {
    Array.prototype.forEach.call(document.querySelectorAll(".verify-button"), function (b) {
      b.addEventListener("click", function () {
        window.SuijiVerify.run(out, b.getAttribute("data-manifest"), b.getAttribute("data-draw"));
      });
    });
    var pick = $("verify-files");
    if (pick) {
      pick.addEventListener("click", function () {
        var m = $("manifest-file").files[0], d = $("draw-file").files[0];
        if (!m || !d) { out.textContent = "请先选择输入文件（manifest）和结果文件（draw）。"; return; }
        window.SuijiVerify.runFiles(out, m, d);
      });
    }
  }
})();

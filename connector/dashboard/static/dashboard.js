// Draws the overview's charts from the JSON the page embeds, and makes tables sortable.
(function () {
  "use strict";
  var COLORS = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2"];

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas || typeof Chart === "undefined") { return; }
    config.options = Object.assign({ animation: false, maintainAspectRatio: false }, config.options || {});
    canvas.chart = new Chart(canvas, config);
    canvas.setAttribute("data-drawn", "1");
  }

  function charts(data) {
    var pools = data.pools;
    draw("chart-pools", {
      type: "bar",
      data: {
        labels: pools.names,
        datasets: pools.buckets.map(function (label, i) {
          return { label: label, data: pools.ages[label], backgroundColor: COLORS[i % COLORS.length] };
        })
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true,
        title: { display: true, text: "leads waiting" } } } }
    });
    ["assignment", "claim", "contact"].forEach(function (name) {
      var days = data.speed[name] || [];
      draw("chart-speed-" + name, {
        type: "line",
        data: {
          labels: days.map(function (d) { return d.day; }),
          datasets: [
            { label: "p50", data: days.map(function (d) { return d.p50; }), borderColor: COLORS[0], backgroundColor: COLORS[0] },
            { label: "p90", data: days.map(function (d) { return d.p90; }), borderColor: COLORS[3], backgroundColor: COLORS[3] }
          ]
        },
        options: { scales: { y: { beginAtZero: true, title: { display: true, text: "minutes" } } } }
      });
    });
    var reps = data.reps;
    draw("chart-reps", {
      type: "bar",
      data: {
        labels: reps.names,
        datasets: [
          { label: "pushes", data: reps.pushes, backgroundColor: COLORS[0] },
          { label: "claims", data: reps.claims, backgroundColor: COLORS[1] },
          { label: "escalations", data: reps.escalations, backgroundColor: COLORS[2] }
        ]
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
    });
    var sources = data.sources;
    draw("chart-sources", {
      type: "bar",
      data: {
        labels: sources.map(function (s) { return s.source; }),
        datasets: [
          { label: "conversion %", yAxisID: "y", backgroundColor: COLORS[1],
            data: sources.map(function (s) { return s.conversion === null ? null : 100 * s.conversion; }) },
          { label: "contact p50 (min)", yAxisID: "y1", backgroundColor: COLORS[4],
            data: sources.map(function (s) { return s.contact_p50; }) }
        ]
      },
      options: { scales: { y: { beginAtZero: true, position: "left" },
        y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } } } }
    });
  }

  function sortable(table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, col) {
      th.addEventListener("click", function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var descending = th.getAttribute("data-order") !== "desc";
        var text = th.getAttribute("data-type") === "text";
        heads.forEach(function (h) { h.removeAttribute("data-order"); });
        th.setAttribute("data-order", descending ? "desc" : "asc");
        function key(row) {
          var cell = row.cells[col];
          var raw = cell.getAttribute("data-sort") || cell.textContent.trim();
          return text ? raw.toLowerCase() : parseFloat(raw) || 0;
        }
        rows.sort(function (a, b) {
          var ka = key(a), kb = key(b);
          var order = ka < kb ? -1 : ka > kb ? 1 : 0;
          return descending ? -order : order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var holder = document.getElementById("chart-data");
    if (holder) { charts(JSON.parse(holder.textContent)); }
    document.querySelectorAll("table.sortable").forEach(sortable);
    document.body.setAttribute("data-ready", "1");
  });
})();

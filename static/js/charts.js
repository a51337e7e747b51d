// Draws Chart.js charts from data-chart attributes (never from inline script, which the CSP forbids).
// The server already rendered an SVG and a table for each chart: this only enhances them. Each series
// gets its own dash pattern and point style, and the legend names every series, so the charts read
// without colour.
(function () {
  "use strict";
  var COLORS = ["#8b0000", "#c0392b", "#b7791f", "#2f6f4f", "#4a5568", "#1f5fbf", "#6b46c1", "#2c7a7b"];
  var DASHES = [[], [8, 4], [2, 3], [10, 3, 2, 3], [1, 5], [12, 6], [4, 2, 1, 2], [6, 6]];
  var POINTS = ["circle", "rect", "triangle", "rectRot", "cross", "star", "crossRot", "line"];

  function draw(box) {
    if (box.getAttribute("data-drawn") === "1" || typeof window.Chart === "undefined") {
      return;
    }
    var spec;
    try {
      spec = JSON.parse(box.getAttribute("data-chart"));
    } catch (err) {
      return;
    }
    var isBar = spec.kind === "bar";
    var datasets = spec.datasets.map(function (ds, i) {
      var color = COLORS[i % COLORS.length];
      return {
        label: ds.label,
        data: ds.data,
        borderColor: color,
        backgroundColor: isBar ? color : color,
        borderDash: isBar ? [] : DASHES[i % DASHES.length],
        pointStyle: POINTS[i % POINTS.length],
        pointRadius: isBar ? 0 : 3,
        borderWidth: 2,
        fill: false,
        tension: 0
      };
    });
    var canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", spec.title);
    box.appendChild(canvas);
    box.classList.add("enhanced");
    box.setAttribute("data-drawn", "1");
    new window.Chart(canvas, {
      type: isBar ? "bar" : "line",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          title: { display: true, text: spec.title },
          legend: { position: "right", labels: { usePointStyle: true } }
        },
        scales: { y: { beginAtZero: true } }
      }
    });
  }

  function drawAll(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  // Fragments swapped in by htmx (dashboard window switch) bring new charts.
  document.addEventListener("htmx:afterSettle", function (event) { drawAll(event.target); });
})();

// Draws each chart of the analytics page from the JSON embedded beside it (no network, no
// eval). Numbers read the way the page's language writes them: lakh grouping, रु / Rs,
// Devanagari digits for Nepali. Without this script the tables below each chart show the same.
(function () {
  "use strict";
  var DEVANAGARI = "०१२३४५६७८९";

  function digits(text, lang) {
    if (lang !== "ne") return text;
    return String(text).replace(/[0-9]/g, function (d) { return DEVANAGARI[+d]; });
  }

  function number(value, lang) {
    if (value === null || value === undefined) return "—";
    return digits(new Intl.NumberFormat("en-IN", { maximumFractionDigits: 1 }).format(value), lang);
  }

  // Axis ticks stay short on a phone: 1.5 lakh, 2 crore (tooltips give the whole amount).
  var UNITS = { en: [[1e7, " cr"], [1e5, " lakh"], [1e3, "k"]],
                ne: [[1e7, " करोड"], [1e5, " लाख"], [1e3, " हजार"]] };

  function compact(v, lang) {
    var units = UNITS[lang] || UNITS.en;
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(v) >= units[i][0]) return number(v / units[i][0], lang) + units[i][1];
    }
    return number(v, lang);
  }

  function formatter(axis, lang, short) {
    if (axis === "money") {
      var rupee = lang === "ne" ? "रु " : "Rs ";
      return function (v) { return rupee + (short ? compact(v, lang) : number(Math.round(v), lang)); };
    }
    if (axis === "percent") return function (v) { return number(v, lang) + "%"; };
    return function (v) { return number(v, lang); };
  }

  var COLOURS = ["#0b6e4f", "#c77d0a", "#3a6ea5", "#a4262c"];

  function draw(section) {
    var holder = section.querySelector(".canvas");
    var data = section.querySelector("script.chart-data");
    if (!holder || !data || typeof Chart === "undefined") return;
    var spec = JSON.parse(data.textContent);
    var lang = section.getAttribute("data-lang") || "en";
    var horizontal = spec.kind === "hbar";
    if (horizontal) holder.style.height = (3 + spec.labels.length * 2.1) + "rem";
    var scales = {};
    var used = {};
    var datasets = spec.datasets.map(function (d, i) {
      var axis = d.axis === "money" && spec.datasets.length > 1 ? "y1" : (horizontal ? "x" : "y");
      used[axis] = d.axis;
      return {
        label: d.label, data: d.data, type: d.type || (spec.kind === "line" ? "line" : "bar"),
        backgroundColor: COLOURS[i % COLOURS.length], borderColor: COLOURS[i % COLOURS.length],
        borderWidth: d.type === "line" || spec.kind === "line" ? 2 : 0, pointRadius: 2,
        spanGaps: true, tension: 0.2, xAxisID: horizontal ? "x" : undefined,
        yAxisID: horizontal ? undefined : axis, order: d.type === "line" ? 0 : 1
      };
    });
    Object.keys(used).forEach(function (axis) {
      scales[axis] = {
        beginAtZero: true, position: axis === "y1" ? "right" : undefined,
        grid: { drawOnChartArea: axis !== "y1" },
        ticks: { callback: formatter(used[axis], lang, true), maxTicksLimit: horizontal ? 4 : 6 }
      };
      if (used[axis] === "percent") { scales[axis].max = 100; }
    });
    var category = horizontal ? "y" : "x";
    var few = spec.labels.length <= 8;  // a few categories: every label shown, wrapped
    scales[category] = { ticks: { autoSkip: !few && !horizontal, maxRotation: 0,
                                  maxTicksLimit: horizontal || few ? 50 : (lang === "ne" ? 5 : 7) },
                         grid: { display: false } };
    var labels = few && !horizontal ? spec.labels.map(function (l) {
      return String(l).split(" ");
    }) : spec.labels;
    new Chart(holder.querySelector("canvas"), {
      type: horizontal ? "bar" : (spec.kind === "line" ? "line" : "bar"),
      data: { labels: labels, datasets: datasets },
      options: {
        indexAxis: horizontal ? "y" : "x", responsive: true, maintainAspectRatio: false,
        animation: false, scales: scales,
        plugins: {
          legend: { display: datasets.length > 1, position: "bottom" },
          tooltip: { callbacks: { label: function (item) {
            var axis = spec.datasets[item.datasetIndex].axis;
            return item.dataset.label + ": " + formatter(axis, lang)(item.raw);
          } } }
        }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("section.chart"), draw);
  });
})();

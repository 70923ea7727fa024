/* sidequest dashboard: the jobs-over-time chart (SVG), bulk selection and confirmations.
   No inline scripts anywhere (CSP default-src 'self'); data arrives in data-* attributes. */
(function () {
  "use strict";

  var NS = "http://www.w3.org/2000/svg";
  var SERIES = ["completed", "failed", "canceled", "running", "waiting"];
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function svg(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (key) { node.setAttribute(key, String(attrs[key])); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function label(iso, unit) {
    var d = new Date(iso);
    if (unit === "day") { return MONTHS[d.getUTCMonth()] + " " + d.getUTCDate(); }
    return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }

  function niceStep(max, ticks) {
    var raw = Math.max(max / ticks, 1);
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) {
      var step = steps[i] * mag;
      if (step >= raw && Number.isInteger(step)) { return step; }
    }
    return 10 * mag;
  }

  function drawChart(box) {
    var data;
    try { data = JSON.parse(box.getAttribute("data-chart") || "{}"); } catch (e) { return; }
    var at = data.at || [];
    var series = data.series || {};
    var width = box.clientWidth;
    var height = box.clientHeight;
    if (!width || !height || !at.length) { return; }
    var left = 40, right = 8, top = 10, bottom = 24;
    var plotW = width - left - right;
    var plotH = height - top - bottom;
    var totals = at.map(function (_, i) {
      return SERIES.reduce(function (sum, name) { return sum + ((series[name] || [])[i] || 0); }, 0);
    });
    var ticks = 4;
    var step = niceStep(Math.max.apply(null, totals.concat([1])), ticks);
    var max = step * ticks;
    var root = svg("svg", { viewBox: "0 0 " + width + " " + height, width: width, height: height, "aria-hidden": "true", focusable: "false" });

    for (var t = 0; t <= ticks; t++) {
      var y = top + plotH - (plotH * t) / ticks;
      svg("line", { x1: left, x2: width - right, y1: y, y2: y, "class": "grid-line" }, root);
      var yl = svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", "class": "axis-label" }, root);
      yl.textContent = String(step * t);
    }

    var slot = plotW / at.length;
    var barW = Math.max(1, Math.min(slot * 0.72, 28));
    var every = Math.max(1, Math.ceil(at.length / Math.max(2, Math.floor(plotW / 64))));
    at.forEach(function (iso, i) {
      var x = left + i * slot + (slot - barW) / 2;
      var base = top + plotH;
      var parts = [];
      SERIES.forEach(function (name) {
        var value = (series[name] || [])[i] || 0;
        if (!value) { return; }
        var h = (plotH * value) / max;
        base -= h;
        svg("rect", { x: x, y: base, width: barW, height: Math.max(h, 0.5), "class": "bar-" + name }, root);
        parts.push(name + " " + value);
      });
      var band = svg("rect", { x: left + i * slot, y: top, width: slot, height: plotH, "class": "hover-band" }, root);
      var tip = svg("title", {}, band);
      tip.textContent = label(iso, data.unit) + " UTC — " + (parts.length ? parts.join(", ") : "no jobs");
      if (i % every === 0) {
        var xl = svg("text", { x: left + i * slot + slot / 2, y: height - 6, "text-anchor": "middle", "class": "axis-label" }, root);
        xl.textContent = label(iso, data.unit);
      }
    });
    box.replaceChildren(root);
  }

  function drawCharts(scope) {
    var boxes = (scope || document).querySelectorAll ? (scope || document).querySelectorAll("[data-chart]") : [];
    Array.prototype.forEach.call(boxes, drawChart);
    if (scope && scope.matches && scope.matches("[data-chart]")) { drawChart(scope); }
  }

  function updateSelection(form) {
    var boxes = form.querySelectorAll('input[type="checkbox"][name="ids"]');
    var chosen = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
    var counter = form.querySelector("[data-selected-count]");
    if (counter) { counter.textContent = chosen + " selected"; }
    Array.prototype.forEach.call(form.querySelectorAll("[data-needs-selection]"), function (button) {
      button.disabled = chosen === 0;
    });
    var all = form.querySelector("[data-select-all]");
    if (all) {
      all.checked = chosen > 0 && chosen === boxes.length;
      all.indeterminate = chosen > 0 && chosen < boxes.length;
    }
  }

  function init(scope) {
    drawCharts(scope);
    Array.prototype.forEach.call(document.querySelectorAll("form.bulk"), updateSelection);
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLElement)) { return; }
    var form = target.closest("form");
    if (!form) { return; }
    if (target.hasAttribute("data-select-all")) {
      var on = target.checked;
      Array.prototype.forEach.call(form.querySelectorAll('input[type="checkbox"][name="ids"]'), function (b) { b.checked = on; });
    }
    if (form.classList.contains("bulk")) { updateSelection(form); }
    if (form.hasAttribute("data-autosubmit") && target.tagName === "SELECT") { form.requestSubmit(); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { drawCharts(document); }, 150);
  });

  document.addEventListener("htmx:load", function (event) { init(event.detail && event.detail.elt); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
})();

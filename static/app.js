// jkjav's small enhancements on top of htmx. Everything works without this file.
(function () {
  "use strict";

  // After htmx swaps a page in: move focus to what changed (an error summary, a confirmation,
  // or the heading) and announce the new page title to screen readers.
  function focusSwapped(target) {
    var el = target.querySelector(".error-summary, [data-focus]") || target.querySelector("h1");
    if (!el) { return; }
    if (!el.hasAttribute("tabindex")) { el.setAttribute("tabindex", "-1"); }
    el.focus({ preventScroll: false });
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "page") { return; }
    focusSwapped(target);
    var announcer = document.getElementById("announcer");
    if (announcer) {
      announcer.textContent = "";
      window.setTimeout(function () { announcer.textContent = document.title; }, 50);
    }
  });

  // The countdown on the home page: the server renders it; this keeps it ticking.
  function tick() {
    var el = document.getElementById("countdown");
    if (!el) { return; }
    var opensAt = Date.parse(el.getAttribute("data-opens-at"));
    var units = (el.getAttribute("data-units") || "").split(",");
    if (isNaN(opensAt) || units.length !== 4) { return; }
    var left = Math.max(0, Math.floor((opensAt - Date.now()) / 1000));
    if (left === 0) { window.location.reload(); return; }
    var parts = [Math.floor(left / 86400), Math.floor(left % 86400 / 3600), Math.floor(left % 3600 / 60), left % 60];
    var shown = [];
    for (var i = 0; i < 4 && shown.length < 2; i++) {
      if (parts[i] > 0 || shown.length > 0) { shown.push(parts[i] + " " + units[i]); }
    }
    el.textContent = shown.length ? shown.join(" ") : "0 " + units[3];
  }
  window.setInterval(tick, 1000);
})();

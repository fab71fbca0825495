// Reloads a page that follows running work every few seconds (body[data-refresh]), until the
// visitor stops it (WCAG 2.2.1: timing adjustable). Replaces <meta http-equiv="refresh">.
(function () {
  "use strict";
  var seconds = Number(document.body.getAttribute("data-refresh"));
  if (!seconds) { return; }
  var timer = window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
  var stop = document.querySelector("[data-refresh-stop]");
  if (stop) {
    stop.addEventListener("click", function () {
      window.clearTimeout(timer);
      stop.disabled = true;
    });
  }
}());

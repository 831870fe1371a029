// depotd console: live views over server-sent events. The server renders every view; this
// only swaps the HTML it sends into the element that asked for it. No inline script is
// allowed by the Content-Security-Policy, so everything lives here.
"use strict";
(function () {
  function live(el) {
    var url = el.getAttribute("data-sse");
    var es = new EventSource(url);
    es.addEventListener("live", function (ev) {
      el.innerHTML = ev.data;
      el.setAttribute("data-updated", String(Date.now()));
      document.body.classList.remove("stale");
    });
    es.onerror = function () {
      // EventSource reconnects by itself (retry: 2000); show that the view may be stale.
      document.body.classList.add("stale");
    };
  }
  document.addEventListener("DOMContentLoaded", function () {
    var els = document.querySelectorAll("[data-sse]");
    for (var i = 0; i < els.length; i++) live(els[i]);
    var scan = document.getElementById("scan");
    if (scan) scan.focus();
  });
})();

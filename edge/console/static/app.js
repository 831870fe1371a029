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
  // poll refreshes a small fragment every few seconds (the outage banner on every page):
  // no connection is held, so many open tabs cannot exhaust the browser's connections.
  function poll(el) {
    var url = el.getAttribute("data-poll");
    setInterval(function () {
      fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (html !== null && html !== el.innerHTML) el.innerHTML = html;
      }).catch(function () {});
    }, 5000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var els = document.querySelectorAll("[data-sse]");
    for (var i = 0; i < els.length; i++) live(els[i]);
    var polled = document.querySelectorAll("[data-poll]");
    for (var k = 0; k < polled.length; k++) poll(polled[k]);
    var scan = document.getElementById("scan");
    if (scan) scan.focus();
  });
})();

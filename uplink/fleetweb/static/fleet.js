// depotd fleet page: draws the live view the server streams (GET /events, event "fleet"),
// sorts and filters it in the browser; charts are server-side SVG images reloaded each
// minute and when the selected depot changes.
(function () {
  "use strict";
  var body = document.querySelector("#fleet tbody");
  var heads = document.querySelectorAll("#fleet th[data-key]");
  var filter = document.getElementById("filter");
  var tierSel = document.getElementById("tier");
  var count = document.getElementById("count");
  var live = document.getElementById("live");
  var totals = document.getElementById("totals");
  var fleetChart = document.getElementById("fleetchart");
  var depotFig = document.getElementById("depotfig");
  var depotChart = document.getElementById("depotchart");
  var view = null, sortKey = "rank", sortDir = 1, selected = "";

  function secs(s) {
    if (s === undefined || s === null) return "–";
    s = Math.round(s);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
    return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
  }
  function num(n) { return n === undefined || n === null ? "–" : String(n); }
  function value(r, k) {
    if (k === "online") return r.online ? 1 : 0;
    if (k === "oldest_pending_s") return r.backlog ? (r.oldest_pending_s || 0) : 0;
    var v = r[k];
    return v === undefined || v === null ? -1 : v;
  }
  function matches(r) {
    var q = filter.value.trim().toLowerCase();
    if (q && r.depot.toLowerCase().indexOf(q) < 0 && String(r.version || "").toLowerCase().indexOf(q) < 0) return false;
    var t = tierSel.value;
    if (t === "problems") return r.tier !== "ok" && r.tier !== "busy";
    return !t || r.tier === t;
  }
  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }
  function draw() {
    if (!view) return;
    var rows = view.rows.filter(matches);
    rows.sort(function (a, b) {
      var x = value(a, sortKey), y = value(b, sortKey);
      if (x < y) return -sortDir;
      if (x > y) return sortDir;
      return a.rank - b.rank;
    });
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.dataset.depot = r.depot;
      tr.dataset.tier = r.tier;
      if (r.depot === selected) tr.className = "sel";
      var t = cell(tr, "");
      var badge = document.createElement("span");
      badge.className = "tier t-" + r.tier;
      badge.textContent = r.tier;
      t.appendChild(badge);
      cell(tr, r.depot, "depot");
      cell(tr, r.online ? "yes" : (r.stale ? "stale" : "no"), "online");
      cell(tr, num(r.backlog), "num backlog");
      cell(tr, r.backlog ? secs(r.oldest_pending_s) : "–", "num");
      cell(tr, secs(r.erp_lag_s), "num");
      cell(tr, num(r.open_exceptions), "num");
      cell(tr, num(r.open_rejections), "num");
      cell(tr, num(r.devices_down), "num");
      cell(tr, secs(r.seen_ago_s) + " ago", "num");
      frag.appendChild(tr);
    });
    body.replaceChildren(frag);
    count.textContent = rows.length + " of " + view.rows.length + " depots";
    var t = view.totals;
    totals.textContent = t.depots + " depots · " + t.online + " online · " + t.offline + " offline · backlog " + t.backlog +
      " · worst ERP lag " + secs(t.max_lag_s) + " · rejections " + t.rejections + " · devices down " + t.devices_down;
  }
  heads.forEach(function (th) {
    th.querySelector("button").addEventListener("click", function () {
      var k = th.dataset.key;
      // Figures sort largest first on the first click; names and rank ascending.
      if (sortKey === k) sortDir = -sortDir; else { sortKey = k; sortDir = (k === "rank" || k === "depot") ? 1 : -1; }
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", sortDir === 1 ? "ascending" : "descending");
      draw();
    });
  });
  filter.addEventListener("input", draw);
  tierSel.addEventListener("change", draw);
  body.addEventListener("click", function (ev) {
    var tr = ev.target.closest("tr");
    if (!tr) return;
    selected = tr.dataset.depot;
    depotFig.hidden = false;
    depotChart.alt = selected + " backlog and ERP lag, last 24 h";
    document.getElementById("depotcaption").textContent = selected + ": select another row to see its chart.";
    reloadCharts();
    draw();
  });
  function reloadCharts() {
    var t = "&t=" + Date.now();
    fleetChart.src = "/chart.svg?" + t.slice(1);
    if (selected) depotChart.src = "/chart.svg?depot=" + encodeURIComponent(selected) + t;
  }
  setInterval(reloadCharts, 60000);
  var es = new EventSource("/events");
  es.addEventListener("fleet", function (ev) {
    view = JSON.parse(ev.data);
    document.body.classList.remove("stale");
    live.textContent = "Live · updated " + new Date(view.now).toLocaleTimeString();
    document.body.dataset.updated = String(Date.now());
    draw();
  });
  es.onerror = function () {
    // EventSource reconnects by itself (retry: 2000); say the view may be old meanwhile.
    document.body.classList.add("stale");
    live.textContent = "Reconnecting…";
  };
})();

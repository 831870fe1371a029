// Package console serves depotd's JSON API, its web console and /metrics with fiber v2.
// It imports edge only; what other parts produce (uplink state, devices, stations, test
// scans) reaches it through small interfaces it owns (sources.go), nil meaning "not
// configured".
//
// # Contract
//
// Every /api/v1 route needs a bearer token from console.api_tokens; every console page
// needs a session from a login (console.users: name + password, or badge + PIN, hashed with
// bcrypt or argon2id). Roles (operator < supervisor < admin) are enforced per route and per
// action: operators cannot post adjustments or scrap, nor resolve exceptions. Sessions are
// server-side (fiber's session middleware, in memory: a restart logs everyone out), their
// cookie HttpOnly, SameSite=Strict and Secure under TLS. Every form carries a CSRF token
// (fiber's csrf middleware, bound to the session). Failed logins are rate-limited per
// client address. Every answer carries a Content-Security-Policy without inline script or
// style and with frame-ancestors 'none'. No page or API answer contains a token, password
// or hash: the settings page masks every secret.
//
// Pages are html/template files and the CSS and JavaScript are files, all embedded with
// go:embed: the console works with no internet. Live views (dashboard, station screens)
// are server-sent event streams of server-rendered HTML, rendered at most once a second per
// client (the commits, station changes and heartbeats of a second are coalesced into one
// render of the newest state; a station's own screen answers its scans at once); they end
// when the client leaves or Serve stops.
//
// /metrics answers in the Prometheus text format without login when
// console.metrics_public is true (the default) and otherwise needs an API token (401,
// never a redirect).
//
// # Concurrency and durability
//
// Handlers copy what they keep from the fiber context (fiber reuses its buffers after a
// handler returns) and never hold a bbolt read transaction beyond one call into the
// journal; journal pages read a bounded number of entries (edge.Journal.Query). The
// console writes only through the journal (Commit, ResolveException, RaiseException), so
// the journal's durability contract covers everything it does. Serve owns the backlog
// sampler and the event streams and stops them before it returns.
//
// Transactions posted through the API or the console are checked against the depot's one
// master-data view (edge.MasterView: the config's merged with the ERP's), as stations'
// are: a known item without the lot, serial or expiry its tracking needs is refused (422,
// naming the item and what is missing); an item the master data does not know is
// committed (the depot must not stop on stale master data) and raises an unknown_item
// exception, in the transaction's own commit. A supervisor reverses a transaction from
// its page: the post form opens with the opposite movement filled in, under the id
// reversal-of-<seq>, and posts only when confirmed.
//
// The Today page (and GET /api/v1/today) is the depot's daily exception board (package
// daily): negative stock, receipts overdue against the ERP's open documents, stock in
// transit longer than console.in_transit_lead_time, reservations above on-hand, each
// with the role that acts and links to act: the post form pre-filled (?doc=REF fills a
// known document's kind, ref and open lines; ?item= with qty, lot, from, to, state and
// to_state fills one line), the stock page, the journal entry, the ERP document (the
// Documents page: the open ERP documents as last received, ?ref= for one). It is built per request, off
// the commit path, by one scan of the journal. The station screen shows, for a document
// against a known ERP document, each expected item as scanned/expected, marked short,
// complete or over, and the items the document does not name flagged.
//
// Errors are answered as {"error": ..., "field": ...} by the API and as messages on the
// form by the console, without internal details; the details go to the log.
//
// # Performance
//
// Journal pages page by seq, newest first, through edge.Journal.Query, which reads at most
// 5,000 entries per view (the page then offers to search further); stock pages page by
// ledger key through edge.Journal.StockQuery. BenchmarkPages measures every page on
// 1,000,000 journal entries and 50,000 stock rows.
package console

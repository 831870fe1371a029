// Package fleetweb is the fleet page of central ops: every depot's retained status (see
// uplink/PROTOCOL.md "P status") on one live web page, served by `depotd fleet --listen`
// or by `depotd erp` (a fleet section in erp.yaml).
//
// # Contract
//
// The page lists every depot with its online state (the session rule of PROTOCOL.md, and a
// depot silent for 3× its status interval counts as offline: a depot that died with its
// NATS node leaves no Will), backlog, oldest pending, ERP lag, open exceptions and
// rejections, devices down and last seen, worst first (offline, then late: something has
// waited 5 min or more, then attention: rejections or devices down, then busy, then ok).
// The browser sorts and filters; the server streams the ranked view as server-sent events
// (GET /events, event "fleet", JSON) on every change, at most once a second, and every 5 s.
// Charts of backlog and ERP lag over the last 24 h, per depot and for the fleet (total
// backlog, worst lag), are server-side SVG like the depot console's.
//
// The conventions are the depot console's: a login (a name and a password hash of `depotd
// user hash-password`, bcrypt or argon2id), sessions in HttpOnly SameSite=Strict cookies,
// a double-submit CSRF token on the login form, failed logins limited per address, a CSP
// header with no inline script or style, no external assets (script and style embedded).
// The page only shows, so every role (viewer, operator, supervisor, admin) may read it.
//
// Why not edge/console's own login: that package is the depot's console (it imports the
// journal and the stations' views), and uplink must not reach into it. The hash check is
// shared all the same: cmd/depotd passes console.VerifyPassword as Options.Verify, so the
// two pages accept exactly the same hashes.
//
// # Durability
//
// None: the history is in memory, a bounded ring per depot (one sample per minute, the
// largest backlog and lag of the minute, 24 h: about 40 KiB per depot) and one for the
// fleet. A restart starts the charts again; the depots' journals are the truth.
//
// # Concurrency
//
// Update may be called from any goroutine (the MQTT client's); Serve owns the HTTP server
// and a sampling ticker and returns when its context ends, after the live streams ended.
package fleetweb

// Package odoo is the ERP end of the uplink for Odoo 19: a small client for Odoo's JSON-2
// API and, on top of it, what `depotd erp setup` and the connector need (the version
// check, the settings and locations posting relies on, and the server action that posts a
// depot transaction exactly once).
//
// # Client
//
// Client.Call is POST {url}/json/2/{model}/{method} with named arguments, a bearer API
// key and X-Odoo-Database. Odoo runs each call in its own database transaction, retrying
// serialization failures itself up to five times, so a call either committed whole or
// not at all; only a call that got no answer (ErrUnavailable) has an unknown outcome.
// Every error is an *Error carrying the HTTP status, Odoo's exception name and message,
// and one kind from errors.go that says whether retrying can help (Retryable): 401
// (ErrUnauthorized), 403 (ErrForbidden), 404 (ErrNotFound) and 422/400 (ErrRefused) are
// not worth retrying; 5xx (ErrServer), 409/429 (ErrConflict) and no answer
// (ErrUnavailable) are. Odoo's traceback is kept in Error.Debug for logs and never put in
// Error().
//
// # Quantities
//
// Quantities are exact decimals (shopspring/decimal) on our side and travel to Odoo as
// JSON strings, which Odoo's float fields accept. Odoo stores floats rounded to the
// field's digits and does so silently (tested: a 2-digit field turns "1.125" into 1.13),
// so a value with more decimals than Odoo keeps must be refused before it is sent, never
// rounded by Odoo. Answers are decoded with json.Number, so what Odoo wrote is read back
// digit for digit.
//
// # Concurrency
//
// A Client is safe for concurrent use; it holds no state beyond its configuration.
package odoo

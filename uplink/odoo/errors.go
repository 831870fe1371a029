package odoo

import "errors"

// Sentinel errors. Every error a Client returns is an *Error that matches exactly one of
// the kinds below but ErrNotImplemented with errors.Is; the HTTP status and Odoo's
// exception name stay on the *Error.
var (
	// ErrUnauthorized is HTTP 401: the API key is wrong, expired or revoked, or the
	// database named in X-Odoo-Database does not accept it. Not retryable: fix the config.
	ErrUnauthorized = errors.New("odoo: unauthorized (API key or database)")
	// ErrForbidden is HTTP 403: the key's user lacks the access right
	// (odoo.exceptions.AccessError), or the method is private. Not retryable.
	ErrForbidden = errors.New("odoo: forbidden")
	// ErrNotFound is HTTP 404: unknown model or method (a module is missing) or a record
	// that no longer exists (odoo.exceptions.MissingError). Not retryable.
	ErrNotFound = errors.New("odoo: not found")
	// ErrRefused is HTTP 422 (and 400): Odoo refused the request or its data
	// (odoo.exceptions.UserError, ValidationError, bad arguments). Not retryable: the same
	// request gets the same answer. For a posting it is the data's fault.
	ErrRefused = errors.New("odoo: refused")
	// ErrConflict is HTTP 409 (odoo.exceptions.LockError) or 429: someone else holds what
	// the call needs. Retryable.
	ErrConflict = errors.New("odoo: conflict")
	// ErrServer is HTTP 500 and other 5xx answered by Odoo itself: an unexpected exception
	// inside Odoo, including a serialization failure that outlived Odoo's own five
	// retries. Retryable with backoff: nothing was committed.
	ErrServer = errors.New("odoo: server error")
	// ErrUnavailable is no usable answer: connection refused or reset, the call's timeout,
	// or 502/503/504 from a proxy in front of Odoo. Retryable; the outcome of a write is
	// unknown, so only idempotent calls may be repeated blindly.
	ErrUnavailable = errors.New("odoo: unavailable")
	// ErrProtocol is an answer that is not what JSON-2 sends (not JSON, an unexpected
	// shape, another status). Not retryable: the URL probably does not point at Odoo 19.
	ErrProtocol = errors.New("odoo: unexpected answer")

	// ErrNotImplemented is a transaction type this depotd does not know (a newer depot's),
	// so it cannot post it to Odoo. It is not
	// an *Error and not the data's fault: never acknowledge such a seq as rejected.
	ErrNotImplemented = errors.New("odoo: not implemented")
)

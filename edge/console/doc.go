// Package console serves depotd's JSON API (and, later, the web console) with fiber v2.
// It imports edge only. Every /api/v1 route needs a bearer token from console.api_tokens;
// roles are enforced per route. Handlers copy what they keep from the fiber context (fiber
// reuses its buffers after a handler returns) and never hold a bbolt read transaction
// beyond one call into the journal. Errors are answered as {"error": ..., "field": ...}
// without internal details; the details go to the log.
package console

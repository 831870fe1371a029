package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
	"github.com/gofiber/fiber/v2"
)

// Each failure the journal can report reaches the client as a status it can act on and a
// message that is true: "outcome unknown" is not "nothing was committed", because the
// record may be in the WAL and come back at the next start (a retry with the same id is
// then answered "existing").
func TestCommitFailuresAreAnsweredWithWhatTheClientMayDo(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		msg    string
	}{
		{"outcome unknown", fmt.Errorf("commit: fdatasync: input/output error: %w", edge.ErrOutcomeUnknown),
			fiber.StatusServiceUnavailable, "outcome unknown: retry with the same id"},
		{"id reused", &edge.IDConflictError{ID: "r1", Seq: 7}, fiber.StatusConflict, ""},
		{"disk full", fmt.Errorf("commit: %w", edge.ErrDiskFull), fiber.StatusInsufficientStorage, ""},
		{"timeout", context.DeadlineExceeded, fiber.StatusServiceUnavailable, ""},
		{"closed", edge.ErrClosed, fiber.StatusServiceUnavailable, "depotd is shutting down; retry with the same id"},
		{"storage", errors.New("bbolt: input/output error"), fiber.StatusServiceUnavailable, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			app := fiber.New()
			app.Post("/", func(c *fiber.Ctx) error { return s.commitError(c, tc.err) })
			resp, err := app.Test(httptest.NewRequest("POST", "/", nil))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Error string }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d (%q)", resp.StatusCode, tc.status, body.Error)
			}
			if tc.msg != "" && body.Error != tc.msg {
				t.Errorf("message %q, want %q", body.Error, tc.msg)
			}
			if errors.Is(tc.err, edge.ErrOutcomeUnknown) && strings.Contains(body.Error, "nothing was committed") {
				t.Errorf("an unknown outcome is answered %q: it may have been committed", body.Error)
			}
		})
	}
}

// Package odootest gives tests the real Odoo 19 server that CI starts (.ci/run runs
// ../shared/odoo/start and exports DEPOTD_ODOO_ENV=DIR/odoo.env).
//
// When DEPOTD_ODOO_ENV is not set the tests that need Odoo are skipped with a message,
// unless DEPOTD_INTEGRATION=1 (CI), in which case they fail. Several test packages share
// one server and one database: tests make their own records with unique names and never
// assume an empty database.
package odootest

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/depotd/depotd/uplink/odoo"
)

// EnvVar names the odoo.env file written by ../shared/odoo/start.
const EnvVar = "DEPOTD_ODOO_ENV"

// Env is what odoo.env holds.
type Env struct {
	Path   string // the odoo.env file
	URL    string // ODOO_URL
	DB     string // ODOO_DB
	APIKey string // ODOO_API_KEY
	PID    int    // ODOO_PID: the shared server's process, 0 when not given
}

// Need returns the server's Env, or skips tb (fails it under DEPOTD_INTEGRATION=1) when
// DEPOTD_ODOO_ENV is unset. A set but unreadable or incomplete file always fails.
func Need(tb testing.TB) Env {
	tb.Helper()
	path := os.Getenv(EnvVar)
	if path == "" {
		msg := "no real Odoo: set " + EnvVar + "=DIR/odoo.env after running ../shared/odoo/start DIR (as .ci/run does)"
		if os.Getenv("DEPOTD_INTEGRATION") == "1" {
			tb.Fatal(msg + "; DEPOTD_INTEGRATION=1 requires it")
		}
		tb.Skip(msg + "; set DEPOTD_INTEGRATION=1 to make this a failure")
	}
	env, err := Read(path)
	if err != nil {
		tb.Fatalf("%s=%s: %v", EnvVar, path, err)
	}
	return env
}

// Read parses an odoo.env file (KEY=value lines, as the start script writes them).
func Read(path string) (Env, error) {
	f, err := os.Open(path)
	if err != nil {
		return Env{}, err
	}
	defer f.Close()
	env := Env{Path: path}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ODOO_URL":
			env.URL = v
		case "ODOO_DB":
			env.DB = v
		case "ODOO_API_KEY":
			env.APIKey = v
		case "ODOO_PID":
			env.PID, _ = strconv.Atoi(v)
		}
	}
	if err := sc.Err(); err != nil {
		return Env{}, err
	}
	if env.URL == "" || env.DB == "" || env.APIKey == "" {
		return Env{}, fmt.Errorf("%s: ODOO_URL, ODOO_DB and ODOO_API_KEY are all required", path)
	}
	return env, nil
}

// Client returns a client for the server in env.
func (env Env) Client(tb testing.TB) *odoo.Client {
	tb.Helper()
	c, err := odoo.New(odoo.Options{URL: env.URL, Database: env.DB, APIKey: env.APIKey, Timeout: 60 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

var counter atomic.Uint64

// Unique returns a name no other test run has used: prefix, the time and a counter, so
// records made by tests never collide in the shared database.
func Unique(prefix string) string {
	return fmt.Sprintf("%s-%s-%d", prefix, time.Now().UTC().Format("150405.000000"), counter.Add(1))
}

// NewWarehouse creates a warehouse no other test uses (a random 5-character short name,
// which is Odoo's limit) and returns its code. Odoo creates its locations and operation
// types with it; it is left in the database, as every record tests make.
func NewWarehouse(tb testing.TB, c *odoo.Client) string {
	tb.Helper()
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	// The database outlives test runs (CI keeps it), so a random code can meet an old one:
	// Odoo refuses a duplicate short name, and another is drawn.
	for attempt := 1; ; attempt++ {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			tb.Fatal(err)
		}
		code := []byte{'T', 0, 0, 0, 0}
		for i, x := range b {
			code[i+1] = alphabet[int(x)%len(alphabet)]
		}
		var ids []int
		err := c.Call(context.Background(), "stock.warehouse", "create", map[string]any{"vals_list": []any{map[string]any{
			"name": Unique("depotd test " + string(code)), "code": string(code),
		}}}, &ids)
		if err == nil {
			return string(code)
		}
		if !errors.Is(err, odoo.ErrRefused) || attempt == 5 {
			tb.Fatalf("create warehouse %s: %v", code, err)
		}
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

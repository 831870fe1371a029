package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/depotd/depotd/edge/console"
	"golang.org/x/sys/unix"
)

func TestUserHashPasswordFromPipe(t *testing.T) {
	cases := []struct {
		name, stdin string
		args        []string
		code        int
		password    string // what the printed hash must verify
	}{
		{"argon2id", "s3cret pass\n", nil, 0, "s3cret pass"},
		{"crlf", "s3cret\r\n", nil, 0, "s3cret"},
		{"no newline", "s3cret", nil, 0, "s3cret"},
		{"only first line", "first\nsecond\n", nil, 0, "first"},
		{"bcrypt", "s3cret\n", []string{"--bcrypt"}, 0, "s3cret"},
		{"empty", "\n", nil, 1, ""},
		{"nothing", "", nil, 1, ""},
		{"password as argument", "", []string{"s3cret"}, 2, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), append([]string{"user", "hash-password"}, c.args...), strings.NewReader(c.stdin), &out, &errb)
			if code != c.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, c.code, errb.String())
			}
			if c.code != 0 {
				if out.Len() != 0 {
					t.Fatalf("stdout on failure: %q", out.String())
				}
				return
			}
			h := strings.TrimSuffix(out.String(), "\n")
			if strings.Contains(h, "\n") || errb.Len() != 0 {
				t.Fatalf("stdout %q stderr %q: want only the hash", out.String(), errb.String())
			}
			if !console.VerifyPassword(h, c.password) || console.VerifyPassword(h, c.password+"x") {
				t.Fatalf("hash %q does not verify %q exactly", h, c.password)
			}
			wantPrefix := "$argon2id$v=19$"
			if len(c.args) > 0 {
				wantPrefix = "$2a$12$"
			}
			if !strings.HasPrefix(h, wantPrefix) {
				t.Fatalf("hash %q, want prefix %q", h, wantPrefix)
			}
			// The hash is accepted by the config check.
			cfg := console.Config{Users: []console.User{{Name: "u", PasswordHash: h, Role: console.RoleAdmin}}}
			cfg.ApplyDefaults()
			cfg.Check("console", func(k, m string) { t.Errorf("config check: %s: %s", k, m) })
		})
	}
}

// TestUserHashPasswordOnTerminal runs the command on a real pseudo-terminal: it must ask
// twice, without echo, and refuse two different answers.
func TestUserHashPasswordOnTerminal(t *testing.T) {
	for _, c := range []struct {
		name, first, second string
		code                int
	}{{"same", "tty-secret", "tty-secret", 0}, {"differ", "tty-secret", "other", 1}} {
		t.Run(c.name, func(t *testing.T) {
			ptm, tty, err := pty.Open()
			if err != nil {
				t.Skipf("no pseudo-terminal: %v", err)
			}
			defer ptm.Close()
			defer tty.Close()
			// Echo is what a terminal does by default; the command must turn it off.
			echoed := make(chan []byte, 1)
			go func() {
				var got []byte
				buf := make([]byte, 256)
				ptm.SetReadDeadline(time.Now().Add(10 * time.Second))
				for {
					n, err := ptm.Read(buf)
					got = append(got, buf[:n]...)
					if err != nil {
						break
					}
				}
				echoed <- got
			}()
			var out bytes.Buffer
			errw := &promptWriter{prompts: make(chan string, 4)}
			done := make(chan int, 1)
			go func() { done <- run(context.Background(), []string{"user", "hash-password"}, tty, &out, errw) }()
			for _, answer := range []string{c.first, c.second} {
				select {
				case <-errw.prompts:
				case <-time.After(10 * time.Second):
					t.Fatal("no prompt")
				}
				// ReadPassword switches echo off before reading; the prompt comes first,
				// so wait until the terminal reports echo off.
				waitNoEcho(t, tty)
				if _, err := io.WriteString(ptm, answer+"\n"); err != nil {
					t.Fatal(err)
				}
			}
			var code int
			select {
			case code = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("command did not finish")
			}
			if code != c.code {
				t.Fatalf("exit %d, want %d: %s", code, c.code, errw.String())
			}
			if code == 0 && !console.VerifyPassword(strings.TrimSpace(out.String()), c.first) {
				t.Fatalf("hash %q does not verify", out.String())
			}
			if !strings.Contains(errw.String(), "Password: ") || !strings.Contains(errw.String(), "Again: ") {
				t.Fatalf("prompts %q", errw.String())
			}
			tty.Close()
			ptm.SetReadDeadline(time.Now())
			if got := <-echoed; bytes.Contains(got, []byte(c.first)) {
				t.Fatalf("the password was echoed: %q", got)
			}
		})
	}
}

type promptWriter struct {
	bytes.Buffer
	prompts chan string
}

func (w *promptWriter) Write(p []byte) (int, error) {
	n, err := w.Buffer.Write(p)
	if s := string(p); strings.HasSuffix(s, ": ") {
		w.prompts <- s
	}
	return n, err
}

// waitNoEcho polls the terminal's flags until echo is off.
func waitNoEcho(t *testing.T, tty *os.File) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if tio.Lflag&unix.ECHO == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("echo never turned off")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

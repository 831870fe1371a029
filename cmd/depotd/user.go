package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/depotd/depotd/edge/console"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"
)

func init() {
	register("user", "console users: `depotd user hash-password` prints a password hash for console.users", userCmd)
}

const userUsage = `Usage: depotd user hash-password [--bcrypt]

Reads a password (or a badge PIN) and prints its hash, for console.users[].password_hash or
pin_hash. On a terminal it asks twice without echo; otherwise it reads one line from stdin.
Only the hash goes to stdout. The hash is argon2id unless --bcrypt is given.

  echo -n 'secret' | depotd user hash-password
`

func userCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprint(stderr, userUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] != "hash-password" {
		fmt.Fprintf(stderr, "depotd user: unknown subcommand %q\n\n%s", args[0], userUsage)
		return 2
	}
	fs := flag.NewFlagSet("user hash-password", flag.ContinueOnError)
	fs.SetOutput(stderr)
	useBcrypt := fs.Bool("bcrypt", false, "print a bcrypt hash (cost 12) instead of argon2id")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "depotd user hash-password: unexpected argument %q (the password is read from stdin, never from the command line)\n", fs.Arg(0))
		return 2
	}
	pw, err := readPassword(stdin, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "depotd user hash-password: %v\n", err)
		return 1
	}
	var h string
	if *useBcrypt {
		var b []byte
		b, err = bcrypt.GenerateFromPassword([]byte(pw), 12)
		h = string(b)
	} else {
		h, err = console.HashPassword(pw)
	}
	if err != nil {
		fmt.Fprintf(stderr, "depotd user hash-password: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, h)
	return 0
}

// readPassword asks twice without echo on a terminal; from a pipe or file it reads one
// line (without its line ending).
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the two passwords differ")
		}
		if len(a) == 0 {
			return "", errors.New("empty password")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("empty password on stdin")
	}
	return line, nil
}

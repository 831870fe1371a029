package console

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// hashCases are configured hashes, valid and not, shared by the table test and the fuzz
// seeds.
var hashCases = []struct {
	hash string
	ok   bool
}{
	{"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", true},
	{"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", true},
	{"$2a$04$W0vUhm0J3dCmCZ5xxUSiZumg8VvmoUOsO8bqGvxmCFnEOHOQpP3r.", true},
	{"$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", true},
	{"$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", false},  // argon2i, not id
	{"$argon2id$v=16$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", false}, // old version
	{"$argon2id$v=19$m=65536,t=0,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", false}, // no passes
	{"$argon2id$v=19$m=65536,t=2,p=1$$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", false},            // no salt
	{"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$!!", false},
	{"$argon2id$v=19$m=99999999,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", false}, // 95 GiB
	{"$2a$04$short", false},
	{"$2a$31$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", false}, // cost 31: hours per login
	{"hunter2", false},
	{"", false},
}

func TestCheckHash(t *testing.T) {
	for _, c := range hashCases {
		if err := checkHash(c.hash); (err == nil) != c.ok {
			t.Errorf("checkHash(%q) = %v, want ok=%v", c.hash, err, c.ok)
		}
	}
}

// FuzzParseHash: no configured hash makes depotd panic, and whatever the parser accepts
// it re-reads identically; a hash it refuses never verifies a password.
func FuzzParseHash(f *testing.F) {
	for _, c := range hashCases {
		f.Add(c.hash, "password")
	}
	f.Fuzz(func(t *testing.T, h, pw string) {
		err := checkHash(h)
		if strings.HasPrefix(h, "$argon2id$") {
			a, perr := parseArgon(h)
			if (perr == nil) != (err == nil) {
				t.Fatalf("checkHash and parseArgon disagree on %q", h)
			}
			// Verify only cheap parameters: the fuzzer must not allocate gigabytes.
			if perr == nil && a.m <= 1024 && a.t <= 2 {
				VerifyPassword(h, pw)
			}
			if perr != nil && VerifyPassword(h, pw) {
				t.Fatalf("refused hash %q verified", h)
			}
			return
		}
		if err != nil {
			if VerifyPassword(h, pw) {
				t.Fatalf("refused hash %q verified", h)
			}
			return
		}
		if cost, _ := bcrypt.Cost([]byte(h)); cost <= 6 {
			VerifyPassword(h, pw)
		}
	})
}

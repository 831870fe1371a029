package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// ErrBadHash means a configured password or PIN hash is in no format depotd understands.
var ErrBadHash = errors.New("not a bcrypt ($2a$, $2b$, $2y$) or argon2id ($argon2id$) hash")

// Argon2id parameters of HashPassword (RFC 9106's second recommended option, sized for a
// gateway: 64 MiB, 3 passes).
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 2
	argonKeyLen  = 32
)

// HashPassword returns an argon2id hash of password in the PHC string format
// ($argon2id$v=19$m=65536,t=3,p=2$salt$hash), for console.users[].password_hash or pin_hash.
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errors.New("empty password")
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

type argonHash struct {
	m    uint32
	t    uint32
	p    uint8
	salt []byte
	key  []byte
}

func parseArgon(h string) (argonHash, error) {
	var a argonHash
	parts := strings.Split(h, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[1] != "argon2id" {
		return a, ErrBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return a, fmt.Errorf("argon2id version %q: this depotd reads v=%d", parts[2], argon2.Version)
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &a.m, &a.t, &a.p); err != nil {
		return a, fmt.Errorf("argon2id parameters %q: %v", parts[3], err)
	}
	// Bounds keep a login from costing the gateway more than 1 GiB or a few seconds.
	if a.m < 8*uint32(a.p) || a.m > 1<<20 || a.t == 0 || a.t > 16 || a.p == 0 {
		return a, fmt.Errorf("argon2id parameters %q out of range", parts[3])
	}
	var err error
	enc := base64.RawStdEncoding
	if a.salt, err = enc.DecodeString(parts[4]); err != nil || len(a.salt) < 8 {
		return a, errors.New("argon2id salt is not base64 of at least 8 bytes")
	}
	if a.key, err = enc.DecodeString(parts[5]); err != nil || len(a.key) < 16 || len(a.key) > 64 {
		return a, errors.New("argon2id hash is not base64 of 16 to 64 bytes")
	}
	return a, nil
}

// checkHash tells whether h is a hash VerifyPassword can use.
func checkHash(h string) error {
	if strings.HasPrefix(h, "$argon2id$") {
		_, err := parseArgon(h)
		return err
	}
	cost, err := bcrypt.Cost([]byte(h))
	if err != nil {
		return ErrBadHash
	}
	if cost > maxBcryptCost {
		return fmt.Errorf("bcrypt cost %d is above %d (a login would take minutes)", cost, maxBcryptCost)
	}
	return nil
}

// maxBcryptCost bounds how long one login may take on a gateway CPU (cost 14 ≈ 1 s).
const maxBcryptCost = 14

// VerifyPassword reports whether password matches the bcrypt or argon2id hash h, in time
// that does not depend on how much of it matched.
func VerifyPassword(h, password string) bool {
	if strings.HasPrefix(h, "$argon2id$") {
		a, err := parseArgon(h)
		if err != nil {
			return false
		}
		key := argon2.IDKey([]byte(password), a.salt, a.t, a.m, a.p, uint32(len(a.key)))
		return subtle.ConstantTimeCompare(key, a.key) == 1
	}
	if checkHash(h) != nil {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(h), []byte(password)) == nil
}

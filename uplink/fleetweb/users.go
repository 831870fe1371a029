package fleetweb

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// User may log in to the fleet page. The page only shows: every role may read it, and the
// roles are those of the depot console (operator, supervisor, admin) plus viewer, for
// central ops staff who have no role at any depot.
type User struct {
	Name         string `yaml:"name"`
	PasswordHash string `yaml:"password_hash"`
	Role         string `yaml:"role"`
}

// Roles a user may have.
var Roles = []string{"viewer", "operator", "supervisor", "admin"}

// CheckUsers reports every problem of users as (key, message), keys as users[i].field.
func CheckUsers(users []User, report func(key, msg string)) {
	seen := map[string]bool{}
	for i, u := range users {
		p := fmt.Sprintf("users[%d]", i)
		if u.Name == "" {
			report(p+".name", "required")
		} else if seen[u.Name] {
			report(p+".name", fmt.Sprintf("duplicate user %q", u.Name))
		}
		seen[u.Name] = true
		if u.PasswordHash == "" {
			report(p+".password_hash", "required (depotd user hash-password)")
		} else if !strings.HasPrefix(u.PasswordHash, "$argon2id$") && !strings.HasPrefix(u.PasswordHash, "$2") {
			report(p+".password_hash", "not a bcrypt or argon2id hash (depotd user hash-password)")
		}
		ok := false
		for _, r := range Roles {
			ok = ok || u.Role == r
		}
		if !ok {
			report(p+".role", fmt.Sprintf("unknown role %q (viewer, operator, supervisor, admin)", u.Role))
		}
	}
}

// Config is the fleet page's section of fleet.yaml (firmware-config/fleet.yaml).
type Config struct {
	// Listen is the page's address (host:port). Default 127.0.0.1:9480: put a TLS proxy in
	// front to serve it further, and set SecureCookies.
	Listen         string        `yaml:"listen"`
	StatusInterval time.Duration `yaml:"status_interval"`
	SessionTTL     time.Duration `yaml:"session_ttl"`
	SecureCookies  bool          `yaml:"secure_cookies"`
	Users          []User        `yaml:"users"`
}

// DefaultListen is Config.Listen's default.
const DefaultListen = "127.0.0.1:9480"

// ApplyDefaults fills what the file left out.
func (c *Config) ApplyDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.StatusInterval == 0 {
		c.StatusInterval = 60 * time.Second
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 12 * time.Hour
	}
}

// Check reports every problem as (key, message).
func (c *Config) Check(report func(key, msg string)) {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		report("listen", fmt.Sprintf("%q is not host:port", c.Listen))
	}
	if c.StatusInterval < 0 {
		report("status_interval", "must not be negative")
	}
	if c.SessionTTL < 0 {
		report("session_ttl", "must not be negative")
	}
	if len(c.Users) == 0 {
		report("users", "at least one user is required: the page needs a login")
	}
	CheckUsers(c.Users, report)
}

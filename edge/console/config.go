package console

import (
	"fmt"
	"github.com/depotd/depotd/edge/daily"
	"net"
	"strconv"
	"time"
)

// Config is the `console:` section.
type Config struct {
	// Listen is the address of the console and JSON API (default ":8080").
	Listen string `yaml:"listen"`
	// APITokens are bearer tokens for the JSON API.
	APITokens []APIToken `yaml:"api_tokens"`
	// MaxBodyBytes bounds request bodies (default 1 MiB).
	MaxBodyBytes int `yaml:"max_body_bytes"`
	// RequestTimeout bounds one API request's work (default 10s).
	RequestTimeout time.Duration `yaml:"request_timeout"`

	// Users may log in to the web console with a name and password, or a badge and PIN.
	Users []User `yaml:"users"`
	// TLS, when both files are set, serves the console and API over HTTPS only.
	TLS TLSConfig `yaml:"tls"`
	// MetricsPublic serves /metrics without login (default true, as Prometheus expects on a
	// depot LAN); when false /metrics needs an API bearer token and answers 401 without one.
	MetricsPublic *bool `yaml:"metrics_public"`
	// SessionTTL is how long a console login lasts without activity (default 12h).
	SessionTTL time.Duration `yaml:"session_ttl"`
	// LoginAttempts is how many failed logins one client address may make per
	// LoginWindow before it is refused with 429 (defaults 5 per 1m); the same budget
	// holds, counted apart, for invalid API bearer tokens.
	LoginAttempts int           `yaml:"login_attempts"`
	LoginWindow   time.Duration `yaml:"login_window"`
	// AckAlarmAfter turns the outage banner to its alarm colour once the ERP's last ack
	// is older than this (default 30m): the backlog is safe, but someone should call.
	AckAlarmAfter time.Duration `yaml:"ack_alarm_after"`
	// InTransitLeadTime is how long stock may stay in the in_transit state before the
	// Today page lists it for a supervisor (default 48h).
	InTransitLeadTime time.Duration `yaml:"in_transit_lead_time"`
}

// User is one console login. PasswordHash and PINHash are bcrypt ($2a$/$2b$/$2y$) or
// argon2id ($argon2id$v=19$m=...,t=...,p=...$salt$hash) hashes, as printed by
// `depotd user hash-password`. A user has a password, a badge with a PIN, or both.
type User struct {
	Name         string `yaml:"name"`
	PasswordHash string `yaml:"password_hash"`
	Badge        string `yaml:"badge"`
	PINHash      string `yaml:"pin_hash"`
	Role         Role   `yaml:"role"`
}

// TLSConfig names a PEM certificate (with its chain) and private key.
type TLSConfig struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether TLS is configured.
func (t TLSConfig) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// metricsPublic returns the effective metrics_public setting.
func (c *Config) metricsPublic() bool { return c.MetricsPublic == nil || *c.MetricsPublic }

// APIToken is one bearer token and the role it grants.
type APIToken struct {
	Name  string `yaml:"name"`
	Token string `yaml:"token"`
	Role  Role   `yaml:"role"`
}

// Role orders what a caller may do: operator < supervisor < admin.
type Role string

const (
	RoleOperator   Role = "operator"
	RoleSupervisor Role = "supervisor"
	RoleAdmin      Role = "admin"
)

func (r Role) rank() int {
	switch r {
	case RoleOperator:
		return 1
	case RoleSupervisor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// AtLeast reports whether r includes the rights of min.
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() && r.rank() > 0 }

// MinTokenLen is the shortest API token accepted: tokens are secrets on a depot LAN.
const MinTokenLen = 16

// ApplyDefaults fills unset fields with their documented defaults.
func (c *Config) ApplyDefaults() {
	if c.Listen == "" {
		c.Listen = ":8080"
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.MetricsPublic == nil {
		t := true
		c.MetricsPublic = &t
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 12 * time.Hour
	}
	if c.LoginAttempts == 0 {
		c.LoginAttempts = 5
	}
	if c.LoginWindow == 0 {
		c.LoginWindow = time.Minute
	}
	if c.AckAlarmAfter == 0 {
		c.AckAlarmAfter = 30 * time.Minute
	}
	if c.InTransitLeadTime == 0 {
		c.InTransitLeadTime = daily.DefaultLeadTime
	}
}

// Check reports every problem with its key path.
func (c *Config) Check(path string, report func(key, msg string)) {
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		report(path+".listen", fmt.Sprintf("%q is not host:port (%v)", c.Listen, err))
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		report(path+".listen", fmt.Sprintf("%q: port %q is not a number from 0 to 65535", c.Listen, port))
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 64<<20 {
		report(path+".max_body_bytes", "must be between 1024 and 67108864")
	}
	if c.RequestTimeout < 0 {
		report(path+".request_timeout", "must not be negative")
	}
	if c.AckAlarmAfter < 0 {
		report(path+".ack_alarm_after", "must not be negative")
	}
	if c.InTransitLeadTime < 0 {
		report(path+".in_transit_lead_time", "must not be negative")
	}
	seenName, seenTok := map[string]bool{}, map[string]bool{}
	for i, t := range c.APITokens {
		p := fmt.Sprintf("%s.api_tokens[%d]", path, i)
		if t.Name == "" {
			report(p+".name", "required")
		} else if seenName[t.Name] {
			report(p+".name", fmt.Sprintf("%q used twice", t.Name))
		}
		seenName[t.Name] = true
		if len(t.Token) < MinTokenLen {
			report(p+".token", fmt.Sprintf("must be at least %d characters", MinTokenLen))
		} else if seenTok[t.Token] {
			report(p+".token", "same token as another entry")
		}
		seenTok[t.Token] = true
		if t.Role.rank() == 0 {
			report(p+".role", fmt.Sprintf("unknown role %q (operator, supervisor, admin)", t.Role))
		}
	}
	if c.SessionTTL < 0 || (c.SessionTTL > 0 && c.SessionTTL < time.Minute) {
		report(path+".session_ttl", "must be at least 1m")
	}
	if c.LoginAttempts < 0 {
		report(path+".login_attempts", "must not be negative")
	}
	if c.LoginWindow < 0 {
		report(path+".login_window", "must not be negative")
	}
	if c.TLS.Enabled() {
		if c.TLS.CertFile == "" {
			report(path+".tls.cert_file", "required when tls.key_file is set")
		}
		if c.TLS.KeyFile == "" {
			report(path+".tls.key_file", "required when tls.cert_file is set")
		}
	}
	users, badges := map[string]bool{}, map[string]bool{}
	for i, u := range c.Users {
		p := fmt.Sprintf("%s.users[%d]", path, i)
		if u.Name == "" {
			report(p+".name", "required")
		} else if users[u.Name] {
			report(p+".name", fmt.Sprintf("%q used twice", u.Name))
		}
		users[u.Name] = true
		if u.PasswordHash == "" && u.Badge == "" {
			report(p, "needs a password_hash, or a badge with a pin_hash")
		}
		if u.PasswordHash != "" {
			if err := checkHash(u.PasswordHash); err != nil {
				report(p+".password_hash", err.Error())
			}
		}
		if u.Badge != "" {
			if badges[u.Badge] {
				report(p+".badge", fmt.Sprintf("%q used by two users", u.Badge))
			}
			badges[u.Badge] = true
			if u.PINHash == "" {
				report(p+".pin_hash", "required with a badge")
			} else if err := checkHash(u.PINHash); err != nil {
				report(p+".pin_hash", err.Error())
			}
		} else if u.PINHash != "" {
			report(p+".badge", "required with a pin_hash")
		}
		if u.Role.rank() == 0 {
			report(p+".role", fmt.Sprintf("unknown role %q (operator, supervisor, admin)", u.Role))
		}
	}
}

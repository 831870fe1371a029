package console

import (
	"fmt"
	"net"
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
}

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
}

// Check reports every problem with its key path.
func (c *Config) Check(path string, report func(key, msg string)) {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		report(path+".listen", fmt.Sprintf("%q is not host:port (%v)", c.Listen, err))
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 64<<20 {
		report(path+".max_body_bytes", "must be between 1024 and 67108864")
	}
	if c.RequestTimeout < 0 {
		report(path+".request_timeout", "must not be negative")
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
}

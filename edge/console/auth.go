package console

import (
	"crypto/subtle"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/csrf"
	"github.com/gofiber/fiber/v2/middleware/limiter"
	"github.com/gofiber/fiber/v2/middleware/session"
)

const (
	sessionCookie = "depotd_session"
	csrfCookie    = "depotd_csrf"
	csrfField     = "_csrf"
	localUser     = "user"
	localCSRF     = "csrf"
	sessUser      = "user"
	sessRole      = "role"
)

// dummyHash is verified against when a login names no known user, so that a wrong user
// name costs the same time as a wrong password.
const dummyHash = "$2a$10$7EqJtq98hPqEX7fNZaFWoOhi5BWX4Z3FPhcSG4XUO7ZDG3JqHqE3G"

// sessionUser is who is logged in to the console.
type sessionUser struct {
	Name string
	Role Role
}

func (s *Server) setupAuth() {
	s.store = session.New(session.Config{
		Expiration:     s.cfg.SessionTTL,
		Storage:        newMemStore(10000),
		KeyLookup:      "cookie:" + sessionCookie,
		CookieHTTPOnly: true,
		CookieSameSite: fiber.CookieSameSiteStrictMode,
		CookieSecure:   s.cfg.TLS.Enabled(),
		CookiePath:     "/",
	})
	s.csrf = csrf.New(csrf.Config{
		KeyLookup:      "form:" + csrfField,
		Extractor:      csrf.CsrfFromForm(csrfField),
		CookieName:     csrfCookie,
		CookieHTTPOnly: true,
		CookieSameSite: fiber.CookieSameSiteStrictMode,
		CookieSecure:   s.cfg.TLS.Enabled(),
		CookiePath:     "/",
		Expiration:     s.cfg.SessionTTL,
		Session:        s.store,
		ContextKey:     localCSRF,
		ErrorHandler: func(c *fiber.Ctx, err error) error {
			s.log.Warn("csrf refused", "path", c.Path(), "ip", c.IP(), "err", err)
			return s.renderError(c, fiber.StatusForbidden, "This form has expired or did not come from this console. Go back, reload the page and try again.")
		},
	})
	s.guesses = newGuessLimiter(s.cfg.LoginAttempts, s.cfg.LoginWindow, s.now)
	s.loginLimit = limiter.New(limiter.Config{
		Max:                    s.cfg.LoginAttempts,
		Expiration:             s.cfg.LoginWindow,
		Storage:                newMemStore(10000),
		SkipSuccessfulRequests: true,
		KeyGenerator:           func(c *fiber.Ctx) string { return "login:" + c.IP() },
		LimitReached: func(c *fiber.Ctx) error {
			s.log.Warn("login rate limited", "ip", c.IP())
			return s.renderError(c, fiber.StatusTooManyRequests, "Too many failed logins from this device. Wait a minute and try again.")
		},
	})
}

// authenticate checks a name+password or badge+PIN login against console.users. Every
// path verifies one hash, so that timing does not reveal which users exist.
func (s *Server) authenticate(mode, who, secret string) (sessionUser, bool) {
	for _, u := range s.cfg.Users {
		switch {
		case mode == "badge" && u.Badge != "" && subtle.ConstantTimeCompare([]byte(u.Badge), []byte(who)) == 1:
			return sessionUser{u.Name, u.Role}, VerifyPassword(u.PINHash, secret)
		case mode != "badge" && u.PasswordHash != "" && u.Name == who:
			return sessionUser{u.Name, u.Role}, VerifyPassword(u.PasswordHash, secret)
		}
	}
	VerifyPassword(dummyHash, secret)
	return sessionUser{}, false
}

func (s *Server) loginPage(c *fiber.Ctx) error {
	if u := s.currentUser(c); u != nil {
		return c.Redirect("/", fiber.StatusSeeOther)
	}
	return s.render(c, "login", fiber.StatusOK, pageData{Title: "Log in", Data: loginData{Mode: c.Query("mode")}})
}

type loginData struct {
	Mode  string
	Who   string
	Error string
}

func (s *Server) login(c *fiber.Ctx) error {
	mode := strings.Clone(c.FormValue("mode"))
	who := strings.TrimSpace(strings.Clone(c.FormValue("who")))
	secret := strings.Clone(c.FormValue("secret"))
	u, ok := s.authenticate(mode, who, secret)
	if !ok || who == "" || secret == "" {
		s.log.Warn("console login failed", "mode", mode, "ip", c.IP())
		return s.render(c, "login", fiber.StatusUnauthorized, pageData{Title: "Log in",
			Data: loginData{Mode: mode, Who: who, Error: "Wrong user name or password, or badge or PIN."}})
	}
	sess, err := s.store.Get(c)
	if err != nil {
		return err
	}
	// A new id at login: a session id planted before login must not become a logged-in one.
	if err := sess.Regenerate(); err != nil {
		return err
	}
	sess.Set(sessUser, u.Name)
	sess.Set(sessRole, string(u.Role))
	if err := sess.Save(); err != nil {
		return err
	}
	s.log.Info("console login", "user", u.Name, "role", u.Role, "ip", c.IP())
	return c.Redirect("/", fiber.StatusSeeOther)
}

func (s *Server) logout(c *fiber.Ctx) error {
	sess, err := s.store.Get(c)
	if err != nil {
		return err
	}
	if err := sess.Destroy(); err != nil {
		return err
	}
	c.ClearCookie(csrfCookie)
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// currentUser reads the session (once per request).
func (s *Server) currentUser(c *fiber.Ctx) *sessionUser {
	if u, ok := c.Locals(localUser).(*sessionUser); ok {
		return u
	}
	sess, err := s.store.Get(c)
	if err != nil {
		return nil
	}
	name, _ := sess.Get(sessUser).(string)
	role, _ := sess.Get(sessRole).(string)
	if name == "" || Role(role).rank() == 0 {
		return nil
	}
	// The role is re-read from the config: a user demoted or removed loses rights at once.
	var cur *User
	for i := range s.cfg.Users {
		if s.cfg.Users[i].Name == name {
			cur = &s.cfg.Users[i]
		}
	}
	if cur == nil {
		return nil
	}
	// Saving slides the expiry: session_ttl counts from the last activity.
	if err := sess.Save(); err != nil {
		s.log.Warn("session save", "err", err)
	}
	u := &sessionUser{Name: cur.Name, Role: cur.Role}
	c.Locals(localUser, u)
	return u
}

// requireLogin sends browsers without a session to the login page.
func (s *Server) requireLogin(c *fiber.Ctx) error {
	if s.currentUser(c) == nil {
		if c.Method() == fiber.MethodGet && c.Path() != "/events" {
			return c.Redirect("/login", fiber.StatusSeeOther)
		}
		return s.renderError(c, fiber.StatusUnauthorized, "Your session has ended. Log in again.")
	}
	return c.Next()
}

// requireRole refuses users below min.
func (s *Server) requireRole(min Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u := s.currentUser(c)
		if u == nil || !u.Role.AtLeast(min) {
			return s.renderError(c, fiber.StatusForbidden, "This needs the "+string(min)+" role.")
		}
		return c.Next()
	}
}

// bearerRole returns the role of a valid API bearer token, or "".
func (s *Server) bearerRole(c *fiber.Ctx) Role {
	tok, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	if !ok || tok == "" {
		return ""
	}
	var role Role
	for _, t := range s.cfg.APITokens {
		if subtle.ConstantTimeCompare([]byte(tok), []byte(t.Token)) == 1 {
			role = t.Role
		}
	}
	return role
}

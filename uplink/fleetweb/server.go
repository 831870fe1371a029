package fleetweb

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/helmet"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/depotd/depotd/uplink"
)

//go:embed static templates
var assets embed.FS

// csp: the depot console's policy; the page's only script and style are files of ours.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

const (
	sessionCookie = "depotd_fleet_session"
	csrfCookie    = "depotd_fleet_csrf"
	heartbeat     = 5 * time.Second // a live view re-renders at least this often (ages, staleness)
	liveGap       = time.Second     // and at most once per this, however busy the fleet
	maxSessions   = 10000
)

// dummyHash is verified when a login names no known user, so that a wrong name costs the
// same time as a wrong password (as the depot console does).
const dummyHash = "$2a$10$7EqJtq98hPqEX7fNZaFWoOhi5BWX4Z3FPhcSG4XUO7ZDG3JqHqE3G"

// Options configure a Server.
type Options struct {
	Fleet *uplink.Fleet
	Users []User
	// Verify checks a password against a hash of `depotd user hash-password` (bcrypt or
	// argon2id); cmd/depotd passes console.VerifyPassword, so that both pages read the
	// same hashes without this package importing the console.
	Verify        func(hash, password string) bool
	SessionTTL    time.Duration // default 12 h, sliding
	LoginAttempts int           // failed logins per client address and minute; default 5
	// Secure marks the cookies Secure: set it when a TLS proxy serves the page.
	Secure bool
	Step   time.Duration // chart resolution; default 1 min
	Window time.Duration // chart span; default 24 h
	Log    *slog.Logger
	Now    func() time.Time
}

// Server is the fleet page. Update feeds it; Serve answers on a listener.
type Server struct {
	o   Options
	app *fiber.App
	tpl *template.Template
	log *slog.Logger
	ctx context.Context

	mu      sync.Mutex
	hist    *history
	changed chan struct{} // closed and replaced on every change
	sess    map[string]session
	fails   map[string]failures
}

type session struct {
	user string
	exp  time.Time
}

type failures struct {
	n    int
	from time.Time
}

// New checks o and builds the server.
func New(o Options) (*Server, error) {
	if o.Fleet == nil || o.Verify == nil {
		return nil, errors.New("fleetweb: Fleet and Verify are required")
	}
	if len(o.Users) == 0 {
		return nil, errors.New("fleetweb: no users: the page needs a login (users[] with password_hash)")
	}
	var problems []string
	CheckUsers(o.Users, func(k, m string) { problems = append(problems, k+": "+m) })
	if len(problems) > 0 {
		return nil, fmt.Errorf("fleetweb: %s", strings.Join(problems, "; "))
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.LoginAttempts <= 0 {
		o.LoginAttempts = 5
	}
	if o.Step <= 0 {
		o.Step = time.Minute
	}
	if o.Window <= 0 {
		o.Window = 24 * time.Hour
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	tpl, err := template.New("").Funcs(template.FuncMap{}).ParseFS(assets, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("fleetweb templates: %w", err)
	}
	s := &Server{o: o, tpl: tpl, log: o.Log, hist: newHistory(o.Step, o.Window), changed: make(chan struct{}),
		sess: map[string]session{}, fails: map[string]failures{}, ctx: context.Background()}
	s.app = fiber.New(fiber.Config{DisableStartupMessage: true, ReadTimeout: 30 * time.Second,
		ErrorHandler: func(c *fiber.Ctx, err error) error {
			code := fiber.StatusInternalServerError
			var fe *fiber.Error
			if errors.As(err, &fe) {
				code = fe.Code
			} else {
				s.log.Error("fleet page", "path", c.Path(), "err", err)
			}
			return c.Status(code).SendString(fmt.Sprintf("%d %s", code, utils.StatusMessage(code)))
		}})
	s.routes()
	return s, nil
}

// Update applies one status message to the fleet and the charts and wakes the live views.
func (s *Server) Update(topic string, payload []byte, retained bool) (uplink.FleetRow, bool, error) {
	now := s.o.Now()
	row, changed, err := s.o.Fleet.UpdateMessage(topic, payload, retained, now)
	if err != nil || !changed {
		return row, changed, err
	}
	rows := s.o.Fleet.RowsAt(now)
	s.mu.Lock()
	s.hist.observe(rows, now)
	if len(payload) == 0 {
		s.hist.forget(rows)
	}
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	return row, changed, nil
}

// Serve answers on ln until ctx ends; live views end with it.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.ctx = ctx
	s.mu.Unlock()
	errc := make(chan error, 1)
	go func() { errc <- s.app.Listener(ln) }()
	// The charts move with time even when no depot reports (the fleet total of a silent
	// fleet is still a figure): sample once a step.
	tick := time.NewTicker(s.o.Step)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			return err
		case <-tick.C:
			now := s.o.Now()
			rows := s.o.Fleet.RowsAt(now)
			s.mu.Lock()
			s.hist.observe(rows, now)
			s.mu.Unlock()
		case <-ctx.Done():
			cancel()
			err := s.app.ShutdownWithTimeout(5 * time.Second)
			<-errc
			return err
		}
	}
}

func (s *Server) routes() {
	s.app.Use(helmet.New(helmet.Config{ContentSecurityPolicy: csp, XFrameOptions: "DENY", ReferrerPolicy: "same-origin",
		PermissionPolicy: "camera=(), microphone=(), geolocation=()"}))
	s.app.Get("/static/*", s.static)
	s.app.Get("/login", s.loginPage)
	s.app.Post("/login", s.login)
	in := s.app.Group("", s.requireLogin)
	in.Post("/logout", s.logout)
	in.Get("/", s.page)
	in.Get("/fleet.json", s.fleetJSON)
	in.Get("/events", s.events)
	in.Get("/chart.svg", s.chart)
	s.app.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
}

func (s *Server) static(c *fiber.Ctx) error {
	name := path.Clean("static/" + c.Params("*"))
	if !strings.HasPrefix(name, "static/") {
		return fiber.ErrNotFound
	}
	raw, err := fs.ReadFile(assets, name)
	if err != nil {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderContentType, mime.TypeByExtension(path.Ext(name)))
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return c.Send(raw)
}

func (s *Server) render(c *fiber.Ctx, code int, name string, data any) error {
	var b strings.Builder
	if err := s.tpl.ExecuteTemplate(&b, name, data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(code).SendString(b.String())
}

// --- login

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails on Linux (crypto/rand panics rather than return short)
	return hex.EncodeToString(b)
}

type loginData struct {
	CSRF, Who, Error string
}

// loginPage sets a fresh CSRF token in a cookie and the form (double submit): a form posted
// from another site carries neither.
func (s *Server) loginPage(c *fiber.Ctx) error {
	if s.user(c) != "" {
		return c.Redirect("/", fiber.StatusSeeOther)
	}
	return s.renderLogin(c, fiber.StatusOK, "", "")
}

func (s *Server) renderLogin(c *fiber.Ctx, code int, who, msg string) error {
	tok := randomToken()
	c.Cookie(&fiber.Cookie{Name: csrfCookie, Value: tok, Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode, Secure: s.o.Secure})
	return s.render(c, code, "login.html", loginData{CSRF: tok, Who: who, Error: msg})
}

func (s *Server) login(c *fiber.Ctx) error {
	ip := strings.Clone(c.IP())
	now := s.o.Now()
	if !s.allowLogin(ip, now) {
		s.log.Warn("fleet login rate limited", "ip", ip)
		return s.renderLogin(c, fiber.StatusTooManyRequests, "", "Too many failed logins from this address. Wait a minute and try again.")
	}
	tok, form := c.Cookies(csrfCookie), c.FormValue("_csrf")
	if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(form)) != 1 {
		s.log.Warn("fleet login csrf refused", "ip", ip)
		return s.renderLogin(c, fiber.StatusForbidden, "", "This form has expired or did not come from this page. Try again.")
	}
	who := strings.TrimSpace(strings.Clone(c.FormValue("who")))
	secret := strings.Clone(c.FormValue("secret"))
	if !s.authenticate(who, secret) || who == "" || secret == "" {
		s.failed(ip, now)
		s.log.Warn("fleet login failed", "ip", ip)
		return s.renderLogin(c, fiber.StatusUnauthorized, who, "Wrong user name or password.")
	}
	id := randomToken()
	s.mu.Lock()
	s.sweep(now)
	if len(s.sess) >= maxSessions {
		s.mu.Unlock()
		return s.renderLogin(c, fiber.StatusServiceUnavailable, who, "Too many open sessions; try again later.")
	}
	s.sess[id] = session{user: who, exp: now.Add(s.o.SessionTTL)}
	delete(s.fails, ip)
	s.mu.Unlock()
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: id, Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode, Secure: s.o.Secure})
	c.ClearCookie(csrfCookie)
	s.log.Info("fleet login", "user", who, "ip", ip)
	return c.Redirect("/", fiber.StatusSeeOther)
}

// authenticate verifies exactly one hash whatever the name, so that timing does not say
// which users exist.
func (s *Server) authenticate(who, secret string) bool {
	for _, u := range s.o.Users {
		if u.Name == who {
			return s.o.Verify(u.PasswordHash, secret)
		}
	}
	s.o.Verify(dummyHash, secret)
	return false
}

func (s *Server) allowLogin(ip string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fails[ip]
	return now.Sub(f.from) > time.Minute || f.n < s.o.LoginAttempts
}

func (s *Server) failed(ip string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fails[ip]
	if now.Sub(f.from) > time.Minute {
		f = failures{from: now}
	}
	f.n++
	if len(s.fails) >= maxSessions {
		clear(s.fails) // bounded: a flood of addresses forgets, it does not grow
	}
	s.fails[ip] = f
}

// sweep drops expired sessions; the caller holds mu.
func (s *Server) sweep(now time.Time) {
	for id, se := range s.sess {
		if now.After(se.exp) {
			delete(s.sess, id)
		}
	}
}

// user returns who is logged in, sliding the session's expiry; "" for nobody. A user
// removed from the config loses the session at once.
func (s *Server) user(c *fiber.Ctx) string {
	id := c.Cookies(sessionCookie)
	if id == "" {
		return ""
	}
	now := s.o.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.sess[id]
	if !ok || now.After(se.exp) {
		delete(s.sess, id)
		return ""
	}
	known := false
	for _, u := range s.o.Users {
		known = known || u.Name == se.user
	}
	if !known {
		delete(s.sess, id)
		return ""
	}
	se.exp = now.Add(s.o.SessionTTL)
	s.sess[strings.Clone(id)] = se
	return se.user
}

func (s *Server) requireLogin(c *fiber.Ctx) error {
	u := s.user(c)
	if u == "" {
		if c.Method() == fiber.MethodGet && c.Path() == "/" {
			return c.Redirect("/login", fiber.StatusSeeOther)
		}
		return c.Status(fiber.StatusUnauthorized).SendString("401 log in first")
	}
	c.Locals("user", u)
	return c.Next()
}

func (s *Server) logout(c *fiber.Ctx) error {
	// SameSite=Strict keeps another site's form from carrying the session cookie here.
	s.mu.Lock()
	delete(s.sess, c.Cookies(sessionCookie))
	s.mu.Unlock()
	c.ClearCookie(sessionCookie)
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// --- the page

func (s *Server) page(c *fiber.Ctx) error {
	return s.render(c, fiber.StatusOK, "fleet.html", struct{ User string }{c.Locals("user").(string)})
}

// View is what the page's script draws: the depots ranked worst first, and fleet totals.
type View struct {
	Now    time.Time `json:"now"`
	Totals Totals    `json:"totals"`
	Rows   []Row     `json:"rows"`
}

// Row is a fleet row with its rank (0 = worst) and tier name.
type Row struct {
	uplink.FleetRow
	Rank     int     `json:"rank"`
	Tier     string  `json:"tier"`
	SeenAgoS float64 `json:"seen_ago_s"`
}

// Totals sums the fleet.
type Totals struct {
	Depots     int     `json:"depots"`
	Online     int     `json:"online"`
	Offline    int     `json:"offline"`
	Backlog    uint64  `json:"backlog"`
	MaxLagS    float64 `json:"max_lag_s"`
	Rejections int     `json:"rejections"`
	Exceptions int     `json:"exceptions"`
	DevsDown   int     `json:"devices_down"`
}

func (s *Server) view() View {
	now := s.o.Now()
	rows := s.o.Fleet.RowsAt(now)
	rankWorstFirst(rows)
	v := View{Now: now, Rows: make([]Row, len(rows))}
	for i, r := range rows {
		v.Rows[i] = Row{FleetRow: r, Rank: i, Tier: tierNames[tier(r)], SeenAgoS: now.Sub(r.LastSeen).Seconds()}
		t := &v.Totals
		t.Depots++
		if r.Online {
			t.Online++
		} else {
			t.Offline++
		}
		b, l := figures(r)
		t.Backlog += b
		t.MaxLagS = max(t.MaxLagS, l)
		t.Rejections += deref(r.OpenRejections)
		t.Exceptions += deref(r.OpenExceptions)
		t.DevsDown += deref(r.DevicesDown)
	}
	return v
}

func (s *Server) fleetJSON(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(s.view())
}

func (s *Server) chart(c *fiber.Ctx) error {
	depot := strings.Clone(c.Query("depot"))
	now := s.o.Now()
	title := "Fleet: total backlog and worst ERP lag"
	s.mu.Lock()
	rg := s.hist.fleet
	if depot != "" {
		rg = s.hist.depots[depot]
		title = depot + ": backlog and ERP lag"
	}
	var pts []sample
	if rg != nil {
		pts = rg.samples()
	}
	s.mu.Unlock()
	if depot != "" && rg == nil {
		return fiber.ErrNotFound
	}
	// The figures of now end the line, so that the last step is not a minute behind.
	var cur []uplink.FleetRow
	for _, r := range s.o.Fleet.RowsAt(now) {
		if depot == "" || r.Depot == depot {
			cur = append(cur, r)
		}
	}
	if len(cur) > 0 {
		pts = append(pts, current(cur, now))
	}
	c.Set(fiber.HeaderContentType, "image/svg+xml")
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.SendString(chartSVG(title, pts, now, s.o.Window))
}

// events streams the view as server-sent events ("fleet", JSON): on every change, at most
// once per liveGap, and every heartbeat so that ages and staleness stay true.
func (s *Server) events(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	s.mu.Lock()
	ctx := s.ctx
	s.mu.Unlock()
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		tick := time.NewTicker(heartbeat)
		defer tick.Stop()
		fmt.Fprint(w, "retry: 2000\n\n")
		for {
			s.mu.Lock()
			changed := s.changed
			s.mu.Unlock()
			raw, err := json.Marshal(s.view())
			if err != nil {
				s.log.Error("fleet live view", "err", err)
				return
			}
			if _, err := fmt.Fprintf(w, "event: fleet\ndata: %s\n\n", raw); err != nil {
				return
			}
			if w.Flush() != nil {
				return // the client went away
			}
			sent := time.Now()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			case <-changed:
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(sent.Add(liveGap))):
				}
			}
		}
	})
	return nil
}

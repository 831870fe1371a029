package console

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"path"
	"strings"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/helmet"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// csp allows nothing but this origin: no inline script or style, no frames, no CDN.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// pageNames are the templates under templates/, each rendered inside layout.html.
var pageNames = []string{"login", "error", "dashboard", "stations", "station", "stock", "journal", "entry",
	"post", "exceptions", "devices", "proposals", "counts", "today", "documents", "sync"}

var funcs = template.FuncMap{
	"since":   since,
	"ts":      func(t time.Time) string { return fmtTime(t) },
	"tsp":     func(t *time.Time) string { return fmtTimePtr(t) },
	"qty":     func(q *edge.Qty) string { return qtyText(q) },
	"visible": visibleBytes,
	"seconds": func(s float64) string { return fmtSeconds(s) },
	"has":     func(m map[string]string, k string) bool { _, ok := m[k]; return ok },
	"atLeast": func(u *sessionUser, r string) bool { return u != nil && u.Role.AtLeast(Role(r)) },
	"states":  func() []edge.StockState { return edge.StockStates },
	"txtypes": func() []edge.TxType { return edge.TxTypes },
	"add":     func(a, b int) int { return a + b },
	"count":   groupDigits,
	// label prints a key of an exception's evidence ("p_value") as words ("p value").
	"label":   func(k string) string { return strings.ReplaceAll(k, "_", " ") },
	"countbc": countBarcode,
}

func mustParsePages() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, n := range pageNames {
		t := template.Must(template.New(n).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+n+".html"))
		out[n] = t
	}
	return out
}

// pageData is what every page template gets.
type pageData struct {
	Title   string
	Nav     string
	User    *sessionUser
	CSRF    string
	Depot   string
	Version string
	Flash   string
	Outage  *outage // set on every page a user sees while the uplink is down
	Data    any
}

// render executes a page into a buffer first, so that a template error never sends half a
// page with a 200.
func (s *Server) render(c *fiber.Ctx, name string, code int, d pageData) error {
	t, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("no page template %q", name)
	}
	if d.User == nil {
		if u, ok := c.Locals(localUser).(*sessionUser); ok {
			d.User = u
		}
	}
	d.CSRF, _ = c.Locals(localCSRF).(string)
	d.Depot, d.Version = s.j.Depot(), s.opts.Version
	if d.User != nil {
		d.Outage = s.outage()
	}
	if d.Nav == "" {
		d.Nav = name
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(code).Send(buf.Bytes())
}

// renderFragment executes one named template of a page (the live parts).
func (s *Server) renderFragment(page, name string, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, name, data); err != nil {
		return nil, fmt.Errorf("render %s/%s: %w", page, name, err)
	}
	return buf.Bytes(), nil
}

// renderError answers an error as JSON on the API and as a page elsewhere.
func (s *Server) renderError(c *fiber.Ctx, code int, msg string) error {
	if strings.HasPrefix(c.Path(), "/api/") {
		if code == fiber.StatusInternalServerError {
			msg = "internal error (see the depotd log)"
		}
		return apiError(c, code, msg, "")
	}
	return s.render(c, "error", code, pageData{Title: "Error", Nav: "-", Data: struct {
		Code int
		Msg  string
	}{code, msg}})
}

func (s *Server) securityHeaders(c *fiber.Ctx) error { return s.helmet(c) }

var helmetHandler = helmet.New(helmet.Config{
	ContentSecurityPolicy: csp,
	XFrameOptions:         "DENY",
	// same-origin, not no-referrer: fiber's CSRF check compares the Referer with the host
	// on HTTPS and refuses a form post without one.
	ReferrerPolicy:   "same-origin",
	HSTSMaxAge:       31536000,
	PermissionPolicy: "camera=(), microphone=(), geolocation=()",
})

func (s *Server) helmet(c *fiber.Ctx) error { return helmetHandler(c) }

func (s *Server) static(c *fiber.Ctx) error {
	name := path.Clean("static/" + c.Params("*"))
	if !strings.HasPrefix(name, "static/") {
		return fiber.ErrNotFound
	}
	raw, err := fs.ReadFile(staticFS, name)
	if err != nil {
		return fiber.ErrNotFound
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	c.Set(fiber.HeaderContentType, ct)
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return c.Send(raw)
}

func (s *Server) webRoutes() {
	web := s.app.Group("", s.csrf)
	web.Get("/login", s.loginPage)
	web.Post("/login", s.loginLimit, s.login)
	web.Post("/logout", s.logout)
	in := web.Group("", s.requireLogin)
	in.Get("/", s.dashboard)
	in.Get("/events", s.events)
	in.Get("/outage-banner", s.outageBanner)
	in.Post("/demo/uplink", s.demoUplink)
	in.Get("/stations", s.stationsPage)
	in.Get("/stations/:name", s.stationPage)
	in.Get("/stock", s.stockPage)
	in.Get("/stock.csv", s.stockCSV)
	in.Post("/stock/snapshot", s.requireRole(RoleSupervisor), s.askSnapshot)
	in.Get("/journal", s.journalPage)
	in.Get("/journal/:seq", s.entryPage)
	in.Get("/post", s.postPage)
	in.Post("/post", s.postForm)
	in.Get("/exceptions", s.exceptionsPage)
	in.Post("/exceptions/:id/resolve", s.requireRole(RoleSupervisor), s.resolveForm)
	in.Post("/exceptions/repost", s.requireRole(RoleSupervisor), s.repostForm)
	in.Get("/counts", s.countsPage)
	in.Get("/today", s.todayPage)
	in.Get("/sync", s.syncPage)
	in.Get("/documents", s.documentsPage)
	in.Get("/proposals", s.proposalsPage)
	in.Post("/proposals/:id/decide", s.requireRole(RoleSupervisor), s.decideForm)
	in.Get("/devices", s.devicesPage)
	in.Post("/devices/test-scan", s.testScan)
	s.app.Use(func(c *fiber.Ctx) error {
		return s.renderError(c, fiber.StatusNotFound, "No such page.")
	})
}

// --- formatting helpers for templates

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return fmtTime(*t)
}

func since(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return fmtSeconds(time.Since(t).Seconds()) + " ago"
}

func fmtSeconds(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.0f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %02d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

func qtyText(q *edge.Qty) string {
	if q == nil {
		return ""
	}
	return q.String()
}

// visibleBytes shows control characters of a raw scan (GS as ␝, CR as ␍, ...), so that a
// supervisor sees exactly what the scanner sent.
func visibleBytes(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x20:
			b.WriteRune(0x2400 + r)
		case r == 0x7f:
			b.WriteRune(0x2421)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func errorsIsNotFound(err error) bool { return errors.Is(err, edge.ErrNotFound) }

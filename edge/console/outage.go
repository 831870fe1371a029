package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"strings"
	"time"
)

// outage is the banner every page shows while the uplink is down: the moment a
// supervisor needs the console most, and must not have to look for it.
type outage struct {
	Since   time.Time // the link went down
	Stored  uint64    // transactions not yet acknowledged by the ERP: safe here, sent later
	Reason  string    // in plain words
	Detail  string    // the error as the uplink said it (credentials removed)
	LastAck time.Time // the ERP's last ack that moved the watermark; zero: none yet
	Alarm   bool      // LastAck older than console.ack_alarm_after (or never, past it)
}

// outage returns the banner, or nil while the uplink is up or not configured.
func (s *Server) outage() *outage {
	u := s.uplinkView()
	if u == nil || u.Online {
		return nil
	}
	last, acked := s.j.Positions()
	o := &outage{Since: u.Since, Stored: last - acked, Reason: plainReason(u.LastError), Detail: u.LastError, LastAck: u.LastAckAt}
	ref := u.LastAckAt
	if ref.IsZero() {
		ref = u.Since
	}
	o.Alarm = !ref.IsZero() && s.now().Sub(ref) >= s.cfg.AckAlarmAfter
	return o
}

// outageBanner is the banner alone (empty while the uplink is up), which every page polls:
// an outage that starts while a supervisor looks at a page shows within seconds.
func (s *Server) outageBanner(c *fiber.Ctx) error {
	html, err := s.renderFragment("dashboard", "outage", s.outage())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(html)
}

// plainReason says in plain words why the uplink is down, from its error.
func plainReason(err string) string {
	e := strings.ToLower(err)
	switch {
	case e == "":
		return "the connection to the central system is down"
	case strings.Contains(e, "refused") && strings.Contains(e, "subscri"):
		return "the central broker refused this depot's subscriptions (its access list)"
	case strings.Contains(e, "not authorized") || strings.Contains(e, "bad user name or password"):
		return "the central broker refused this depot's login (user name, password or certificate)"
	case strings.Contains(e, "x509") || strings.Contains(e, "certificate") || strings.Contains(e, "tls"):
		return "the central broker's certificate was not accepted (or it refused ours)"
	case strings.Contains(e, "no such host") || strings.Contains(e, "lookup"):
		return "the central broker's name cannot be found (DNS or network down)"
	case strings.Contains(e, "connection refused"):
		return "the central broker refused the connection (it may be down or restarting)"
	case strings.Contains(e, "timeout") || strings.Contains(e, "timed out") || strings.Contains(e, "no route") ||
		strings.Contains(e, "unreachable"):
		return "no answer from the central broker (the network or the internet link is down)"
	case strings.Contains(e, "eof") || strings.Contains(e, "reset by peer") || strings.Contains(e, "broken pipe") ||
		strings.Contains(e, "keepalive") || strings.Contains(e, "pingresp"):
		return "the connection to the central broker was cut"
	}
	return "the connection to the central system is down"
}

// groupDigits writes n with thousands separators: 1,234.
func groupDigits(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

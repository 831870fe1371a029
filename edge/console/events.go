package console

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// heartbeat re-renders a live view even when nothing changed, so that ages ("5 min ago")
// stay true and a dead connection is noticed.
const heartbeat = 5 * time.Second

// events streams a live view as server-sent events: each event carries the view's
// server-rendered HTML, which app.js puts in place. ?view=dashboard, or ?view=station&name=X.
// A stream ends when the client goes away or Serve stops.
func (s *Server) events(c *fiber.Ctx) error {
	view := strings.Clone(c.Query("view", "dashboard"))
	name := strings.Clone(c.Query("name"))
	var render func() ([]byte, error)
	switch view {
	case "dashboard":
		window := strings.Clone(c.Query("window"))
		render = func() ([]byte, error) { return s.renderFragment("dashboard", "live", s.dashData(window)) }
	case "station":
		if _, ok := s.findStation(name); !ok {
			return s.renderError(c, fiber.StatusNotFound, fmt.Sprintf("No station named %q.", name))
		}
		render = func() ([]byte, error) {
			st, _ := s.findStation(name)
			return s.renderFragment("station", "live", st)
		}
	default:
		return s.renderError(c, fiber.StatusNotFound, "No such live view.")
	}
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithCancel(s.ctx)
		defer cancel()
		var stationCh <-chan StationView
		if s.opts.Stations != nil {
			stationCh = s.opts.Stations.Subscribe(ctx)
		}
		tick := time.NewTicker(heartbeat)
		defer tick.Stop()
		fmt.Fprintf(w, "retry: 2000\n\n")
		// Taken before each render, so that a commit during it is not missed.
		committed := s.j.Checkpointed()
		var last time.Time
		var due <-chan time.Time // set while a refresh waits for its turn
		schedule := func() {
			if due == nil {
				due = time.After(time.Until(last.Add(liveGap)))
			}
		}
		for {
			html, err := render()
			if err != nil {
				s.log.Error("live view", "view", view, "err", err)
				return
			}
			if err := writeEvent(w, "live", html); err != nil {
				return // the client went away
			}
			last, due = time.Now(), nil
		wait:
			for {
				select {
				case <-ctx.Done():
					return
				case <-committed:
					committed = s.j.Checkpointed()
					schedule()
				case _, ok := <-stationCh:
					// Any station's change re-renders: the source keeps only the newest
					// view, so this station's change may arrive as another one's. On a
					// station's own screen it is the answer to a scan: at once.
					if !ok {
						stationCh = nil
					}
					if view == "station" {
						break wait
					}
					schedule()
				case <-tick.C:
					schedule()
				case <-due:
					break wait
				}
			}
		}
	})
	return nil
}

// liveGap is the least time between two renders of a live view for one client, whatever
// triggers them (commits, stations, the heartbeat): a busy dock commits many times a
// second, and a render per commit per open tab would cost the gateway more than the
// depot's own work. Changes within a gap are coalesced into the next render, which shows
// the newest state. A station's own screen answers its scans at once all the same.
const liveGap = time.Second

// writeEvent writes one event; every line of data gets its own "data:" prefix, as the
// event-stream format requires.
func writeEvent(w *bufio.Writer, event string, data []byte) error {
	fmt.Fprintf(w, "event: %s\n", event)
	for _, line := range bytes.Split(data, []byte("\n")) {
		w.WriteString("data: ")
		w.Write(line)
		w.WriteByte('\n')
	}
	w.WriteByte('\n')
	return w.Flush()
}

package console

import (
	"context"
	"sync"
	"time"

	"github.com/depotd/depotd/edge/countlist"
	"github.com/gofiber/fiber/v2"
)

// The daily count list (package countlist): the Counts page and GET /api/v1/counts.
// Building it reads the whole journal, so it is kept for countListTTL: the list is a
// daily plan, and a page view must not rescan a large journal.

const countListTTL = 10 * time.Minute

type countCache struct {
	mu    sync.Mutex
	at    time.Time
	list  countlist.List
	valid bool
}

func (s *Server) countList(ctx context.Context) (countlist.List, error) {
	s.counts.mu.Lock()
	defer s.counts.mu.Unlock()
	now := s.now()
	if s.counts.valid && now.Sub(s.counts.at) < countListTTL {
		return s.counts.list, nil
	}
	l, err := countlist.Build(ctx, s.j, now, countlist.Config{})
	if err != nil {
		return l, err
	}
	s.counts.at, s.counts.list, s.counts.valid = now, l, true
	return l, nil
}

func (s *Server) apiCounts(c *fiber.Ctx) error {
	l, err := s.countList(c.UserContext())
	if err != nil {
		s.log.Error("count list", "err", err)
		return apiError(c, fiber.StatusServiceUnavailable, "journal read failed (see the depotd log)", "")
	}
	if l.Entries == nil {
		l.Entries = []countlist.Entry{}
	}
	return c.JSON(l)
}

func (s *Server) countsPage(c *fiber.Ctx) error {
	l, err := s.countList(c.UserContext())
	if err != nil {
		return err
	}
	return s.render(c, "counts", fiber.StatusOK, pageData{Title: "Count list", Data: l})
}

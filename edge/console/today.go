package console

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/daily"
	"github.com/gofiber/fiber/v2"
)

// The Today page and GET /api/v1/today: the depot's daily exceptions (package daily),
// each with who should act and links to act. Built on each request from the journal,
// the ledger and the ERP's open documents: it is asked for a few times a day, and an
// answer from an hour ago would hide what was just fixed.

type todayRow struct {
	daily.Row
	Links []todayLink
}

type todayLink struct{ Label, Href string }

type todayData struct {
	daily.Board
	Rows   []todayRow
	Counts map[string]int
	Lead   string // the lead time as configured ("48h")
}

func (s *Server) today(c *fiber.Ctx) (daily.Board, error) {
	b, err := daily.Build(c.UserContext(), s.j, s.now(), s.cfg.InTransitLeadTime)
	if err != nil {
		s.log.Error("today's exceptions", "err", err)
	}
	return b, err
}

func (s *Server) apiToday(c *fiber.Ctx) error {
	b, err := s.today(c)
	if err != nil {
		return apiError(c, fiber.StatusServiceUnavailable, "journal read failed (see the depotd log)", "")
	}
	return c.JSON(b)
}

func (s *Server) todayPage(c *fiber.Ctx) error {
	b, err := s.today(c)
	if err != nil {
		return err
	}
	d := todayData{Board: b, Counts: map[string]int{}, Lead: strings.TrimSuffix(strings.TrimSuffix(b.LeadTime.String(), "0s"), "0m")}
	for _, r := range b.Rows {
		d.Counts[r.Kind]++
		tr := todayRow{Row: r}
		for _, a := range r.Actions {
			tr.Links = append(tr.Links, todayLink{Label: a.Label, Href: actionHref(a)})
		}
		d.Rows = append(d.Rows, tr)
	}
	return s.render(c, "today", fiber.StatusOK, pageData{Title: "Today", Nav: "today", Data: d})
}

// actionHref is the console link an action names.
func actionHref(a daily.Action) string {
	enc := func(path string, m map[string]string) string {
		v := url.Values{}
		for k, x := range m {
			if x != "" {
				v.Set(k, x)
			}
		}
		return path + "?" + v.Encode()
	}
	switch {
	case a.Post != nil:
		return enc("/post", a.Post)
	case a.Stock != nil:
		return enc("/stock", a.Stock)
	case a.Seq != 0:
		return fmt.Sprintf("/journal/%d", a.Seq)
	case a.Document != "":
		return "/documents?" + url.Values{"ref": {a.Document}}.Encode()
	}
	return ""
}

// documentsPage lists the ERP's open documents as the depot last received them
// (?ref= shows one), each line with what is still expected.
func (s *Server) documentsPage(c *fiber.Ctx) error {
	m, err := s.j.Documents()
	if err != nil {
		return err
	}
	ref := c.Query("ref")
	var docs []edge.Document
	for _, d := range m.Documents {
		if ref == "" || d.Ref == ref {
			docs = append(docs, d)
		}
	}
	return s.render(c, "documents", fiber.StatusOK, pageData{Title: "ERP documents", Nav: "today",
		Data: struct {
			Version string
			Ref     string
			Docs    []edge.Document
		}{m.Version, ref, docs}})
}

// prefillPost fills the post form from the Today page's links: ?doc=REF with a known ERP
// document's open lines (its kind, ref, items and what is still expected of each), or one
// line from ?item= with ?qty, lot, from, to, state and to_state. Nothing is posted until
// the user submits the form.
func (s *Server) prefillPost(c *fiber.Ctx, d *postData) {
	if ref := c.Query("doc"); ref != "" {
		doc, ok, err := s.j.Document(ref)
		if err != nil || !ok {
			d.Ref = ref
			return
		}
		d.Type, d.Ref = map[string]string{edge.DocReceipt: string(edge.Receipt), edge.DocIssue: string(edge.Issue), edge.DocTransfer: string(edge.Transfer)}[doc.Kind], doc.Ref
		lines := append([]edge.DocumentLine(nil), doc.Lines...)
		sort.SliceStable(lines, func(i, j int) bool { return lines[i].Item < lines[j].Item })
		n := 0
		for _, l := range lines {
			if o := l.Open(); o.Sign() > 0 && n < formLines {
				d.Lines[n] = postLine{Item: l.Item, Qty: o.String(), UoM: l.UoM}
				n++
			}
		}
		return
	}
	if item := c.Query("item"); item != "" {
		d.Lines[0] = postLine{Item: item, Qty: c.Query("qty"), Lot: c.Query("lot"), From: c.Query("from"), To: c.Query("to"),
			State: c.Query("state"), ToState: c.Query("to_state")}
		if r := c.Query("ref"); r != "" {
			d.Ref = r
		}
	}
}

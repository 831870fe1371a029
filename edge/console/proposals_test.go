package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
)

func raiseProposal(t *testing.T, j *edge.Journal, item string) edge.Proposal {
	t.Helper()
	p, created, err := j.RaiseProposal(edge.Proposal{Item: item, Location: "WH/Stock", Source: "central",
		Min: edge.QtyFromInt(10), Max: edge.QtyFromInt(50), Multiple: edge.QtyFromInt(12),
		Available: edge.QtyFromInt(5), Qty: edge.QtyFromInt(48)})
	if err != nil || !created {
		t.Fatalf("raise: %v %v", created, err)
	}
	return p
}

// TestASupervisorChangesApprovesAndDismissesProposalsWithAReasonOnThePageAndTheAPI: the
// Proposals page lists open proposals with their rule and figures; an operator sees no
// form and the API refuses them; a supervisor's change, approval and dismissal are
// journalled with who and why; a decision without a reason, a change to zero and a
// decision on a decided proposal are refused with what was wrong.
func TestASupervisorChangesApprovesAndDismissesProposalsWithAReasonOnThePageAndTheAPI(t *testing.T) {
	e := startWeb(t, nil)
	a, b := raiseProposal(t, e.j, "A"), raiseProposal(t, e.j, "B")

	op := logIn(t, e, 0)
	if r := op.get("/proposals"); r.StatusCode != http.StatusOK || !strings.Contains(op.last, `id="proposal-1"`) ||
		!strings.Contains(op.last, "min 10, max 50, multiple 12") {
		t.Fatalf("proposals page for an operator: %d\n%s", r.StatusCode, op.last)
	}
	if strings.Contains(op.last, `action="/proposals/1/decide"`) {
		t.Error("an operator is offered the decision form")
	}
	if code, _ := do(t, &server{e.url}, "POST", "/api/v1/proposals/1/decide", opToken, `{"action":"approve","reason":"x"}`); code != http.StatusForbidden {
		t.Errorf("operator token decides: %d, want 403", code)
	}

	sup := logIn(t, e, 1)
	sup.get("/proposals")
	if r := sup.post("/proposals/1/decide", url.Values{"action": {"change"}, "qty": {"0"}, "reason": {"too much"}}); r.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(sup.last, "above zero") {
		t.Fatalf("change to 0: %d\n%s", r.StatusCode, sup.last)
	}
	if r := sup.post("/proposals/1/decide", url.Values{"action": {"approve"}, "reason": {"  "}}); r.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(sup.last, "reason is required") {
		t.Fatalf("approve without reason: %d\n%s", r.StatusCode, sup.last)
	}
	if r := sup.post("/proposals/1/decide", url.Values{"action": {"change"}, "qty": {"36"}, "reason": {"shelf holds 36"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("change: %d\n%s", r.StatusCode, sup.last)
	}
	sup.get("/proposals")
	if r := sup.post("/proposals/1/decide", url.Values{"action": {"approve"}, "reason": {"needed for Monday"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d\n%s", r.StatusCode, sup.last)
	}
	got, err := e.j.GetProposal(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != edge.ProposalApproved || got.Qty.String() != "36" || len(got.History) != 2 ||
		got.History[0].By != "sam" || got.History[1].Reason != "needed for Monday" {
		t.Fatalf("after change and approve: %+v", got)
	}

	api := &server{e.url}
	if code, body := do(t, api, "POST", "/api/v1/proposals/1/decide", supToken, `{"action":"dismiss","reason":"late"}`); code != http.StatusConflict {
		t.Errorf("dismissing an approved proposal: %d %v, want 409", code, body)
	}
	if code, body := do(t, api, "POST", "/api/v1/proposals/9/decide", supToken, `{"action":"dismiss","reason":"x"}`); code != http.StatusNotFound {
		t.Errorf("unknown proposal: %d %v, want 404", code, body)
	}
	if code, body := do(t, api, "POST", "/api/v1/proposals/2/decide", supToken, `{"action":"dismiss","reason":"supplier delivers direct","by":"erp-bot"}`); code != http.StatusOK || body["state"] != "dismissed" {
		t.Fatalf("API dismiss: %d %v", code, body)
	}
	code, body := do(t, api, "GET", "/api/v1/proposals?active=true", opToken, "")
	if list, _ := body["proposals"].([]any); code != http.StatusOK || len(list) != 2 {
		t.Fatalf("API list: %d %v", code, body)
	}
	if got, _ := e.j.GetProposal(b.ID); got.History[0].By != "api:sup (erp-bot)" {
		t.Errorf("API decision by %q", got.History[0].By)
	}
}

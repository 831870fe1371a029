package console_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
)

var (
	formRE     = regexp.MustCompile(`(?s)<form method="post" action="/post" id="post-form".*?</form>`)
	inputRE    = regexp.MustCompile(`<input[^>]*\bname="([^"]+)"[^>]*>`)
	valueRE    = regexp.MustCompile(`\bvalue="([^"]*)"`)
	selectRE   = regexp.MustCompile(`(?s)<select name="([^"]+)"[^>]*>(.*?)</select>`)
	selectedRE = regexp.MustCompile(`<option(?: value="([^"]*)")? selected>([^<]*)</option>`)
)

// formOf reads the post form's fields as a browser would submit them, untouched.
func formOf(t *testing.T, page string) url.Values {
	t.Helper()
	f := formRE.FindString(page)
	if f == "" {
		t.Fatalf("no post form on the page:\n%s", page)
	}
	v := url.Values{}
	for _, m := range inputRE.FindAllStringSubmatch(f, -1) {
		val := ""
		if vm := valueRE.FindStringSubmatch(m[0]); vm != nil {
			val = html.UnescapeString(vm[1])
		}
		v.Set(m[1], val)
	}
	for _, m := range selectRE.FindAllStringSubmatch(f, -1) {
		if o := selectedRE.FindStringSubmatch(m[2]); o != nil {
			v.Set(m[1], html.UnescapeString(firstOf(o[1], o[2])))
		}
	}
	return v
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestASupervisorReversesATransactionThroughAPreFilledFormThatPostsOnlyOnConfirm(t *testing.T) {
	e := startWeb(t, nil)
	orig, _, err := e.j.Commit(context.Background(), edge.Transaction{ID: "po-42", Type: edge.Receipt, Ref: "PO0042",
		Lines: []edge.Line{{Item: "SKU-9", Qty: edge.MustQty("12"), Lot: "L7", To: "WH/Stock"}}})
	if err != nil {
		t.Fatal(err)
	}
	op, sup := logIn(t, e, 0), logIn(t, e, 1)
	op.get("/journal/1")
	if strings.Contains(op.last, `href="/post?reverse=1"`) {
		t.Error("an operator is offered the reversal")
	}
	if r := op.get("/post?reverse=1"); r.StatusCode != http.StatusForbidden {
		t.Errorf("operator opens the reversal: %d", r.StatusCode)
	}
	sup.get("/journal/1")
	if !strings.Contains(sup.last, `href="/post?reverse=1"`) {
		t.Fatalf("the supervisor is not offered the reversal:\n%s", sup.last)
	}
	if r := sup.get("/post?reverse=1"); r.StatusCode != http.StatusOK || !strings.Contains(sup.last, `id="reversal"`) {
		t.Fatalf("reversal form: %d\n%s", r.StatusCode, sup.last)
	}
	if last, _ := e.j.Positions(); last != 1 {
		t.Fatalf("opening the reversal posted something: last seq %d", last)
	}
	form := formOf(t, sup.last)
	want := map[string]string{"type": "issue", "ref": "PO0042", "id": "reversal-of-1", "reverses": "1", "note": "reverses #1 (id po-42)",
		"lines[0].item": "SKU-9", "lines[0].qty": "12", "lines[0].lot": "L7", "lines[0].from": "WH/Stock", "lines[0].to": orig.Lines[0].From}
	for k, v := range want {
		if form.Get(k) != v {
			t.Errorf("form %s = %q, want %q", k, form.Get(k), v)
		}
	}
	if r := sup.post("/post", form); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/journal/2?posted=1" {
		t.Fatalf("confirm: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), sup.last)
	}
	if q := onHand(t, e.j, edge.StockFilter{Item: "SKU-9"}); !q.IsZero() {
		t.Fatalf("stock after the reversal: %s, want 0", q)
	}
	sup.get("/journal/1")
	if !strings.Contains(sup.last, `Reversed by <a href="/journal/2">#2</a>`) || strings.Contains(sup.last, `href="/post?reverse=1"`) {
		t.Errorf("the original does not say it was reversed:\n%s", sup.last)
	}
	// Confirming the same reversal again (a second tablet, a reload) posts nothing new.
	sup.get("/post?reverse=1")
	if !strings.Contains(sup.last, "already reversed by #2") {
		t.Errorf("a second reversal is not warned about")
	}
	sup.post("/post", formOf(t, sup.last))
	if last, _ := e.j.Positions(); last != 2 {
		t.Fatalf("the reversal was posted twice: last seq %d", last)
	}
}

func TestTheReversalOfAnAdjustmentOrACountIsTheOppositeAdjustment(t *testing.T) {
	e := startWeb(t, nil)
	ctx := context.Background()
	for _, tx := range []edge.Transaction{
		{ID: "a1", Type: edge.Adjustment, Reason: "FOUND", Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("3"), To: "Van-1"}}},
		{ID: "c1", Type: edge.Count, Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("10"), To: "Van-1"}}},
	} {
		if _, _, err := e.j.Commit(ctx, tx); err != nil {
			t.Fatal(err)
		}
	}
	sup := logIn(t, e, 1)
	for _, c := range []struct {
		seq       string
		qty, note string
	}{{"1", "-3", "reverses #1 (id a1)"}, {"2", "-7", "reverses #2 (id c1)"}} {
		sup.get("/post?reverse=" + c.seq)
		f := formOf(t, sup.last)
		if f.Get("type") != "adjustment" || f.Get("lines[0].qty") != c.qty || f.Get("lines[0].to") != "Van-1" || f.Get("reason") == "" || f.Get("note") != c.note {
			t.Fatalf("reversal of #%s: %v", c.seq, f)
		}
		if r := sup.post("/post", f); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("confirm reversal of #%s: %d\n%s", c.seq, r.StatusCode, sup.last)
		}
	}
	if q := onHand(t, e.j, edge.StockFilter{Item: "SKU-1", Location: "Van-1"}); !q.IsZero() {
		t.Fatalf("stock after both reversals: %s, want 0", q)
	}
}

func onHand(t *testing.T, j *edge.Journal, f edge.StockFilter) edge.Qty {
	t.Helper()
	rows, err := j.Stock(f)
	if err != nil {
		t.Fatal(err)
	}
	var q edge.Qty
	for _, r := range rows {
		q = q.Add(r.Qty)
	}
	return q
}

// An exception that concerns a transaction offers its reversal; confirming it resolves
// the exception as corrected by the reversal.
func TestAnExceptionOffersTheReversalOfItsTransactionAndTheReversalResolvesIt(t *testing.T) {
	e := startWeb(t, nil)
	if _, _, err := e.j.CommitRaising(context.Background(), edge.Transaction{ID: "w1", Type: edge.Receipt,
		Lines: []edge.Line{{Item: "NEW-7", Qty: edge.MustQty("4"), To: "WH/Stock"}}},
		[]edge.Exception{{Kind: edge.ExcUnknownItem, Item: "NEW-7", Location: "WH/Stock", Message: "unknown"}}); err != nil {
		t.Fatal(err)
	}
	sup := logIn(t, e, 1)
	sup.get("/exceptions")
	if !strings.Contains(sup.last, `href="/post?reverse=1&amp;exception=1"`) {
		t.Fatalf("the exception does not offer the reversal:\n%s", sup.last)
	}
	sup.get("/post?reverse=1&exception=1")
	if r := sup.post("/post", formOf(t, sup.last)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d\n%s", r.StatusCode, sup.last)
	}
	excs, err := e.j.Exceptions(false, 10)
	if err != nil || len(excs) != 1 || excs[0].Resolved == nil || excs[0].Resolved.Action != "reposted" || excs[0].Resolved.Seq != 2 {
		t.Fatalf("exception after the reversal: %+v %v", excs, err)
	}
}

package console

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/gofiber/fiber/v2"
)

// --- dashboard

type dashData struct {
	Status edge.Status
	Uplink *UplinkView
	Chart  any
	// Window is the charts' window (1h, 8h, 24h) and Windows the choices.
	Window     string
	WindowName string
	Windows    []windowLink
	Throughput any
	Stations2  []stationLegend
	TputTotal  int
	TputBucket string
	TputErr    bool
	TputShort  bool
	// ClearsIn estimates when the backlog is cleared at the recent (or last seen) drain
	// rate; ClearRate is that rate in tx/min, 0 when none was seen.
	ClearsIn     string
	ClearRate    float64
	Devices      []DeviceView
	DevicesSet   bool
	Stations     []StationView
	StationsSet  bool
	Now          time.Time
	DrainPerMin  float64
	ReadErr      bool
	LastAckKnown bool
	// Demo is the demo's link switch (nil outside the demo).
	Demo *demoView
}

type demoView struct{ Down bool }

type windowLink struct {
	Key, Label string
	On         bool
}

func (s *Server) dashData(window string) dashData {
	d := dashData{Now: s.now()}
	var span time.Duration
	d.Window, span = chartWindow(window)
	for _, w := range chartWindows {
		d.Windows = append(d.Windows, windowLink{Key: w.Key, Label: w.Label, On: w.Key == d.Window})
		if w.Key == d.Window {
			d.WindowName = w.Label
		}
	}
	st, err := s.j.Status()
	if err != nil {
		s.log.Error("dashboard status", "err", err)
		d.ReadErr = true
	}
	d.Status = st
	d.Uplink = s.uplinkView()
	d.Chart = backlogSVG(s.hist.samples(), d.Now, st.Backlog, span)
	if t, err := s.throughput(d.Now, span); err != nil {
		s.log.Error("dashboard throughput", "err", err)
		d.TputErr = true
	} else {
		d.Throughput, d.Stations2 = throughputSVG(t)
		d.TputTotal, d.TputBucket, d.TputShort = t.Total, fmtSeconds(t.Bucket.Seconds()), t.Truncated
	}
	rate := s.hist.seenDrainRate()
	d.ClearsIn, d.ClearRate = clearEstimate(st.Backlog, rate), rate*60
	d.DevicesSet, d.Devices = s.deviceViews()
	if s.opts.Stations != nil {
		d.StationsSet, d.Stations = true, s.opts.Stations.Stations()
	}
	d.DrainPerMin = s.hist.drainRate() * 60
	if s.opts.DemoLink != nil {
		d.Demo = &demoView{Down: s.opts.DemoLink.Down()}
	}
	return d
}

// demoUplink cuts or restores the demo's link (the demo only: 404 elsewhere).
func (s *Server) demoUplink(c *fiber.Ctx) error {
	if s.opts.DemoLink == nil {
		return s.renderError(c, fiber.StatusNotFound, "There is no demo link to switch: this is not depotd demo.")
	}
	s.opts.DemoLink.SetDown(c.FormValue("down") == "1")
	return c.Redirect("/", fiber.StatusSeeOther)
}

func (s *Server) dashboard(c *fiber.Ctx) error {
	return s.render(c, "dashboard", fiber.StatusOK, pageData{Title: "Dashboard", Data: s.dashData(strings.Clone(c.Query("window")))})
}

// --- stations

func (s *Server) stationsPage(c *fiber.Ctx) error {
	var list []StationView
	if s.opts.Stations != nil {
		list = s.opts.Stations.Stations()
	}
	return s.render(c, "stations", fiber.StatusOK, pageData{Title: "Stations", Data: struct {
		Set      bool
		Stations []StationView
	}{s.opts.Stations != nil, list}})
}

func (s *Server) findStation(name string) (StationView, bool) {
	if s.opts.Stations == nil {
		return StationView{}, false
	}
	for _, st := range s.opts.Stations.Stations() {
		if st.Name == name {
			return st, true
		}
	}
	return StationView{}, false
}

func (s *Server) stationPage(c *fiber.Ctx) error {
	name := strings.Clone(c.Params("name"))
	st, ok := s.findStation(name)
	if !ok {
		return s.renderError(c, fiber.StatusNotFound, fmt.Sprintf("No station named %q.", name))
	}
	return s.render(c, "station", fiber.StatusOK, pageData{Title: "Station " + name, Nav: "stations", Data: st})
}

// --- stock

type stockQuery struct {
	Item, Barcode, Location, Lot string
}

type stockGroup struct {
	Item, Location, Lot string
	// Cells has one entry per edge.StockStates, formatted once here: a page of hundreds of
	// rows renders in a few milliseconds only without per-cell template logic.
	Cells []stockCell
	// Unacked is the net effect of the transactions the ERP has not acknowledged yet, and
	// HasUnacked whether any touches this line (even netting to zero): the only figure
	// here that needs attention.
	Unacked    string
	HasUnacked bool
	// SnapDiff is the local quantity minus the ERP's last snapshot: transactions the ERP
	// has not counted into a snapshot yet, acknowledged or not. Informative, not an alarm.
	SnapDiff             string
	unacked, diff, total edge.Qty
}

type stockCell struct {
	Label      string // the state, named where a narrow screen stacks the row
	Has        bool
	Qty        string
	Unacked    string
	UnackedTxs int
}

type stockData struct {
	Q stockQuery
	// Snapshot describes the ERP's last stock snapshot: Has false means none yet, SnapAge
	// its age ("" when the time is unknown).
	Snapshot  edge.SnapshotInfo
	SnapAge   string
	Groups    []stockGroup
	Locations []edge.Location
	NextURL   string
	Message   string
	CSVQuery  string
	CanAsk    bool // the depot can ask the ERP for a snapshot (the button, for supervisors)
}

const stockPageRows = 200

// stockFilter resolves a barcode to its item through the master data; a barcode nobody
// knows matches nothing (and says so).
func (s *Server) stockFilter(q stockQuery) (edge.StockFilter, string, bool) {
	f := edge.StockFilter{Item: q.Item, Location: q.Location, Lot: q.Lot}
	if q.Barcode != "" {
		view, _ := s.j.MasterView() // on a read error, the last view built
		item, ok := view.ItemByBarcode(q.Barcode)
		it := item.SKU
		if !ok {
			return f, fmt.Sprintf("No item in the master data has barcode %q.", q.Barcode), false
		}
		if f.Item != "" && f.Item != it {
			return f, fmt.Sprintf("Barcode %q belongs to %s, not %s.", q.Barcode, it, f.Item), false
		}
		f.Item = it
	}
	return f, "", true
}

func readStockQuery(c *fiber.Ctx) stockQuery {
	return stockQuery{Item: strings.TrimSpace(c.Query("item")), Barcode: strings.TrimSpace(c.Query("barcode")),
		Location: strings.TrimSpace(c.Query("location")), Lot: strings.TrimSpace(c.Query("lot"))}
}

func (s *Server) stockPage(c *fiber.Ctx) error {
	q := readStockQuery(c)
	d := stockData{Q: q, Locations: s.j.Catalog().Locations(),
		CSVQuery: fmt.Sprintf("item=%s&barcode=%s&location=%s&lot=%s", qe(q.Item), qe(q.Barcode), qe(q.Location), qe(q.Lot))}
	snap, err := s.j.StockSnapshotInfo()
	if err != nil {
		return err
	}
	d.Snapshot = snap
	if snap.At != nil {
		d.SnapAge = fmtSeconds(s.now().Sub(*snap.At).Seconds()) + " ago"
	}
	f, msg, ok := s.stockFilter(q)
	d.Message = msg
	if ok {
		f.Limit = stockPageRows
		after, err := hex.DecodeString(c.Query("after"))
		if err != nil {
			return s.renderError(c, fiber.StatusBadRequest, "Bad page cursor.")
		}
		page, err := s.j.StockQuery(f, string(after))
		if err != nil {
			return err
		}
		d.Groups = groupStock(page.Rows)
		if page.Next != "" {
			d.NextURL = "/stock?" + d.CSVQuery + "&after=" + hex.EncodeToString([]byte(page.Next))
		}
	}
	d.CanAsk = s.opts.Snapshot != nil
	flash := ""
	if c.Query("snapshot") == "asked" {
		flash = "Asked the ERP for a stock snapshot: the \"ERP's last stock snapshot\" line changes when it arrives."
	}
	return s.render(c, "stock", fiber.StatusOK, pageData{Title: "Stock", Flash: flash, Data: d})
}

// askSnapshot asks the ERP for a stock snapshot now (supervisors), then shows the stock.
func (s *Server) askSnapshot(c *fiber.Ctx) error {
	if s.opts.Snapshot == nil {
		return s.renderError(c, fiber.StatusNotFound, "This depot has no uplink to ask the ERP through.")
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 15*time.Second)
	defer cancel()
	if err := s.opts.Snapshot.AskSnapshot(ctx); err != nil {
		s.log.Warn("console stock snapshot request failed", "err", err)
		return s.renderError(c, fiber.StatusServiceUnavailable, "The ERP could not be asked for a stock snapshot: "+err.Error()+". Try again once the uplink is online.")
	}
	return c.Redirect("/stock?snapshot=asked", fiber.StatusSeeOther)
}

// groupStock folds ledger rows (one per state) into one line per item, location and lot;
// the rows come ordered by item, location, lot, state.
func groupStock(rows []edge.StockRow) []stockGroup {
	col := map[edge.StockState]int{}
	labels := make([]string, len(edge.StockStates))
	for i, st := range edge.StockStates {
		col[st] = i
		labels[i] = strings.ReplaceAll(string(st), "_", " ")
	}
	var out []stockGroup
	for _, r := range rows {
		n := len(out)
		if n == 0 || out[n-1].Item != r.Item || out[n-1].Location != r.Location || out[n-1].Lot != r.Lot {
			cells := make([]stockCell, len(edge.StockStates))
			for i := range cells {
				cells[i].Label = labels[i]
			}
			out = append(out, stockGroup{Item: r.Item, Location: r.Location, Lot: r.Lot, Cells: cells})
			n++
		}
		g := &out[n-1]
		if i, ok := col[r.State]; ok {
			g.Cells[i] = stockCell{Label: g.Cells[i].Label, Has: true, Qty: r.Qty.String(), Unacked: signed(r.Unacked), UnackedTxs: r.UnackedTxs}
		}
		g.unacked, g.diff, g.total = g.unacked.Add(r.Unacked), g.diff.Add(r.Pending), g.total.Add(r.Qty)
		g.HasUnacked = g.HasUnacked || r.UnackedTxs > 0
	}
	for i := range out {
		out[i].Unacked, out[i].SnapDiff = signed(out[i].unacked), signed(out[i].diff)
	}
	return out
}

// signed prints a change with its sign (+5, −3, 0).
func signed(q edge.Qty) string {
	if q.Sign() > 0 {
		return "+" + q.String()
	}
	return q.String()
}

// stockCSV exports every matching ledger row (not only one page).
func (s *Server) stockCSV(c *fiber.Ctx) error {
	f, msg, ok := s.stockFilter(readStockQuery(c))
	if !ok {
		return s.renderError(c, fiber.StatusNotFound, msg)
	}
	f.Limit = 1 << 30
	rows, err := s.j.Stock(f)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="stock-%s-%s.csv"`, s.j.Depot(), s.now().Format("20060102-150405")))
	w := csv.NewWriter(c.Response().BodyWriter())
	_ = w.Write([]string{"item", "location", "lot", "state", "qty", "erp_qty", "pending_qty"})
	for _, r := range rows {
		_ = w.Write([]string{csvText(r.Item), csvText(r.Location), csvText(r.Lot), string(r.State), r.Qty.String(), r.ERPQty.String(), r.Pending.String()})
	}
	w.Flush()
	return w.Error()
}

// csvText keeps a spreadsheet from reading a text cell as a formula.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// --- journal

type journalData struct {
	F        journalForm
	Page     edge.JournalPage
	NextURL  string
	Error    string
	Stations []string
}

type journalForm struct {
	Type, Station, Operator, Item, From, To, Sync string
}

func (s *Server) journalPage(c *fiber.Ctx) error {
	f := journalForm{Type: c.Query("type"), Station: strings.TrimSpace(c.Query("station")), Operator: strings.TrimSpace(c.Query("operator")),
		Item: strings.TrimSpace(c.Query("item")), From: c.Query("from"), To: c.Query("to"), Sync: c.Query("sync")}
	d := journalData{F: f}
	q := edge.JournalQuery{Type: edge.TxType(f.Type), Station: f.Station, Operator: f.Operator, Item: f.Item, Sync: edge.SyncState(f.Sync), Limit: 50}
	var err error
	if q.Before, err = queryUint(c, "before", 0); err != nil {
		d.Error = err.Error()
	}
	parseDay := func(v string, addDay bool) time.Time {
		if v == "" {
			return time.Time{}
		}
		t, perr := time.ParseInLocation("2006-01-02", v, time.Local)
		if perr != nil {
			d.Error = fmt.Sprintf("date %q: use YYYY-MM-DD", v)
			return time.Time{}
		}
		if addDay {
			t = t.AddDate(0, 0, 1)
		}
		return t
	}
	q.From, q.To = parseDay(f.From, false), parseDay(f.To, true)
	if d.Error == "" {
		d.Page, err = s.j.Query(q)
		var fe *edge.FieldError
		if errors.As(err, &fe) {
			d.Error = fe.Error()
		} else if err != nil {
			return err
		}
	}
	if d.Page.Next != 0 {
		args := fmt.Sprintf("type=%s&station=%s&operator=%s&item=%s&from=%s&to=%s&sync=%s&before=%d",
			qe(f.Type), qe(f.Station), qe(f.Operator), qe(f.Item), qe(f.From), qe(f.To), qe(f.Sync), d.Page.Next)
		d.NextURL = "/journal?" + args
	}
	return s.render(c, "journal", fiber.StatusOK, pageData{Title: "Journal", Data: d})
}

type entryData struct {
	Tx        edge.Transaction
	Sync      edge.SyncState
	Rejection *edge.Exception
	Acked     uint64
	// CanReverse offers the pre-filled reversing transaction (supervisors); ReversedBy is
	// the seq of the reversal already posted, if any.
	CanReverse bool
	ReversedBy uint64
}

func (s *Server) entryPage(c *fiber.Ctx) error {
	seq, err := strconv.ParseUint(c.Params("seq"), 10, 64)
	if err != nil || seq == 0 {
		return s.renderError(c, fiber.StatusNotFound, "No such journal entry.")
	}
	tx, err := s.j.Get(seq)
	if errorsIsNotFound(err) {
		return s.renderError(c, fiber.StatusNotFound, fmt.Sprintf("No journal entry with seq %d.", seq))
	}
	if err != nil {
		return err
	}
	_, acked := s.j.Positions()
	d := entryData{Tx: tx, Acked: acked, Sync: edge.SyncAcked,
		CanReverse: tx.Type != edge.Void && s.currentUser(c).Role.AtLeast(RoleSupervisor)}
	if r, err := s.j.GetByID(reversalID(seq)); err == nil {
		d.ReversedBy = r.Seq
	}
	if seq > acked {
		d.Sync = edge.SyncPending
	}
	if e, ok, err := s.j.Rejection(seq); err != nil {
		return err
	} else if ok {
		d.Rejection, d.Sync = &e, edge.SyncRejected
	}
	flash := ""
	if c.Query("posted") == "1" {
		flash = fmt.Sprintf("Transaction #%d posted.", seq)
	}
	return s.render(c, "entry", fiber.StatusOK, pageData{Title: fmt.Sprintf("Journal #%d", seq), Nav: "journal", Flash: flash, Data: d})
}

// --- exceptions

type excData struct {
	Limited    bool
	All        bool
	Exceptions []edge.Exception
	Open       int
	Flash      string
	// Dropped are the exports of forced restores beside the database, each offered for
	// re-posting; Reposted says what the last re-post did.
	Dropped  []droppedExport
	Reposted []string
}

// droppedExport is one <db>.dropped-<time>.jsonl a forced restore wrote.
type droppedExport struct {
	File     string // base name, beside the database
	Txs      int    // transactions in it (voids included)
	Reposted int    // of which re-posted already
	Err      string // why it cannot be read
}

func (s *Server) exceptionsPage(c *fiber.Ctx) error {
	all := c.Query("all") == "1"
	list, err := s.j.Exceptions(!all, 100)
	if err != nil {
		return err
	}
	st, _ := s.j.Status()
	flash := ""
	if id := c.Query("resolved"); id != "" {
		flash = "Exception " + id + " resolved."
	}
	return s.render(c, "exceptions", fiber.StatusOK, pageData{Title: "Exceptions", Flash: flash,
		Data: excData{All: all, Exceptions: list, Open: st.OpenExceptions, Limited: len(list) == 100, Dropped: s.droppedExports()}})
}

// droppedExports lists the exports forced restores left beside the database, newest
// first, with how much of each was re-posted.
func (s *Server) droppedExports() []droppedExport {
	names, _ := filepath.Glob(s.j.Path() + ".dropped-*.jsonl") // the pattern is valid: no error
	var out []droppedExport
	for i := len(names) - 1; i >= 0; i-- {
		d := droppedExport{File: filepath.Base(names[i])}
		txs, err := readDroppedFile(names[i])
		if err != nil {
			d.Err = err.Error()
		}
		d.Txs = len(txs)
		for _, tx := range txs {
			if tx.Type == edge.Void {
				d.Reposted++ // nothing to post
			} else if _, err := s.j.GetByID(edge.RepostID(tx)); err == nil {
				d.Reposted++
			}
		}
		out = append(out, d)
	}
	return out
}

func readDroppedFile(path string) ([]edge.Transaction, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return edge.ReadDropped(f)
}

// repostForm posts a forced restore's dropped transactions again (edge.Journal.
// RepostDropped), the export named by its base name among those droppedExports lists (so
// that no other file can be named), and shows what became of each.
func (s *Server) repostForm(c *fiber.Ctx) error {
	name := strings.Clone(c.FormValue("file"))
	var path string
	for _, d := range s.droppedExports() {
		if d.File == name {
			path = filepath.Join(filepath.Dir(s.j.Path()), name)
		}
	}
	if path == "" {
		return s.renderError(c, fiber.StatusNotFound, fmt.Sprintf("No export of dropped transactions named %q beside the database.", name))
	}
	txs, err := readDroppedFile(path)
	if err != nil {
		return s.renderError(c, fiber.StatusUnprocessableEntity, fmt.Sprintf("%s cannot be read (%v): nothing was posted.", name, err))
	}
	// One commit per transaction, each durable before the next: more time than one request.
	ctx, cancel := context.WithTimeout(c.UserContext(), s.cfg.RequestTimeout+time.Duration(len(txs))*time.Second)
	defer cancel()
	outcomes, rerr := s.j.RepostDropped(ctx, txs)
	var posted, again, refused int
	var lines []string
	for _, o := range outcomes {
		what := fmt.Sprintf("seq %d %s (id %s)", o.Dropped.Seq, o.Dropped.Type, o.Dropped.ID)
		switch {
		case o.Skipped != "":
		case o.Err != nil:
			refused++
			lines = append(lines, fmt.Sprintf("Refused %s: %v", what, o.Err))
		case o.Existing:
			again++
		default:
			posted++
			lines = append(lines, fmt.Sprintf("Posted %s as #%d", what, o.Seq))
		}
	}
	sum := fmt.Sprintf("%s: %d posted, %d re-posted before, %d refused.", name, posted, again, refused)
	if rerr != nil {
		s.log.Error("console repost", "file", name, "err", rerr)
		sum += fmt.Sprintf(" Stopped after %d of %d (see the depotd log): press again, nothing is posted twice.", len(outcomes), len(txs))
	}
	s.log.Info("console repost", "file", name, "posted", posted, "again", again, "refused", refused, "user", s.currentUser(c).Name)
	list, err := s.j.Exceptions(true, 100)
	if err != nil {
		return err
	}
	st, _ := s.j.Status()
	return s.render(c, "exceptions", fiber.StatusOK, pageData{Title: "Exceptions",
		Data: excData{Exceptions: list, Open: st.OpenExceptions, Limited: len(list) == 100, Dropped: s.droppedExports(),
			Reposted: append([]string{sum}, lines...)}})
}

var errResolve = errors.New("cannot resolve")

// resolve closes exception id. action says what was done about it: dismissed (nothing
// needed correcting), acknowledged (seen, correct as it stands) or reposted (corrected by
// the transaction with seq, which must exist). None of them moves stock: a correction is a
// transaction of its own. "voided", the old name of dismissed, is still accepted (it voided
// nothing, which is why it was renamed). The resolution is journalled with who and why.
func (s *Server) resolve(id uint64, action, reason string, seq uint64, by string) (edge.Exception, string, error) {
	reason = strings.TrimSpace(reason)
	if action == "voided" {
		action = "dismissed"
	}
	switch action {
	case "dismissed", "acknowledged":
		seq = 0
	case "reposted":
		if seq == 0 {
			return edge.Exception{}, "seq", fmt.Errorf("%w: a re-post names the corrective transaction's seq", errResolve)
		}
		if _, err := s.j.Get(seq); err != nil {
			return edge.Exception{}, "seq", fmt.Errorf("%w: no transaction with seq %d", errResolve, seq)
		}
	default:
		return edge.Exception{}, "action", fmt.Errorf("%w: action must be dismissed, acknowledged or reposted", errResolve)
	}
	if reason == "" {
		return edge.Exception{}, "reason", fmt.Errorf("%w: a reason is required", errResolve)
	}
	if len(reason) > 500 {
		return edge.Exception{}, "reason", fmt.Errorf("%w: reason longer than 500 bytes", errResolve)
	}
	e, err := s.j.ResolveException(id, edge.Resolution{By: by, Action: action, Reason: reason, Seq: seq})
	if err != nil {
		if errors.Is(err, edge.ErrNotFound) {
			return e, "id", fmt.Errorf("%w: no exception %d", errResolve, id)
		}
		if strings.Contains(err.Error(), "already resolved") {
			return e, "id", fmt.Errorf("%w: %v", errResolve, err)
		}
		return e, "", err
	}
	s.log.Info("exception resolved", "id", id, "action", action, "by", by, "seq", seq)
	return e, "", nil
}

func (s *Server) resolveError(c *fiber.Ctx, err error, field string) error {
	if errors.Is(err, errResolve) {
		code := fiber.StatusUnprocessableEntity
		if field == "id" && strings.Contains(err.Error(), "no exception") {
			code = fiber.StatusNotFound
		} else if field == "id" {
			code = fiber.StatusConflict
		}
		return apiError(c, code, err.Error(), field)
	}
	s.log.Error("resolve exception", "err", err)
	return apiError(c, fiber.StatusServiceUnavailable, "journal write failed (see the depotd log)", "")
}

func (s *Server) resolveForm(c *fiber.Ctx) error {
	id, _ := strconv.ParseUint(c.Params("id"), 10, 64)
	seq, _ := strconv.ParseUint(strings.TrimSpace(c.FormValue("seq")), 10, 64)
	u := s.currentUser(c)
	_, _, err := s.resolve(id, strings.Clone(c.FormValue("action")), strings.Clone(c.FormValue("reason")), seq, u.Name)
	if err != nil {
		if !errors.Is(err, errResolve) {
			return err
		}
		list, lerr := s.j.Exceptions(true, 100)
		if lerr != nil {
			return lerr
		}
		st, _ := s.j.Status()
		return s.render(c, "exceptions", fiber.StatusUnprocessableEntity, pageData{Title: "Exceptions",
			Data: excData{Exceptions: list, Open: st.OpenExceptions, Flash: fmt.Sprintf("Exception %d: %v", id, errors.Unwrap(err))}})
	}
	return c.Redirect(fmt.Sprintf("/exceptions?resolved=%d", id), fiber.StatusSeeOther)
}

// --- devices & settings

type devicesData struct {
	Set      bool
	Devices  []DeviceView
	Settings string
	Summary  settingsSummary
	CanScan  bool
	Scan     string
	Result   *TestScanResult
	ScanErr  string
}

func (s *Server) devicesData(c *fiber.Ctx) devicesData {
	d := devicesData{CanScan: s.opts.TestScan != nil}
	d.Set, d.Devices = s.deviceViews()
	d.Summary = s.summarise()
	if u := s.currentUser(c); u != nil && u.Role.AtLeast(RoleSupervisor) {
		d.Settings = s.settingsYAML()
	}
	return d
}

func (s *Server) devicesPage(c *fiber.Ctx) error {
	return s.render(c, "devices", fiber.StatusOK, pageData{Title: "Devices & settings", Data: s.devicesData(c)})
}

func (s *Server) testScan(c *fiber.Ctx) error {
	d := s.devicesData(c)
	d.Scan = strings.Clone(c.FormValue("scan"))
	code := fiber.StatusOK
	switch {
	case s.opts.TestScan == nil:
		d.ScanErr, code = "The test scan is not configured on this depotd.", fiber.StatusServiceUnavailable
	case d.Scan == "":
		d.ScanErr, code = "Type or scan a barcode first.", fiber.StatusUnprocessableEntity
	default:
		ctx, cancel := context.WithTimeout(c.UserContext(), 5*time.Second)
		defer cancel()
		// Typed scans cannot hold a GS byte: accept the usual stand-ins for FNC1.
		raw := strings.NewReplacer(`\x1d`, "\x1d", `<GS>`, "\x1d", `\u001d`, "\x1d").Replace(d.Scan)
		res, err := s.opts.TestScan.TestScan(ctx, raw)
		if err != nil {
			d.ScanErr, code = err.Error(), fiber.StatusUnprocessableEntity
		} else {
			d.Result = &res
		}
	}
	return s.render(c, "devices", code, pageData{Title: "Devices & settings", Nav: "devices", Data: d})
}

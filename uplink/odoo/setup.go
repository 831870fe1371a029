package odoo

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/depotd/depotd/edge"
)

// PostAction is the Python code of the server action that posts one depot transaction
// exactly once (see post_action.py, written for depotd; nothing in it is Odoo's code).
//
//go:embed post_action.py
var PostAction string

// Names of what setup installs in Odoo.
const (
	Module      = "depotd"              // ir.model.data module of every depotd key
	paramPrefix = "depotd.applied_seq." // + Slug(depot): the depot's applied seq
)

// The post action is installed under a name and xml id carrying a digest of its code, so
// connectors of two depotd versions sharing one database (a rolling upgrade) each run the
// action they were built with instead of rewriting one action back and forth; their
// postings still serialize on the same applied-seq rows and keys.
var (
	postActionDigest = func() string { h := sha256.Sum256([]byte(PostAction)); return hex.EncodeToString(h[:6]) }()
	// PostActionXMLID is the ir.model.data name (module depotd) of this depotd's post action.
	PostActionXMLID = "action_post_" + postActionDigest
	// PostActionName is the ir.actions.server name of this depotd's post action.
	PostActionName = "depotd: post a depot transaction (" + postActionDigest + ")"
)

// AppliedSeqParam is the ir.config_parameter key holding a depot's applied seq.
func AppliedSeqParam(depot string) string { return paramPrefix + Slug(depot) }

// Step is one thing setup checked, and whether it changed Odoo to get there.
type Step struct {
	Changed bool
	What    string
}

func (s Step) String() string {
	if s.Changed {
		return "changed  " + s.What
	}
	return "ok       " + s.What
}

// SetupError is a refusal of setup: something it will not fix by itself (another Odoo
// version, a missing warehouse). Steps before it may already have changed Odoo.
type SetupError struct{ Msg string }

func (e *SetupError) Error() string { return e.Msg }

// Version is Odoo's server version, from /web/version.
type Version struct {
	Text  string // e.g. "19.0"
	Major int
}

// Version asks Odoo for its version (GET /web/version, which every Odoo since 16 serves
// without login).
func (c *Client) Version(ctx context.Context) (Version, error) {
	const op = "web/version"
	status, raw, err := c.do(ctx, op, http.MethodGet, "/web/version", nil)
	if err != nil {
		return Version{}, err
	}
	if status != http.StatusOK {
		return Version{}, &Error{Op: op, Status: status, Kind: kindOf(status), Message: "no version: is this Odoo?"}
	}
	var body struct {
		Version     string            `json:"version"`
		VersionInfo []json.RawMessage `json:"version_info"`
	}
	if err := json.Unmarshal(raw, &body); err != nil || len(body.VersionInfo) == 0 {
		return Version{}, &Error{Op: op, Status: status, Kind: ErrProtocol, Message: "not Odoo's version answer", Err: err}
	}
	v := Version{Text: body.Version}
	// version_info[0] is the major version; a SaaS build says e.g. "saas~18.4".
	if n, err := strconv.Atoi(string(body.VersionInfo[0])); err == nil {
		v.Major = n
	} else if s, err := strconv.Unquote(string(body.VersionInfo[0])); err == nil {
		s = strings.TrimPrefix(s, "saas~")
		s, _, _ = strings.Cut(s, ".")
		v.Major, _ = strconv.Atoi(s)
	}
	return v, nil
}

// CheckVersion refuses every Odoo but 19.x, saying why.
func CheckVersion(v Version) error {
	if v.Major != 19 {
		return &SetupError{Msg: fmt.Sprintf("Odoo %s is not supported: depotd erp needs Odoo 19.x (its JSON-2 API and the stock model it was tested against); Odoo 17/18 through /jsonrpc is not implemented", v.Text)}
	}
	return nil
}

type m2o []json.RawMessage // [id, "display name"] or false

func (r m2o) name() string {
	var n string
	if len(r) > 1 {
		_ = json.Unmarshal(r[1], &n)
	}
	return n
}

func (r m2o) id() int {
	if len(r) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(string(r[0]))
	return n
}

type setup struct {
	c     *Client
	steps []Step
}

func (s *setup) ok(format string, args ...any) {
	s.steps = append(s.steps, Step{false, fmt.Sprintf(format, args...)})
}
func (s *setup) changed(format string, args ...any) {
	s.steps = append(s.steps, Step{true, fmt.Sprintf(format, args...)})
}

func (s *setup) call(ctx context.Context, model, method string, params, result any) error {
	return s.c.Call(ctx, model, method, params, result)
}

// Setup prepares Odoo for the depots: it checks the version (19.x only), turns on the
// settings posting needs (lots and serial numbers, storage locations, expiration dates),
// checks each depot's warehouse and mapped locations, creates the missing quarantine and
// damaged locations under the warehouse, and installs the post action, the proposal
// action and each depot's applied-seq record. It is idempotent: a second run changes nothing and its steps all
// say "ok". It returns the steps done so far even when it fails.
func Setup(ctx context.Context, c *Client, depots []Depot) ([]Step, error) {
	s := &setup{c: c}
	err := s.run(ctx, depots)
	return s.steps, err
}

func (s *setup) run(ctx context.Context, depots []Depot) error {
	v, err := s.c.Version(ctx)
	if err != nil {
		return err
	}
	if err := CheckVersion(v); err != nil {
		return err
	}
	var uctx struct {
		UID int `json:"uid"`
	}
	if err := s.call(ctx, "res.users", "context_get", nil, &uctx); err != nil {
		return err
	}
	s.ok("Odoo %s, database %s, API key of user id %d", v.Text, s.c.db, uctx.UID)
	if err := s.settings(ctx); err != nil {
		return err
	}
	var prec []struct {
		Digits json.Number `json:"digits"`
	}
	if err := s.call(ctx, "decimal.precision", "search_read", map[string]any{
		"domain": []any{[]any{"name", "=", "Product Unit"}}, "fields": []string{"digits"}}, &prec); err != nil {
		return err
	}
	if len(prec) == 1 {
		s.ok("Odoo keeps %s decimals of quantities (decimal precision \"Product Unit\"); a depot quantity with more is rejected, never rounded", prec[0].Digits)
	}
	for _, d := range depots {
		if err := s.depot(ctx, d); err != nil {
			return err
		}
	}
	if err := s.postAction(ctx); err != nil {
		return err
	}
	return s.proposalAction(ctx)
}

// settingsFields are the res.config.settings booleans posting relies on.
var settingsFields = []struct{ field, label string }{
	{"group_stock_production_lot", "Lots & Serial Numbers"},
	{"group_stock_multi_locations", "Storage Locations"},
	{"module_product_expiry", "Expiration Dates"},
}

func (s *setup) settings(ctx context.Context) error {
	var fields []string
	for _, f := range settingsFields {
		fields = append(fields, f.field)
	}
	var cur map[string]any
	if err := s.call(ctx, "res.config.settings", "default_get", map[string]any{"fields": fields}, &cur); err != nil {
		return err
	}
	vals := map[string]any{}
	var on, turned []string
	for _, f := range settingsFields {
		if cur[f.field] == true {
			on = append(on, f.label)
			continue
		}
		vals[f.field] = true
		turned = append(turned, f.label)
	}
	if len(turned) == 0 {
		s.ok("settings on: %s", strings.Join(on, ", "))
		return nil
	}
	var ids []int
	if err := s.call(ctx, "res.config.settings", "create", map[string]any{"vals_list": []any{vals}}, &ids); err != nil {
		return err
	}
	if err := s.call(ctx, "res.config.settings", "execute", map[string]any{"ids": ids}, nil); err != nil {
		return err
	}
	s.changed("turned on the settings %s", strings.Join(turned, ", "))
	return nil
}

type warehouse struct {
	ID      int    `json:"id"`
	Code    string `json:"code"`
	Name    string `json:"name"`
	View    m2o    `json:"view_location_id"`
	Stock   m2o    `json:"lot_stock_id"`
	Company m2o    `json:"company_id"`
	InType  m2o    `json:"in_type_id"`
}

func (s *setup) depot(ctx context.Context, d Depot) error {
	var whs []warehouse
	if err := s.call(ctx, "stock.warehouse", "search_read", map[string]any{
		"domain": []any{[]any{"code", "=", d.Warehouse}},
		"fields": []string{"code", "name", "view_location_id", "lot_stock_id", "company_id", "in_type_id"},
	}, &whs); err != nil {
		return err
	}
	if len(whs) != 1 {
		return &SetupError{Msg: fmt.Sprintf("depot %s: Odoo has %d warehouses with the short name %q, want exactly one (create it in Odoo's Inventory → Configuration → Warehouses, or fix the depot's warehouse in erp.yaml)", d.ID, len(whs), d.Warehouse)}
	}
	wh := whs[0]
	s.ok("depot %s: warehouse %s (%s), stock location %s", d.ID, wh.Code, wh.Name, wh.Stock.name())
	// Quarantine and damaged: created when missing and directly under the warehouse.
	for _, st := range []edge.StockState{edge.Quarantine, edge.Damaged} {
		name := d.StateLocation(st)
		id, err := s.locationID(ctx, name)
		if err != nil {
			return err
		}
		if id != 0 {
			s.ok("depot %s: %s stock goes to %s (stock.location %d)", d.ID, st, name, id)
			continue
		}
		parent, leaf, found := strings.Cut(name, "/")
		if !found || parent != d.Warehouse || strings.Contains(leaf, "/") || leaf == "" {
			return &SetupError{Msg: fmt.Sprintf("depot %s: the %s location %s does not exist in Odoo; setup only creates one directly under the warehouse (%s/<name>): create it in Odoo or change states.%s in erp.yaml", d.ID, st, name, d.Warehouse, st)}
		}
		var ids []int
		if err := s.call(ctx, "stock.location", "create", map[string]any{"vals_list": []any{map[string]any{
			"name": leaf, "location_id": wh.View.id(), "usage": "internal", "company_id": wh.Company.id(),
		}}}, &ids); err != nil {
			return err
		}
		s.changed("depot %s: created the %s location %s (stock.location %d)", d.ID, st, name, ids[0])
	}
	// Mapped locations must exist; setup does not invent a warehouse's layout.
	for _, name := range sortedKeys(d.Locations) {
		odooName := d.Locations[name]
		id, err := s.locationID(ctx, odooName)
		if err != nil {
			return err
		}
		if id == 0 {
			return &SetupError{Msg: fmt.Sprintf("depot %s: depot location %s maps to %s, which does not exist in Odoo (create it, or fix locations in erp.yaml)", d.ID, name, odooName)}
		}
		s.ok("depot %s: location %s is %s (stock.location %d)", d.ID, name, odooName, id)
	}
	if err := s.transit(ctx, d, wh); err != nil {
		return err
	}
	return s.appliedSeq(ctx, d)
}

// locationID is the id of the active internal location with that complete name, or 0.
func (s *setup) locationID(ctx context.Context, completeName string) (int, error) {
	var ids []int
	err := s.call(ctx, "stock.location", "search", map[string]any{
		"domain": []any{[]any{"complete_name", "=", completeName}, []any{"usage", "=", "internal"}}}, &ids)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	return ids[0], nil
}

func (s *setup) transit(ctx context.Context, d Depot, wh warehouse) error {
	if name := d.States[edge.InTransit]; name != "" {
		var ids []int
		if err := s.call(ctx, "stock.location", "search", map[string]any{"domain": []any{[]any{"complete_name", "=", name}}}, &ids); err != nil {
			return err
		}
		if len(ids) == 0 {
			return &SetupError{Msg: fmt.Sprintf("depot %s: the in_transit location %s does not exist in Odoo", d.ID, name)}
		}
		s.ok("depot %s: in_transit stock goes to %s (stock.location %d)", d.ID, name, ids[0])
		return nil
	}
	var cos []struct {
		Transit m2o `json:"internal_transit_location_id"`
	}
	if err := s.call(ctx, "res.company", "read", map[string]any{"ids": []int{wh.Company.id()}, "fields": []string{"internal_transit_location_id"}}, &cos); err != nil {
		return err
	}
	if len(cos) != 1 || cos[0].Transit.id() == 0 {
		return &SetupError{Msg: fmt.Sprintf("depot %s: the warehouse's company has no inter-warehouse transit location; set states.in_transit in erp.yaml", d.ID)}
	}
	tid := cos[0].Transit.id()
	var locs []struct {
		Name   string `json:"complete_name"`
		Active bool   `json:"active"`
	}
	if err := s.call(ctx, "stock.location", "read", map[string]any{"ids": []int{tid}, "fields": []string{"complete_name", "active"},
		"context": map[string]any{"active_test": false}}, &locs); err != nil {
		return err
	}
	if len(locs) != 1 {
		return &SetupError{Msg: fmt.Sprintf("depot %s: cannot read the company's transit location %d", d.ID, tid)}
	}
	if locs[0].Active {
		s.ok("depot %s: in_transit stock goes to %s (stock.location %d)", d.ID, locs[0].Name, tid)
		return nil
	}
	// Odoo keeps it archived until a second warehouse exists; a depot's in-transit stock
	// needs it active.
	if err := s.call(ctx, "stock.location", "write", map[string]any{"ids": []int{tid}, "vals": map[string]any{"active": true}}, nil); err != nil {
		return err
	}
	s.changed("depot %s: unarchived %s (stock.location %d) for in_transit stock", d.ID, locs[0].Name, tid)
	return nil
}

func (s *setup) appliedSeq(ctx context.Context, d Depot) error {
	key := AppliedSeqParam(d.ID)
	var rows []struct {
		Value string `json:"value"`
	}
	if err := s.call(ctx, "ir.config_parameter", "search_read", map[string]any{
		"domain": []any{[]any{"key", "=", key}}, "fields": []string{"value"}}, &rows); err != nil {
		return err
	}
	if len(rows) == 1 {
		s.ok("depot %s: applied seq %s (ir.config_parameter %s)", d.ID, rows[0].Value, key)
		return nil
	}
	if err := s.call(ctx, "ir.config_parameter", "create", map[string]any{"vals_list": []any{map[string]any{"key": key, "value": "0"}}}, nil); err != nil {
		// The key is unique: a concurrent setup may have just made it.
		if errors.Is(err, ErrRefused) {
			if again := s.call(ctx, "ir.config_parameter", "search_read", map[string]any{
				"domain": []any{[]any{"key", "=", key}}, "fields": []string{"value"}}, &rows); again == nil && len(rows) == 1 {
				s.ok("depot %s: applied seq %s (ir.config_parameter %s, made by a setup that ran at the same time)", d.ID, rows[0].Value, key)
				return nil
			}
		}
		return err
	}
	s.changed("depot %s: created its applied seq, 0 (ir.config_parameter %s)", d.ID, key)
	return nil
}

// serverAction is one of the server actions setup installs: what the log calls it, its xml
// id in module depotd, its name and its Python code.
type serverAction struct{ what, xmlID, name, code string }

// postAction installs the post action under depotd.<PostActionXMLID>.
func (s *setup) postAction(ctx context.Context) error {
	return s.installAction(ctx, serverAction{"post action", PostActionXMLID, PostActionName, PostAction})
}

// installAction installs a server action under its xml id, or rewrites its code when it
// differs.
func (s *setup) installAction(ctx context.Context, a serverAction) error {
	id, err := findXMLID(ctx, s.c, a.xmlID)
	if err != nil {
		return err
	}
	if id != 0 {
		var acts []struct {
			Code  string `json:"code"`
			State string `json:"state"`
		}
		if err := s.call(ctx, "ir.actions.server", "read", map[string]any{"ids": []int{id}, "fields": []string{"code", "state"}}, &acts); err != nil {
			return err
		}
		if len(acts) == 1 && acts[0].Code == a.code && acts[0].State == "code" {
			s.ok("%s installed and current (ir.actions.server %d, %s.%s)", a.what, id, Module, a.xmlID)
			return nil
		}
		if err := s.call(ctx, "ir.actions.server", "write", map[string]any{"ids": []int{id}, "vals": map[string]any{"code": a.code, "state": "code"}}, nil); err != nil {
			return err
		}
		s.changed("%s rewritten with this depotd's code (ir.actions.server %d)", a.what, id)
		return nil
	}
	var models []int
	if err := s.call(ctx, "ir.model", "search", map[string]any{"domain": []any{[]any{"model", "=", "stock.picking"}}}, &models); err != nil {
		return err
	}
	if len(models) != 1 {
		return &SetupError{Msg: "Odoo has no stock.picking model: is the Inventory app installed?"}
	}
	// Adopt an action left by a run that died between the two creates below.
	var ids []int
	if err := s.call(ctx, "ir.actions.server", "search", map[string]any{"domain": []any{[]any{"name", "=", a.name}}}, &ids); err != nil {
		return err
	}
	if len(ids) == 0 {
		if err := s.call(ctx, "ir.actions.server", "create", map[string]any{"vals_list": []any{map[string]any{
			"name": a.name, "model_id": models[0], "state": "code", "code": a.code,
		}}}, &ids); err != nil {
			return err
		}
	} else if err := s.call(ctx, "ir.actions.server", "write", map[string]any{"ids": ids[:1], "vals": map[string]any{"code": a.code, "state": "code"}}, nil); err != nil {
		return err
	}
	err = s.call(ctx, "ir.model.data", "create", map[string]any{"vals_list": []any{map[string]any{
		"module": Module, "name": a.xmlID, "model": "ir.actions.server", "res_id": ids[0], "noupdate": true,
	}}}, nil)
	if errors.Is(err, ErrRefused) {
		// The key is unique: a setup running at the same time installed its own action
		// first. Use that one and drop ours, which nothing points to.
		if other, ferr := findXMLID(ctx, s.c, a.xmlID); ferr == nil && other != 0 && other != ids[0] {
			if uerr := s.call(ctx, "ir.actions.server", "unlink", map[string]any{"ids": ids[:1]}, nil); uerr != nil {
				return uerr
			}
			s.ok("%s installed by a setup that ran at the same time (ir.actions.server %d)", a.what, other)
			return nil
		}
	}
	if err != nil {
		return err
	}
	s.changed("installed the %s (ir.actions.server %d, %s.%s)", a.what, ids[0], Module, a.xmlID)
	return nil
}

func findXMLID(ctx context.Context, c *Client, name string) (int, error) {
	var rows []struct {
		ResID int    `json:"res_id"`
		Model string `json:"model"`
	}
	if err := c.Call(ctx, "ir.model.data", "search_read", map[string]any{
		"domain": []any{[]any{"module", "=", Module}, []any{"name", "=", name}}, "fields": []string{"res_id", "model"}}, &rows); err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}
	return rows[0].ResID, nil
}

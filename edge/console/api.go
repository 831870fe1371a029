package console

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/gofiber/fiber/v2"
)

func (s *Server) apiRoutes() {
	api := s.app.Group("/api/v1", s.auth)
	api.Post("/transactions", s.postTransaction)
	api.Get("/transactions", s.listTransactions)
	api.Get("/transactions/:seq", s.getTransaction)
	api.Get("/stock", s.stock)
	api.Get("/status", s.status)
	api.Get("/exceptions", s.exceptions)
	api.Post("/exceptions/:id/resolve", s.apiResolveException)
	api.Get("/counts", s.apiCounts)
	api.Get("/today", s.apiToday)
	api.Get("/sync", s.apiSync)
	api.Get("/proposals", s.apiProposals)
	api.Post("/proposals/:id/decide", s.apiDecideProposal)
	api.Get("/devices", s.devices)
	api.Get("/stations", s.stations)
	api.Get("/backup", s.backup) // backup.go (operations); admin only
	api.Use(func(c *fiber.Ctx) error { return apiError(c, fiber.StatusNotFound, "no such API route", "") })
}

func apiError(c *fiber.Ctx, code int, msg, field string) error {
	body := fiber.Map{"error": msg}
	if field != "" {
		body["field"] = field
	}
	return c.Status(code).JSON(body)
}

func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		msg := fe.Message
		if fe.Code == fiber.StatusRequestEntityTooLarge {
			msg = fmt.Sprintf("request body larger than %d bytes", s.cfg.MaxBodyBytes)
			// fasthttp refuses the body before routing and resets the request, path
			// included: whether it was for /api cannot be known. Only API clients send
			// bodies that big (the console's forms are small), so answer as the API.
			return apiError(c, fe.Code, msg, "")
		}
		return s.renderError(c, fe.Code, msg)
	}
	s.log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
	return s.renderError(c, fiber.StatusInternalServerError, "Internal error (see the depotd log).")
}

// auth checks the bearer token in constant time against every configured token.
func (s *Server) auth(c *fiber.Ctx) error {
	tok, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	if !ok || tok == "" {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="depotd"`)
		return apiError(c, fiber.StatusUnauthorized, "missing bearer token", "")
	}
	if wait := s.guesses.wait(c.IP()); wait > 0 {
		secs := int(wait.Round(time.Second) / time.Second)
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(secs, 1)))
		return apiError(c, fiber.StatusTooManyRequests, fmt.Sprintf("too many invalid bearer tokens from this address: "+
			"check the token in the client's configuration, then retry in %d s", max(secs, 1)), "")
	}
	role := s.bearerRole(c)
	if role == "" {
		if s.guesses.failed(c.IP()); s.guesses.wait(c.IP()) > 0 {
			s.log.Warn("bearer tokens rate limited after repeated invalid ones", "ip", c.IP())
		}
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="depotd", error="invalid_token"`)
		return apiError(c, fiber.StatusUnauthorized, "invalid bearer token", "")
	}
	c.Locals(localRole, role)
	return c.Next()
}

func roleOf(c *fiber.Ctx) Role {
	r, _ := c.Locals(localRole).(Role)
	return r
}

func (s *Server) healthz(c *fiber.Ctx) error {
	if _, err := s.j.Status(); err != nil {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unhealthy", "error": "journal unavailable"})
	}
	return c.JSON(fiber.Map{"status": "ok"})
}

// minRoleFor says who may post a transaction type.
func minRoleFor(t edge.TxType) Role {
	switch t {
	case edge.Adjustment, edge.Scrap:
		return RoleSupervisor
	}
	return RoleOperator
}

func (s *Server) postTransaction(c *fiber.Ctx) error {
	tx, field, err := DecodeTransaction(c.Body())
	if err != nil {
		return apiError(c, fiber.StatusBadRequest, err.Error(), field)
	}
	if tx.Type != "" && !roleOf(c).AtLeast(minRoleFor(tx.Type)) {
		return apiError(c, fiber.StatusForbidden, fmt.Sprintf("role %s may not post %s transactions (needs %s)", roleOf(c), tx.Type, minRoleFor(tx.Type)), "type")
	}
	if tx.Source == "" {
		tx.Source = "api"
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), s.cfg.RequestTimeout)
	defer cancel()
	stored, raw, existing, err := s.j.CommitRaisingJSON(ctx, tx, s.unknownItemExceptions(tx))
	if err != nil {
		return s.commitError(c, err)
	}
	if existing {
		return c.Status(fiber.StatusOK).JSON(stored)
	}
	s.log.Debug("transaction committed", "seq", stored.Seq, "id", stored.ID, "type", stored.Type)
	if raw == nil {
		return c.Status(fiber.StatusCreated).JSON(stored)
	}
	// raw is c.JSON(stored)'s body, encoded once by the journal; fasthttp only reads it.
	c.Status(fiber.StatusCreated).Response().SetBodyRaw(raw)
	c.Response().Header.SetContentType(fiber.MIMEApplicationJSON)
	return nil
}

func (s *Server) commitError(c *fiber.Ctx, err error) error {
	var fe *edge.FieldError
	var se *edge.StockError
	var ice *edge.IDConflictError
	switch {
	case errors.As(err, &fe):
		return apiError(c, fiber.StatusUnprocessableEntity, fe.Msg, fe.Field)
	case errors.As(err, &se):
		return apiError(c, fiber.StatusConflict, se.Error(), se.Field)
	case errors.As(err, &ice):
		return c.Status(fiber.StatusConflict).JSON(fiber.Map{"error": ice.Error(), "field": "id", "seq": ice.Seq})
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return apiError(c, fiber.StatusServiceUnavailable, "timed out before the journal took the transaction; nothing was committed, retry with the same id", "")
	case errors.Is(err, edge.ErrOutcomeUnknown):
		// The exact text is the contract (DECISIONS: wave 2): clients retry on it.
		s.log.Error("commit outcome unknown", "err", err)
		return apiError(c, fiber.StatusServiceUnavailable, "outcome unknown: retry with the same id", "")
	case errors.Is(err, edge.ErrDiskFull):
		return apiError(c, fiber.StatusInsufficientStorage, "the depot's disk is (nearly) full: new transactions are refused until the ERP acknowledges the backlog and space is freed; nothing was committed, retry later with the same id", "")
	case errors.Is(err, edge.ErrClosed):
		return apiError(c, fiber.StatusServiceUnavailable, "depotd is shutting down; retry with the same id", "")
	}
	s.log.Error("commit failed", "err", err)
	return apiError(c, fiber.StatusServiceUnavailable, "the journal could not commit (storage error, see the depotd log); nothing was committed, retry with the same id", "")
}

var unknownFieldRE = regexp.MustCompile(`unknown field "([^"]*)"`)

// DecodeTransaction parses one transaction from JSON, strictly: unknown fields, trailing
// data and malformed quantities are errors. The second result names the offending field
// when known.
func DecodeTransaction(body []byte) (edge.Transaction, string, error) {
	// The common case, a well-formed transaction, takes one strict pass: by hand when it
	// is plain (decodeFast), else by encoding/json. Anything else takes decodeSlow, which
	// gives the same answer as always (which error, which field).
	if tx, ok := decodeFast(body); ok {
		return tx, "", nil
	}
	var tx edge.Transaction
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if dec.Decode(&tx) == nil {
		if _, err := dec.Token(); err == io.EOF {
			return tx, "", nil
		}
	}
	return decodeSlow(body)
}

// decodeSlow is DecodeTransaction's careful path: it finds what is wrong and where. A body
// the fast path takes gets the same answer here (TestDecodeTransactionFastPathAgrees).
func decodeSlow(body []byte) (edge.Transaction, string, error) {
	var tx edge.Transaction
	if len(bytes.TrimSpace(body)) == 0 {
		return tx, "", errors.New("empty body: expected one transaction as JSON")
	}
	var head struct {
		Lines []json.RawMessage `json:"lines"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return tx, "", fmt.Errorf("malformed JSON at byte %d: %v", se.Offset, err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(&tx)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return tx, "", errors.New("trailing data after the transaction object")
		}
		return tx, "", nil
	}
	// Find which line failed, so the error names it.
	for i, raw := range head.Lines {
		var l edge.Line
		ld := json.NewDecoder(bytes.NewReader(raw))
		ld.DisallowUnknownFields()
		if lerr := ld.Decode(&l); lerr != nil {
			return tx, fmt.Sprintf("lines[%d].%s", i, fieldOf(raw, lerr)), lerr
		}
	}
	return tx, fieldOf(body, err), err
}

func fieldOf(raw []byte, err error) string {
	if m := unknownFieldRE.FindStringSubmatch(err.Error()); m != nil {
		return m[1]
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		for _, k := range []string{"qty"} {
			if v, ok := obj[k]; ok {
				var q edge.Qty
				if q.UnmarshalJSON(v) != nil {
					return k
				}
			}
		}
	}
	return ""
}

func queryUint(c *fiber.Ctx, name string, def uint64) (uint64, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a non-negative integer", name, v)
	}
	return n, nil
}

func (s *Server) listTransactions(c *fiber.Ctx) error {
	after, err := queryUint(c, "after", 0)
	if err != nil {
		return apiError(c, fiber.StatusBadRequest, err.Error(), "after")
	}
	limit, err := queryUint(c, "limit", 100)
	if err != nil || limit == 0 || limit > 1000 {
		return apiError(c, fiber.StatusBadRequest, "limit must be between 1 and 1000", "limit")
	}
	txs, err := s.j.List(after, int(limit))
	if err != nil {
		s.log.Error("list transactions", "err", err)
		return apiError(c, fiber.StatusServiceUnavailable, "journal read failed (see the depotd log)", "")
	}
	next := after
	if len(txs) > 0 {
		next = txs[len(txs)-1].Seq
	}
	if txs == nil {
		txs = []edge.Transaction{}
	}
	return c.JSON(fiber.Map{"transactions": txs, "next_after": next})
}

func (s *Server) getTransaction(c *fiber.Ctx) error {
	seq, err := strconv.ParseUint(c.Params("seq"), 10, 64)
	if err != nil || seq == 0 {
		return apiError(c, fiber.StatusBadRequest, "seq must be a positive integer", "seq")
	}
	tx, err := s.j.Get(seq)
	if errors.Is(err, edge.ErrNotFound) {
		return apiError(c, fiber.StatusNotFound, fmt.Sprintf("no transaction with seq %d", seq), "seq")
	}
	if err != nil {
		s.log.Error("get transaction", "seq", seq, "err", err)
		return apiError(c, fiber.StatusServiceUnavailable, "journal read failed (see the depotd log)", "")
	}
	return c.JSON(tx)
}

func (s *Server) stock(c *fiber.Ctx) error {
	limit, err := queryUint(c, "limit", 1000)
	if err != nil || limit == 0 || limit > 10000 {
		return apiError(c, fiber.StatusBadRequest, "limit must be between 1 and 10000", "limit")
	}
	f := edge.StockFilter{Item: c.Query("item"), Location: c.Query("location"), Lot: c.Query("lot"),
		State: edge.StockState(c.Query("state")), Limit: int(limit)}
	rows, err := s.j.Stock(f)
	if err != nil {
		s.log.Error("stock query", "err", err)
		return apiError(c, fiber.StatusServiceUnavailable, "journal read failed (see the depotd log)", "")
	}
	if rows == nil {
		rows = []edge.StockRow{}
	}
	return c.JSON(fiber.Map{"rows": rows})
}

func (s *Server) status(c *fiber.Ctx) error {
	st, err := s.j.Status()
	if err != nil {
		s.log.Error("status", "err", err)
		return apiError(c, fiber.StatusServiceUnavailable, "journal read failed (see the depotd log)", "")
	}
	out := fiber.Map{
		"depot": st.Depot, "last_seq": st.LastSeq, "acked_seq": st.AckedSeq, "backlog": st.Backlog,
		"oldest_pending_s": st.OldestPendingS, "open_exceptions": st.OpenExceptions,
		"uptime_s": int64(time.Since(s.opts.Started).Seconds()), "version": s.opts.Version,
	}
	if u := s.uplinkView(); u != nil {
		out["uplink"] = u
	}
	if s.opts.StatusExtra != nil {
		for k, v := range s.opts.StatusExtra() {
			out[k] = v
		}
	}
	return c.JSON(out)
}

func (s *Server) exceptions(c *fiber.Ctx) error {
	limit, err := queryUint(c, "limit", 100)
	if err != nil || limit == 0 || limit > 1000 {
		return apiError(c, fiber.StatusBadRequest, "limit must be between 1 and 1000", "limit")
	}
	list, err := s.j.Exceptions(c.Query("open") == "true", int(limit))
	if err != nil {
		s.log.Error("exceptions", "err", err)
		return apiError(c, fiber.StatusServiceUnavailable, "journal read failed (see the depotd log)", "")
	}
	if list == nil {
		list = []edge.Exception{}
	}
	return c.JSON(fiber.Map{"exceptions": list})
}

func (s *Server) devices(c *fiber.Ctx) error {
	switch {
	case s.opts.Devices != nil:
		return c.JSON(fiber.Map{"devices": s.opts.Devices()})
	case s.opts.DeviceViews != nil:
		return c.JSON(fiber.Map{"devices": s.opts.DeviceViews.Devices()})
	}
	return c.JSON(fiber.Map{"devices": []any{}})
}

func (s *Server) stations(c *fiber.Ctx) error {
	list := []StationView{}
	if s.opts.Stations != nil {
		list = append(list, s.opts.Stations.Stations()...)
	}
	return c.JSON(fiber.Map{"stations": list})
}

// apiResolveException closes an exception: {"action": "dismissed"|"acknowledged"|"reposted",
// "reason": "...", "seq": corrective seq (reposted only)}. Supervisors and admins only.
func (s *Server) apiResolveException(c *fiber.Ctx) error {
	if !roleOf(c).AtLeast(RoleSupervisor) {
		return apiError(c, fiber.StatusForbidden, "resolving exceptions needs the supervisor role", "")
	}
	id, err := strconv.ParseUint(c.Params("id"), 10, 64)
	if err != nil || id == 0 {
		return apiError(c, fiber.StatusBadRequest, "id must be a positive integer", "id")
	}
	var req struct {
		Action string `json:"action"`
		Reason string `json:"reason"`
		Seq    uint64 `json:"seq"`
		By     string `json:"by"`
	}
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return apiError(c, fiber.StatusBadRequest, "expected {\"action\", \"reason\", \"seq\", \"by\"}: "+err.Error(), "")
	}
	by := "api:" + tokenName(s.cfg.APITokens, c)
	if req.By != "" {
		by += " (" + req.By + ")"
	}
	e, field, err := s.resolve(id, req.Action, req.Reason, req.Seq, by)
	if err != nil {
		return s.resolveError(c, err, field)
	}
	return c.JSON(e)
}

func tokenName(toks []APIToken, c *fiber.Ctx) string {
	tok, _ := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	for _, t := range toks {
		if subtle.ConstantTimeCompare([]byte(tok), []byte(t.Token)) == 1 {
			return t.Name
		}
	}
	return ""
}

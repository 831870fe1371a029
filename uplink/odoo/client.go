package odoo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds one call when Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// maxBody bounds what is read of an answer (a search_read of every quant of a big
// warehouse stays far below it).
const maxBody = 64 << 20

// Options configure a Client.
type Options struct {
	// URL is Odoo's base URL, e.g. https://erp.example.com (no trailing /json/2).
	URL string
	// Database goes into X-Odoo-Database on every call.
	Database string
	// APIKey is the bearer token (an Odoo API key).
	APIKey string
	// Timeout bounds each call, on top of the caller's context. Default DefaultTimeout.
	Timeout time.Duration
	// HTTPClient, when set, is used instead of a client with Go's default transport.
	HTTPClient *http.Client
}

// Client calls Odoo 19's JSON-2 API: POST {URL}/json/2/{model}/{method} with named
// arguments. Each call is one Odoo transaction. Safe for concurrent use.
type Client struct {
	base    string
	db      string
	key     string
	timeout time.Duration
	http    *http.Client
	observe func(op string, took time.Duration, err error)
}

// WithObserver returns a client like c whose every call is also reported to observe
// (metrics): the operation "model/method", how long it took, its error.
func (c *Client) WithObserver(observe func(op string, took time.Duration, err error)) *Client {
	cc := *c
	cc.observe = observe
	return &cc
}

// New checks o and returns a Client. It makes no call.
func New(o Options) (*Client, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("odoo: URL %q: want http(s)://host[:port]", o.URL)
	}
	if o.Database == "" {
		return nil, errors.New("odoo: database is required")
	}
	if o.APIKey == "" {
		return nil, errors.New("odoo: API key is required")
	}
	c := &Client{
		base:    strings.TrimRight(o.URL, "/"),
		db:      o.Database,
		key:     o.APIKey,
		timeout: o.Timeout,
		http:    o.HTTPClient,
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	return c, nil
}

// Database is the database every call goes to.
func (c *Client) Database() string { return c.db }

// Call runs model.method with the named arguments in params (a map or a struct that
// encodes to a JSON object; nil for none) and decodes the result into result (nil to
// discard it). Numbers are decoded as json.Number when result is an interface or holds
// json.Number fields, so quantities stay exact until the caller converts them.
//
// The error is always an *Error (see errors.go for the kinds); ctx's cancellation and the
// client's timeout both end the call with ErrUnavailable and the context's error.
func (c *Client) Call(ctx context.Context, model, method string, params, result any) (err error) {
	op := model + "/" + method
	if c.observe != nil {
		start := time.Now()
		defer func() { c.observe(op, time.Since(start), err) }()
	}
	if params == nil {
		params = struct{}{}
	}
	body, err := json.Marshal(params)
	if err != nil {
		return &Error{Op: op, Kind: ErrProtocol, Message: "encode arguments", Err: err}
	}
	if len(body) == 0 || body[0] != '{' {
		return &Error{Op: op, Kind: ErrProtocol, Message: "arguments must encode to a JSON object"}
	}
	status, raw, err := c.do(ctx, op, http.MethodPost, "/json/2/"+url.PathEscape(model)+"/"+url.PathEscape(method), body)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return errorFromAnswer(op, status, raw)
	}
	if result == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(result); err != nil {
		return &Error{Op: op, Status: status, Kind: ErrProtocol, Message: "decode result: " + err.Error(), Err: err}
	}
	return nil
}

// do sends one request to path (body nil for none) within the client's timeout and
// returns the answer's status and body; the error is an *Error when there was no usable
// answer.
func (c *Client) do(ctx context.Context, op, method, path string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, &Error{Op: op, Kind: ErrProtocol, Message: "build request", Err: err}
	}
	req.Header.Set("Authorization", "bearer "+c.key)
	req.Header.Set("X-Odoo-Database", c.db)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		return 0, nil, &Error{Op: op, Kind: ErrUnavailable, Message: "no answer", Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		return 0, nil, &Error{Op: op, Status: resp.StatusCode, Kind: ErrUnavailable, Message: "answer cut short", Err: err}
	}
	if len(raw) > maxBody {
		return 0, nil, &Error{Op: op, Status: resp.StatusCode, Kind: ErrProtocol, Message: fmt.Sprintf("answer larger than %d bytes", maxBody)}
	}
	return resp.StatusCode, raw, nil
}

// errorFromAnswer maps a non-200 answer. JSON-2 errors are {"name","message","arguments",
// "context","debug"}; a proxy's error page is not JSON and keeps only its status.
func errorFromAnswer(op string, status int, raw []byte) *Error {
	var body struct {
		Name    string `json:"name"`
		Message string `json:"message"`
		Debug   string `json:"debug"`
	}
	e := &Error{Op: op, Status: status, Kind: kindOf(status)}
	if err := json.Unmarshal(raw, &body); err == nil && (body.Name != "" || body.Message != "") {
		e.Name, e.Message, e.Debug = body.Name, body.Message, body.Debug
	} else if status == http.StatusNotFound {
		// Odoo answers an unknown X-Odoo-Database with an HTML 404 page before any
		// controller runs; so does a server without JSON-2 (Odoo before 19).
		e.Message = "no JSON-2 endpoint here: unknown database, or not an Odoo 19 server"
	} else {
		e.Message = http.StatusText(status)
		if s := strings.TrimSpace(string(raw)); s != "" && len(s) < 200 && !strings.ContainsAny(s, "<>") {
			e.Message += ": " + s
		}
	}
	return e
}

func kindOf(status int) error {
	switch {
	case status == http.StatusUnauthorized:
		return ErrUnauthorized
	case status == http.StatusForbidden:
		return ErrForbidden
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusUnprocessableEntity || status == http.StatusBadRequest:
		return ErrRefused
	case status == http.StatusConflict || status == http.StatusTooManyRequests:
		return ErrConflict
	case status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
		return ErrUnavailable
	case status >= 500 && status < 600:
		return ErrServer
	}
	return ErrProtocol
}

// Error is what every failed call returns.
type Error struct {
	Op      string // "model/method"
	Status  int    // HTTP status; 0 when there was no answer
	Kind    error  // one of the sentinels in errors.go
	Name    string // Odoo's exception, e.g. "odoo.exceptions.ValidationError"
	Message string // Odoo's message (what a user of Odoo would read), or what went wrong here
	Debug   string // Odoo's traceback, for logs only; never shown to a depot
	Err     error  // the transport or decoding cause, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("odoo ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "%d ", e.Status)
	}
	if e.Name != "" {
		b.WriteString(e.Name)
		b.WriteString(": ")
	}
	b.WriteString(shorten(e.Message, 400))
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is match the kind sentinel and the cause (e.g. context.DeadlineExceeded).
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

// Retryable says whether the same call may succeed later without any change: Odoo or the
// network was down or busy. Refusals, auth and access errors are not.
func (e *Error) Retryable() bool {
	return e.Kind == ErrUnavailable || e.Kind == ErrServer || e.Kind == ErrConflict
}

// Retryable reports whether err is an *Error that is worth retrying (see Error.Retryable).
func Retryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable()
}

// shorten keeps error lines readable: Odoo puts whole server-action sources in some
// messages. The full text stays in Error.Message.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

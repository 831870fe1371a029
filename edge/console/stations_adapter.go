package console

import (
	"context"
	"encoding/json"
	"reflect"
	"time"

	"github.com/depotd/depotd/edge"
)

// StationsFrom adapts a station manager to StationSource without the console importing it:
// list returns its stations and subscribe its live events, both JSON-encodable with the
// station package's field names (name, mode, operator, operator_name, document{type, ref,
// from, to, lines, pending}, last{at, scan, result, message}; an event carries its station
// as "station" and the station's new state as "status"). cmd/depotd wires it as
//
//	console.StationsFrom(func() []station.Status { return m.Snapshot().Stations }, m.Subscribe)
func StationsFrom[S, E any](list func() []S, subscribe func(buf int) (<-chan E, func())) StationSource {
	return &jsonStations[S, E]{list: list, subscribe: subscribe}
}

type jsonStations[S, E any] struct {
	list      func() []S
	subscribe func(buf int) (<-chan E, func())
}

// stationJSON is the station package's JSON as far as the console shows it.
type stationJSON struct {
	Name         string `json:"name"`
	Mode         string `json:"mode"`
	Operator     string `json:"operator"`
	OperatorName string `json:"operator_name"`
	Document     *struct {
		Type    string      `json:"type"`
		Ref     string      `json:"ref"`
		From    string      `json:"from"`
		To      string      `json:"to"`
		Lines   []edge.Line `json:"lines"`
		Pending *struct {
			Item string `json:"item"`
		} `json:"pending"`
		AwaitingApproval bool          `json:"awaiting_approval"`
		Expected         *expectedJSON `json:"expected"`
	} `json:"document"`
	Last *ScanView `json:"last"`
}

// expectedJSON is the station package's document.expected.
type expectedJSON struct {
	Ref     string `json:"ref"`
	Origin  string `json:"origin"`
	Partner string `json:"partner"`
	Lines   []struct {
		Item     string    `json:"item"`
		Expected *edge.Qty `json:"expected"`
		Scanned  edge.Qty  `json:"scanned"`
		UoM      string    `json:"uom"`
		Status   string    `json:"status"`
	} `json:"lines"`
}

func (j stationJSON) view() StationView {
	v := StationView{Name: j.Name, Mode: j.Mode, Operator: j.OperatorName, Last: j.Last}
	if v.Operator == "" {
		v.Operator = j.Operator
	}
	if d := j.Document; d != nil {
		dv := &DocumentView{Type: d.Type, Ref: d.Ref, From: d.From, To: d.To, Lines: []DocLineView{}}
		if e := d.Expected; e != nil {
			// Against a known ERP document the screen lists its items, scanned against
			// expected, then what it does not name.
			dv.Partner, dv.Origin = e.Partner, e.Origin
			for _, l := range e.Lines {
				dl := DocLineView{Item: l.Item, Qty: l.Scanned.String(), UoM: l.UoM, Expected: "0"}
				if l.Expected != nil {
					dl.Expected = l.Expected.String()
				}
				if l.Status == "unexpected" {
					dl.Expected, dl.Flag = "", "not on "+e.Ref
				}
				dv.Lines = append(dv.Lines, dl)
			}
		}
		for _, l := range d.Lines {
			if d.Expected != nil {
				break
			}
			dl := DocLineView{Item: l.Item, Qty: l.Qty.String(), UoM: l.UoM, Lot: l.Lot}
			if l.Expected != nil {
				dl.Expected = l.Expected.String()
			}
			dv.Lines = append(dv.Lines, dl)
		}
		v.Document = dv
		switch {
		case d.Pending != nil:
			v.Next = "the lot, serial or expiry of " + d.Pending.Item
		case d.AwaitingApproval:
			v.Next = "a supervisor's badge to approve"
		}
	}
	switch {
	case j.Operator == "":
		v.Next = "scan your badge"
	case v.Next == "" && j.Last != nil && j.Last.Result == "prompt":
		v.Next = j.Last.Message
	}
	return v
}

func toView(x any) (StationView, bool) {
	raw, err := json.Marshal(x)
	if err != nil {
		return StationView{}, false
	}
	var j stationJSON
	if json.Unmarshal(raw, &j) != nil {
		return StationView{}, false
	}
	return j.view(), true
}

func (s *jsonStations[S, E]) Stations() []StationView {
	list := s.list()
	out := make([]StationView, 0, len(list))
	for _, st := range list {
		if v, ok := toView(st); ok {
			out = append(out, v)
		}
	}
	return out
}

func (s *jsonStations[S, E]) Subscribe(ctx context.Context) <-chan StationView {
	events, stop := s.subscribe(16)
	out := make(chan StationView, 1)
	go func() {
		defer close(out)
		defer stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-events:
				if !ok {
					return
				}
				raw, err := json.Marshal(ev)
				if err != nil {
					continue
				}
				var e struct {
					Station string          `json:"station"`
					At      time.Time       `json:"at"`
					Status  json.RawMessage `json:"status"`
				}
				if json.Unmarshal(raw, &e) != nil {
					continue
				}
				var j stationJSON
				if json.Unmarshal(e.Status, &j) != nil || j.Name == "" {
					j.Name = e.Station
				}
				v := j.view()
				// Keep only the newest view: a slow page must not hold the station back.
				select {
				case out <- v:
				default:
					select {
					case <-out:
					default:
					}
					select {
					case out <- v:
					default:
					}
				}
			}
		}
	}()
	return out
}

// UplinkFrom adapts the uplink's state without the console importing it: state returns a
// struct whose fields named like UplinkView's (Online, Since, Broker, Session, LastAckAt,
// LastError) and of the same types are copied. cmd/depotd wires it as
//
//	console.UplinkFrom(up.State)
func UplinkFrom[T any](state func() T) UplinkState { return uplinkFunc[T](state) }

type uplinkFunc[T any] func() T

func (f uplinkFunc[T]) UplinkStatus() UplinkView {
	var v UplinkView
	src := reflect.ValueOf(f())
	for src.Kind() == reflect.Pointer {
		if src.IsNil() {
			return v
		}
		src = src.Elem()
	}
	if src.Kind() != reflect.Struct {
		return v
	}
	dst := reflect.ValueOf(&v).Elem()
	for i := 0; i < dst.NumField(); i++ {
		name := dst.Type().Field(i).Name
		sf := src.FieldByName(name)
		if sf.IsValid() && sf.CanInterface() && sf.Type().AssignableTo(dst.Field(i).Type()) {
			dst.Field(i).Set(sf)
		}
	}
	return v
}

package edge

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ProposalState is where a replenishment proposal stands.
//
//	open       raised, waiting for a supervisor
//	approved   a supervisor approved it (possibly after changing its quantity); the
//	           uplink sends it up once
//	dismissed  a supervisor refused it, with a reason
//	closed     the item's available quantity is back at or above the minimum
//
// Every state but closed is active: while a proposal is active for an item and location,
// no other is raised for them, so one dip below the minimum gives one proposal, whatever
// a supervisor decided about it.
type ProposalState string

const (
	ProposalOpen      ProposalState = "open"
	ProposalApproved  ProposalState = "approved"
	ProposalDismissed ProposalState = "dismissed"
	ProposalClosed    ProposalState = "closed"
)

// Proposal is a replenishment proposal: bring Location's available quantity of Item back
// up to Max, from Source.
type Proposal struct {
	ID       uint64    `json:"id"`
	At       time.Time `json:"at"`
	Item     string    `json:"item"`
	Location string    `json:"location"`
	// Source is where the goods should come from: "central" (the ERP's central warehouse
	// for this depot) or a location of this depot (for a van).
	Source string `json:"source"`
	// Min, Max and Multiple are the rule that raised it; Available the location's local
	// available quantity then (ERP-confirmed plus pending).
	Min       Qty `json:"min"`
	Max       Qty `json:"max"`
	Multiple  Qty `json:"multiple"`
	Available Qty `json:"available"`
	// Qty is the quantity proposed: Max minus Available rounded up to Multiple, or as a
	// supervisor changed it.
	Qty     Qty             `json:"qty"`
	State   ProposalState   `json:"state"`
	History []ProposalEvent `json:"history,omitempty"`
	// SentAt is when the uplink published it (approved proposals only).
	SentAt *time.Time `json:"sent_at,omitempty"`
}

// ProposalEvent is one decision about a proposal.
type ProposalEvent struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Action string    `json:"action"` // approved, changed, dismissed, closed
	Reason string    `json:"reason"`
	Qty    *Qty      `json:"qty,omitempty"` // the new quantity of a change
}

// Proposal actions.
const (
	ProposalApprove = "approved"
	ProposalChange  = "changed"
	ProposalDismiss = "dismissed"
	ProposalClose   = "closed"
)

// ErrProposalState means the decision does not apply to the proposal's state (approving
// a dismissed one, changing an approved one).
var ErrProposalState = errors.New("proposal is not in a state that allows this")

// Active reports whether p still blocks a new proposal for its item and location.
func (p Proposal) Active() bool { return p.State != ProposalClosed }

func activeKey(item, loc string) []byte { return []byte(item + "\x00" + loc) }

// RaiseProposal journals p as a new open proposal, unless one is already active for its
// item and location: then it returns that one and false. The check and the write are one
// bbolt transaction, so two raisers cannot both succeed.
func (j *Journal) RaiseProposal(p Proposal) (Proposal, bool, error) {
	p.At, p.State, p.History, p.SentAt = j.now(), ProposalOpen, nil, nil
	created := false
	err := j.update(func(btx *bolt.Tx) error {
		act := btx.Bucket(bucketProposalActive)
		if id := act.Get(activeKey(p.Item, p.Location)); id != nil {
			var err error
			p, err = getProposal(btx, getU64(id))
			return err
		}
		m := btx.Bucket(bucketMeta)
		p.ID = getU64(m.Get(keyProposalSeq)) + 1
		if err := m.Put(keyProposalSeq, u64(p.ID)); err != nil {
			return err
		}
		created = true
		if err := act.Put(activeKey(p.Item, p.Location), u64(p.ID)); err != nil {
			return err
		}
		return putProposal(btx, p)
	})
	if err != nil {
		return Proposal{}, false, fmt.Errorf("raise proposal for %s at %s: %w", p.Item, p.Location, err)
	}
	return p, created, nil
}

func getProposal(btx *bolt.Tx, id uint64) (Proposal, error) {
	var p Proposal
	raw := btx.Bucket(bucketProposals).Get(u64(id))
	if raw == nil {
		return p, ErrNotFound
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, fmt.Errorf("proposal %d: %w", id, err)
	}
	return p, nil
}

func putProposal(btx *bolt.Tx, p Proposal) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return btx.Bucket(bucketProposals).Put(u64(p.ID), raw)
}

// DecideProposal records a decision: approve, change (a new quantity, above zero) or
// dismiss an open proposal, or close an active one. Every decision is journalled with
// who, when and why.
func (j *Journal) DecideProposal(id uint64, ev ProposalEvent) (Proposal, error) {
	ev.At = j.now()
	var p Proposal
	err := j.update(func(btx *bolt.Tx) error {
		var err error
		if p, err = getProposal(btx, id); err != nil {
			return err
		}
		switch ev.Action {
		case ProposalApprove, ProposalChange, ProposalDismiss:
			if p.State != ProposalOpen {
				return fmt.Errorf("%w: proposal %d is %s", ErrProposalState, id, p.State)
			}
		case ProposalClose:
			if p.State == ProposalClosed {
				return fmt.Errorf("%w: proposal %d is closed", ErrProposalState, id)
			}
		default:
			return fmt.Errorf("unknown proposal action %q", ev.Action)
		}
		switch ev.Action {
		case ProposalApprove:
			p.State = ProposalApproved
		case ProposalChange:
			if ev.Qty == nil || ev.Qty.Sign() <= 0 {
				return fmt.Errorf("a change needs a quantity above zero")
			}
			p.Qty = *ev.Qty
		case ProposalDismiss:
			p.State = ProposalDismissed
		case ProposalClose:
			p.State = ProposalClosed
			if err := btx.Bucket(bucketProposalActive).Delete(activeKey(p.Item, p.Location)); err != nil {
				return err
			}
		}
		p.History = append(p.History, ev)
		return putProposal(btx, p)
	})
	return p, err
}

// MarkProposalSent records that the uplink published approved proposal id.
func (j *Journal) MarkProposalSent(id uint64) error {
	return j.update(func(btx *bolt.Tx) error {
		p, err := getProposal(btx, id)
		if err != nil {
			return err
		}
		at := j.now()
		p.SentAt = &at
		return putProposal(btx, p)
	})
}

// Proposals lists proposals, newest first, optionally only active ones (read through
// the active index: closed proposals pile up over the years, active ones do not).
func (j *Journal) Proposals(activeOnly bool, limit int) ([]Proposal, error) {
	if activeOnly {
		list, err := j.activeProposals()
		sort.Slice(list, func(a, b int) bool { return list[a].ID > list[b].ID })
		return list[:min(len(list), max(limit, 0))], err
	}
	var out []Proposal
	err := j.db.View(func(btx *bolt.Tx) error {
		c := btx.Bucket(bucketProposals).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var p Proposal
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("proposal %d: %w", getU64(k), err)
			}
			if activeOnly && !p.Active() {
				continue
			}
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// GetProposal returns one proposal.
func (j *Journal) GetProposal(id uint64) (Proposal, error) {
	var p Proposal
	err := j.db.View(func(btx *bolt.Tx) error {
		var err error
		p, err = getProposal(btx, id)
		return err
	})
	return p, err
}

// ProposalsToSend returns the approved proposals the uplink has not published yet, oldest
// first. It reads only the active ones (one per rule at most), so the uplink can ask at
// every wake.
func (j *Journal) ProposalsToSend() ([]Proposal, error) {
	list, err := j.activeProposals()
	out := list[:0]
	for _, p := range list {
		if p.State == ProposalApproved && p.SentAt == nil {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out, err
}

func (j *Journal) activeProposals() ([]Proposal, error) {
	var out []Proposal
	err := j.db.View(func(btx *bolt.Tx) error {
		return btx.Bucket(bucketProposalActive).ForEach(func(_, id []byte) error {
			p, err := getProposal(btx, getU64(id))
			if err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

package uplink

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/depotd/depotd/edge"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TopicProposal carries approved replenishment proposals up (PROTOCOL.md, `P proposal`).
const TopicProposal = "proposal"

// ProposalJournal is implemented by a Journal that holds replenishment proposals
// (*edge.Journal does). A Journal without it sends none.
type ProposalJournal interface {
	ProposalsToSend() ([]edge.Proposal, error)
	MarkProposalSent(id uint64) error
}

// Proposal is the `P proposal` payload: one approved replenishment proposal.
type Proposal struct {
	V        int      `json:"v"`
	Depot    string   `json:"depot"`
	ID       uint64   `json:"id"`
	Item     string   `json:"item"`
	Location string   `json:"location"`
	Source   string   `json:"source"`
	Qty      edge.Qty `json:"qty"`
	// Min, Max, Multiple and Available say why: the rule, and the local available
	// quantity when the proposal was raised.
	Min        edge.Qty  `json:"min"`
	Max        edge.Qty  `json:"max"`
	Multiple   edge.Qty  `json:"multiple"`
	Available  edge.Qty  `json:"available"`
	At         time.Time `json:"at"`
	ApprovedAt time.Time `json:"approved_at"`
	ApprovedBy string    `json:"approved_by"`
	Reason     string    `json:"reason"`
}

// ProposalPayload builds the message for approved proposal p.
func ProposalPayload(depot string, p edge.Proposal) ([]byte, error) {
	m := Proposal{V: 1, Depot: depot, ID: p.ID, Item: p.Item, Location: p.Location, Source: p.Source, Qty: p.Qty,
		Min: p.Min, Max: p.Max, Multiple: p.Multiple, Available: p.Available, At: p.At}
	for _, ev := range p.History {
		if ev.Action == edge.ProposalApprove {
			m.ApprovedAt, m.ApprovedBy, m.Reason = ev.At, ev.By, ev.Reason
		}
	}
	if m.ApprovedBy == "" {
		return nil, fmt.Errorf("proposal %d is not approved", p.ID)
	}
	return json.Marshal(m)
}

// sendProposals publishes every approved proposal not yet sent and records each as sent
// once the broker has it (PUBACK). A crash between the two sends it again: receivers
// deduplicate by (depot, id). Proposals are rare, so each waits for its PUBACK here.
func (u *Uplink) sendProposals(c mqtt.Client) error {
	pj, ok := u.j.(ProposalJournal)
	if !ok {
		return nil
	}
	list, err := pj.ProposalsToSend()
	if err != nil {
		u.log.Error("uplink: read proposals", "err", err)
		return nil
	}
	for _, p := range list {
		payload, err := ProposalPayload(u.depot, p)
		if err != nil {
			u.log.Error("uplink: proposal", "id", p.ID, "err", err)
			continue
		}
		t := c.Publish(u.Topic(TopicProposal), 1, false, payload)
		if !t.WaitTimeout(u.s.KeepAlive + u.pingTimeout()) {
			return fmt.Errorf("publish proposal %d: no PUBACK within %s", p.ID, u.s.KeepAlive+u.pingTimeout())
		}
		if err := t.Error(); err != nil {
			return fmt.Errorf("publish proposal %d: %w", p.ID, err)
		}
		if err := pj.MarkProposalSent(p.ID); err != nil {
			u.log.Error("uplink: record proposal sent", "id", p.ID, "err", err)
			continue
		}
		u.log.Info("uplink: proposal sent", "id", p.ID, "item", p.Item, "location", p.Location, "qty", p.Qty.String())
	}
	return nil
}

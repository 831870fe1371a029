package countlist

import "github.com/depotd/depotd/edge"

// Classify returns the velocity class of each item from how many transactions moved it,
// by the split Build uses for velocity (the first 80 % of the moves A, the next 15 % B, the
// rest C), so that other views of the journal (package synchealth) class items by movement
// as the count list does. The count list itself also classes by consumption value and
// keeps the higher of the two; Classify does not, as value needs the master data.
func Classify(moves map[string]int) map[string]string {
	h := make(map[string]*history, len(moves))
	for it, n := range moves {
		h[it] = &history{moves: n}
	}
	return classify(h, func(h *history) (edge.Qty, bool) { return edge.QtyFromInt(int64(h.moves)), true })
}

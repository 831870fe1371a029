package countlist

// Classify returns the ABC class of each item from how many transactions moved it, by the
// split Build uses (the first 80 % of the moves A, the next 15 % B, the rest C), so that
// other views of the journal (package synchealth) class items as the count list does.
func Classify(moves map[string]int) map[string]string {
	h := make(map[string]*history, len(moves))
	for it, n := range moves {
		h[it] = &history{moves: n}
	}
	return classify(h)
}

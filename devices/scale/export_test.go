package scale

// Test hooks: the stream splitters the drivers use, so external tests and fuzzers can feed
// them arbitrary byte streams.
var (
	SplitSICS = func(data []byte) (int, []byte, int) { return (&sicsProto{}).split(data) }
	Split8217 = split8217
	SplitNCI  = splitNCI
)

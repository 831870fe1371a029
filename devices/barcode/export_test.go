package barcode

// Internals exported to the external tests (fuzzers and benchmarks) only.
var (
	ParseElementString = parseElementString
	ParseBracketed     = parseBracketed
	ParseDigitalLink   = parseDigitalLink
	CheckAssociations  = checkAssociations
)

// CompilePattern compiles p and matches code, for FuzzPattern.
func CompilePattern(p Pattern, code string) (value, base string, ok bool, err error) {
	cp, err := p.compile()
	if err != nil {
		return "", "", false, err
	}
	value, base, ok = cp.match(code)
	return value, base, ok, nil
}

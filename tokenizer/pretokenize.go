package tokenizer

import "unicode"

// pretokenize splits text as GLM-4's tiktoken pattern does (the cl100k pattern with digits in groups of
// up to three), with Unicode classes as Rust's regex defines them:
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// Go's regexp has no look-ahead and its \s is ASCII-only, so the alternatives are tried by hand, in order,
// each with the backtracking the regex engine would do.
func pretokenize(text string) []string {
	rs := []rune(text)
	var out []string
	for i := 0; i < len(rs); {
		n := matchAt(rs, i)
		out = append(out, string(rs[i:i+n]))
		i += n
	}
	return out
}

func isL(r rune) bool     { return unicode.IsLetter(r) }
func isN(r rune) bool     { return unicode.IsNumber(r) }
func isSpace(r rune) bool { return unicode.IsSpace(r) } // the White_Space property
func isNL(r rune) bool    { return r == '\r' || r == '\n' }

// matchAt returns the length (in runes, at least 1) of the token starting at i.
func matchAt(rs []rune, i int) int {
	n := len(rs)
	if m := contraction(rs, i); m > 0 {
		return m
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if isL(rs[i]) {
		return letters(rs, i) - i
	}
	if !isNL(rs[i]) && !isN(rs[i]) && i+1 < n && isL(rs[i+1]) {
		return letters(rs, i+1) - i
	}
	// \p{N}{1,3}
	if isN(rs[i]) {
		j := i
		for j < n && j-i < 3 && isN(rs[j]) {
			j++
		}
		return j - i
	}
	// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
	other := func(r rune) bool { return !isSpace(r) && !isL(r) && !isN(r) }
	start := i
	if rs[i] == ' ' && i+1 < n && other(rs[i+1]) {
		start = i + 1
	}
	if other(rs[start]) {
		j := start
		for j < n && other(rs[j]) {
			j++
		}
		for j < n && isNL(rs[j]) {
			j++
		}
		return j - i
	}
	// The rest start with whitespace: find the run.
	j := i
	for j < n && isSpace(rs[j]) {
		j++
	}
	// \s*[\r\n]+ : up to and including the last newline of the run.
	for k := j - 1; k >= i; k-- {
		if isNL(rs[k]) {
			return k + 1 - i
		}
	}
	// \s+(?!\S) : the whole run at the end of the text, else all but its last character.
	if j == n {
		return j - i
	}
	if j-1 > i {
		return j - 1 - i
	}
	// \s+
	return j - i
}

func letters(rs []rune, j int) int {
	for j < len(rs) && isL(rs[j]) {
		j++
	}
	return j
}

// contraction matches (?i:'s|'t|'re|'ve|'m|'ll|'d) at i, with Unicode simple case folding (ſ folds to s).
func contraction(rs []rune, i int) int {
	if rs[i] != '\'' || i+1 >= len(rs) {
		return 0
	}
	is := func(k int, want rune) bool {
		if i+k >= len(rs) {
			return false
		}
		r := rs[i+k]
		return unicode.SimpleFold(r) == want || r == want || unicode.ToLower(r) == want || (want == 's' && r == 'ſ') || (want == 'k' && r == 'K')
	}
	switch {
	case is(1, 's'), is(1, 't'), is(1, 'm'), is(1, 'd'):
		return 2
	case is(1, 'r') && is(2, 'e'), is(1, 'v') && is(2, 'e'), is(1, 'l') && is(2, 'l'):
		return 3
	}
	return 0
}

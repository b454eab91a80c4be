package check

import "mvdan.cc/sh/v3/syntax"

// shellText is shell source cut out of a file: a whole script, a Makefile
// recipe line, a CI block, or a string a command hands to a shell. at[i]
// is the file offset of src[i] (len(src)+1 entries; nil when src is the
// file itself).
type shellText struct {
	src string
	at  []int
}

// fileOffset is where src[i] lies in the file.
func (t shellText) fileOffset(i int) int {
	if t.at == nil {
		return i
	}
	return t.at[min(max(i, 0), len(t.at)-1)]
}

// span is where node n lies in t.src.
func span(t shellText, n syntax.Node) (int, int) {
	j := min(int(n.End().Offset()), len(t.src))
	return min(int(n.Pos().Offset()), j), j
}

// slice is src[i:j] with its positions.
func (t shellText) slice(i, j int) shellText {
	var b textBuilder
	b.addFrom(t, i, j)
	return b.done(t.fileOffset(j))
}

// textBuilder assembles a shellText piece by piece.
type textBuilder struct {
	b  []byte
	at []int
}

// add appends s, which lies in the file at from (exact: byte by byte from
// there; else every byte of s is put at from).
func (b *textBuilder) add(s string, from int, exact bool) {
	for i := range len(s) {
		b.b = append(b.b, s[i])
		if exact {
			b.at = append(b.at, from+i)
		} else {
			b.at = append(b.at, from)
		}
	}
}

// addFrom appends t.src[i:j] with its positions.
func (b *textBuilder) addFrom(t shellText, i, j int) {
	for k := i; k < j; k++ {
		b.b = append(b.b, t.src[k])
		b.at = append(b.at, t.fileOffset(k))
	}
}

// done ends the text; end is the file offset just after it.
func (b *textBuilder) done(end int) shellText {
	return shellText{src: string(b.b), at: append(b.at, end)}
}

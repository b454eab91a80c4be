package check

import (
	"regexp"
	"strings"
)

// A Jenkinsfile's shell: the Groovy strings its `sh` steps run, in every
// form (`sh 'cmd'`, `sh "cmd"`, `sh '''...'''`, `sh """..."""`,
// `sh(script: '...', returnStdout: true)`). Groovy's escapes are undone,
// and a GString's `${...}` is a word the shell cannot know. Comments are
// skipped; strings given to other steps (echo, error...) are not run.

// jenkinsStep ends the text before a string that an sh step runs.
var jenkinsStep = regexp.MustCompile(`(?:\bsh\s*\(?|\bscript\s*:)\s*$`)

// jenkinsShell returns the strings a Jenkinsfile's sh steps run.
func jenkinsShell(src string) []shellText {
	var out []shellText
	for i := 0; i < len(src); i++ {
		switch {
		case strings.HasPrefix(src[i:], "//"):
			i = lineEnd(src, i)
		case strings.HasPrefix(src[i:], "/*"):
			if j := strings.Index(src[i+2:], "*/"); j >= 0 {
				i += j + 3
			} else {
				i = len(src)
			}
		case src[i] == '\'' || src[i] == '"':
			quote := src[i : i+1]
			if strings.HasPrefix(src[i:], quote+quote+quote) {
				quote += quote + quote
			}
			start := i + len(quote)
			end := groovyStringEnd(src, start, quote)
			if jenkinsStep.MatchString(src[max(0, i-64):i]) {
				out = append(out, groovyString(src, start, end, quote[0] == '"'))
			}
			i = min(end+len(quote), len(src)) - 1
		}
	}
	return out
}

func lineEnd(src string, i int) int {
	if j := strings.IndexByte(src[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(src)
}

// groovyStringEnd is where the string starting at start, closed by quote,
// ends (len(src) when it does not).
func groovyStringEnd(src string, start int, quote string) int {
	for i := start; i < len(src); i++ {
		switch {
		case src[i] == '\\':
			i++
		case strings.HasPrefix(src[i:], quote):
			return i
		case len(quote) == 1 && src[i] == '\n':
			return i // an unclosed one-line string
		}
	}
	return len(src)
}

// groovyEscapes are the characters Groovy's backslash escapes stand for.
var groovyEscapes = map[byte]string{'n': "\n", 't': "\t", 'r': "\r", 'b': "\b", 'f': "\f"}

// groovyString is the value of src[start:end], a Groovy string literal's
// body, with where each byte lies in the file.
func groovyString(src string, start, end int, gstring bool) shellText {
	var b textBuilder
	for i := start; i < end; i++ {
		switch c := src[i]; {
		case c == '\\' && i+1 < end:
			i++
			if e, ok := groovyEscapes[src[i]]; ok {
				b.add(e, i-1, false)
			} else {
				b.add(src[i:i+1], i, true)
			}
		case gstring && c == '$' && i+1 < end && src[i+1] == '{':
			j := strings.IndexByte(src[i:end], '}')
			if j < 0 {
				j = end - i - 1
			}
			b.add(unknownWord, i, false)
			i += j
		default:
			b.add(src[i:i+1], i, true)
		}
	}
	return b.done(end)
}

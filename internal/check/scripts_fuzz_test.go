package check

import (
	"slices"
	"strings"
	"testing"
)

// FuzzScriptRule: any text, read as a shell script, a Makefile, a CI file
// and a Jenkinsfile, is checked without a panic, and every finding points
// inside it. The seeds are the shape tables' files.
func FuzzScriptRule(f *testing.F) {
	for _, tc := range slices.Concat(shellShapes, makefileShapes, ciShapes, jenkinsShapes) {
		f.Add(tc.src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		lines := strings.Split(src, "\n")
		for _, kind := range []scriptKind{kindShell, kindMake, kindYAML, kindJenkins} {
			for _, x := range scriptFindings(scriptFile{path: "f", kind: kind}, []byte(src)) {
				if x.Line < 1 || x.Line > len(lines) || x.Column < 1 || x.Column > len([]rune(lines[x.Line-1]))+1 {
					t.Errorf("kind %d: finding outside the file: %s", kind, x)
				}
			}
		}
	})
}

// Package prompt asks a person to confirm. On a terminal survey draws the
// prompt; on a pipe a plain line reader serves (docker/compose's cmd/prompt
// does the same).
package prompt

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/AlecAivazis/survey/v2"
	"github.com/AlecAivazis/survey/v2/terminal"

	"github.com/ledger-docker/ledger-docker/internal/iostreams"
)

// ErrNotInteractive: a confirmation was needed but nobody can answer.
var ErrNotInteractive = errors.New("--yes required when not running interactively")

// ErrMismatch: the typed answer was not the expected name.
var ErrMismatch = errors.New("confirmation did not match")

// Prompter asks questions.
type Prompter interface {
	// Input asks for one line of text.
	Input(message string) (string, error)
}

// New returns a survey prompter on a TTY, else a line reader over io.In.
func New(io *iostreams.IOStreams) Prompter {
	if io.CanPrompt() {
		return surveyPrompter{io: io}
	}
	return &lineReader{r: bufio.NewReader(io.In), w: io.ErrOut}
}

type surveyPrompter struct{ io *iostreams.IOStreams }

func (s surveyPrompter) Input(message string) (string, error) {
	var answer string
	err := survey.AskOne(&survey.Input{Message: message}, &answer)
	if errors.Is(err, terminal.InterruptErr) {
		return "", fmt.Errorf("prompt: %w", ErrMismatch)
	}
	return answer, err
}

type lineReader struct {
	r *bufio.Reader
	w io.Writer
}

func (l *lineReader) Input(message string) (string, error) {
	fmt.Fprintf(l.w, "%s ", message)
	line, err := l.r.ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read answer: %w", err)
	}
	return strings.TrimSpace(line), nil
}

// ConfirmTyped asks the person to type expected (a volume or database name)
// before a destructive step. With yes it returns at once; without a TTY and
// without yes it refuses with ErrNotInteractive.
func ConfirmTyped(ios *iostreams.IOStreams, p Prompter, yes bool, what, expected string) error {
	if yes {
		return nil
	}
	if !ios.CanPrompt() {
		return ErrNotInteractive
	}
	answer, err := p.Input(fmt.Sprintf("Type the %s name %q to confirm:", what, expected))
	if err != nil {
		return err
	}
	if answer != expected {
		return fmt.Errorf("%w: typed %q, expected %q", ErrMismatch, answer, expected)
	}
	return nil
}

// Static answers every question with the next of its answers (tests).
type Static struct {
	Answers []string
	Asked   []string
}

// Input returns the next answer.
func (s *Static) Input(message string) (string, error) {
	s.Asked = append(s.Asked, message)
	if len(s.Answers) == 0 {
		return "", errors.New("static prompter: no answer left")
	}
	a := s.Answers[0]
	s.Answers = s.Answers[1:]
	return a, nil
}

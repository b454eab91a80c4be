// Command idle is the whole of the e2e "idle" image (FROM scratch): it
// sleeps until SIGTERM or SIGINT and then exits 0 at once, so containers
// stop without the engine's kill timeout.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	<-ch
	os.Exit(0)
}

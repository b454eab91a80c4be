// Package version is the build's version, set by the Makefile
// (-ldflags -X github.com/ledger-docker/ledger-docker/internal/version.Version=...).
// It imports nothing, so every binary can print it.
package version

// Version is "dev" in a build without the Makefile's flags.
var Version = "dev"

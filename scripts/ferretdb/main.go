// Command velora-ferretdb runs FerretDB (a MongoDB wire-protocol server backed by PostgreSQL)
// through its embeddable package.
//
// Why a wrapper: `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` builds, but
// the binary panics at start because the module archive lacks the generated
// build/version/version.txt that FerretDB's own main package insists on. The embeddable
// package `github.com/FerretDB/FerretDB/ferretdb` does not, so this small main is all the
// local stack needs. See docs/decisions/0002-mongodb-wire-server.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to accept MongoDB wire-protocol connections on")
	pgURL := flag.String("postgresql-url", "", "PostgreSQL URL of the backing database (required)")
	level := flag.String("log-level", "warn", "log level: debug, info, warn or error")
	flag.Parse()

	if *pgURL == "" {
		fmt.Fprintln(os.Stderr, "velora-ferretdb: --postgresql-url is required")
		os.Exit(2)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(os.Stderr, "velora-ferretdb: bad --log-level: %v\n", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listen},
		Handler:       "postgresql",
		PostgreSQLURL: *pgURL,
		Logger:        logger,
	})
	if err != nil {
		logger.Error("cannot configure FerretDB", "error", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger.Info("FerretDB listening", "addr", *listen)
	if err := f.Run(ctx); err != nil && ctx.Err() == nil {
		logger.Error("FerretDB stopped", "error", err)
		os.Exit(1)
	}
}

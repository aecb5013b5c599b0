// Command apitoken creates, lists, shows, updates, regenerates, deletes and
// verifies API tokens in the database of the demo server (or any server that
// keeps its tokens with sqlstore), with the same salt. It also reads a
// Strapi database in place (-strapi v4|v5), without writing to it, and
// imports Strapi's tokens (import-strapi), again whenever they change.
//
// It makes admin tokens too (create --kind admin --owner ID), for the
// server's admin routes. Knowing no administrators, it grants them
// permissions within those --owner-permissions says the owner holds, by
// default every permission of the admin API; the server allows only those
// the owner really holds, on every use.
//
//	go run ./cmd/apitoken create --name ci --type custom --permission api::article.article.find --duration 30d
//	go run ./cmd/apitoken create --name ops --kind admin --owner 1 --permission admin::api-tokens.read
//	go run ./cmd/apitoken verify --key - --action api::article.article.find < key.txt
//	API_TOKEN_SALT=… go run ./cmd/apitoken import-strapi --from strapi/.tmp/data.db
//
// Run it with -h for every command and flag.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-apitoken/apitoken/cmd/apitoken/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

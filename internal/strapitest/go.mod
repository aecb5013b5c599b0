module github.com/go-apitoken/apitoken/internal/strapitest

go 1.26.0

require (
	github.com/go-apitoken/apitoken v0.0.0-00010101000000-000000000000
	github.com/go-apitoken/apitoken/sqlstore v0.0.0-00010101000000-000000000000
	github.com/go-sql-driver/mysql v1.10.1
)

require (
	filippo.io/edwards25519 v1.2.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	golang.org/x/time v0.16.0 // indirect
)

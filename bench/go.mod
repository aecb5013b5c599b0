module github.com/go-apitoken/apitoken/bench

go 1.26.0

require (
	github.com/go-apitoken/apitoken v0.0.0-00010101000000-000000000000
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/google/uuid v1.6.0
)

require golang.org/x/time v0.16.0 // indirect

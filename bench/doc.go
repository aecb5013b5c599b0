// Package bench measures apitoken against its peers: the bare HMAC that is
// the floor of any verification, a middleware on golang-jwt/jwt/v5, and a
// naive hand-written one. It is a separate module so that the peers never
// enter the library's go.mod. Everything is in its tests:
//
//	cd bench && go test -run '^$' -bench . -count 6 | tee new.txt && benchstat new.txt
package bench

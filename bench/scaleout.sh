#!/usr/bin/env bash
# Scale-out scenario: N demo server instances on one PostgreSQL (or MariaDB)
# database holding TOKENS tokens. Reports requests/s per instance and in
# total, database statements/s, revocation and downgrade propagation (p50,
# p99, max over TRIALS), what a flood of forged keys costs the database, and
# lastUsedAt writes per minute. See bench/README.md.
#
#   bench/scaleout.sh                       # 3 instances, PostgreSQL, 1,000,000 tokens
#   ENGINE=mysql INSTANCES=3 TOKENS=100000 bench/scaleout.sh
set -euo pipefail
cd "$(dirname "$0")"
ENGINE=${ENGINE:-postgres} INSTANCES=${INSTANCES:-3} TOKENS=${TOKENS:-1000000}
TRIALS=${TRIALS:-50} REQUESTS=${REQUESTS:-50000} FORGED=${FORGED:-100000}
export API_TOKEN_SALT=scaleout-salt-0123456789abcdef ADMIN_EMAIL=scale@example.com ADMIN_PASSWORD=scale-password-123
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT

case $ENGINE in
postgres)
  psql -qh 127.0.0.1 -U postgres -c 'DROP DATABASE IF EXISTS apitoken_scale' -c 'CREATE DATABASE apitoken_scale'
  db='postgres://postgres@127.0.0.1:5432/apitoken_scale?sslmode=disable'
  sql() { psql -qAt -h 127.0.0.1 -U postgres apitoken_scale -c "$1"; }
  statements() { sql "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"; }
  lookups() { sql "SELECT coalesce(sum(idx_scan), 0) FROM pg_stat_user_indexes WHERE indexrelname LIKE '%key_hash%'"; }
  updates() { sql "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'apitoken_tokens'"; }
  seed() {
    sql "INSERT INTO apitoken_tokens (id, name, type, key_hash, created_at, updated_at)
         SELECT md5('scale' || i), 'scale-' || i, 'read-only', encode(sha512(('scale' || i)::bytea), 'hex'), now(), now()
         FROM generate_series(1, $TOKENS) AS i"
  }
  settle() { sql "SELECT pg_stat_force_next_flush()" >/dev/null; sleep 1; }
  ;;
mysql)
  mariadb -h 127.0.0.1 -u root -e 'DROP DATABASE IF EXISTS apitoken_scale; CREATE DATABASE apitoken_scale'
  db='mysql://root@127.0.0.1:3306/apitoken_scale'
  sql() { mariadb -N -h 127.0.0.1 -u root apitoken_scale -e "$1"; }
  statements() { sql "SHOW GLOBAL STATUS LIKE 'Questions'" | awk '{print $2}'; }
  lookups() { sql "SHOW GLOBAL STATUS LIKE 'Handler_read_key'" | awk '{print $2}'; }
  updates() { sql "SHOW GLOBAL STATUS LIKE 'Handler_update'" | awk '{print $2}'; }
  seed() {
    sql "SET SESSION cte_max_recursion_depth = $TOKENS;
         INSERT INTO apitoken_tokens (id, name, type, key_hash, created_at, updated_at)
         WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $TOKENS)
         SELECT md5(concat('scale', i)), concat('scale-', i), 'read-only', sha2(concat('scale', i), 512), now(3), now(3) FROM s" 2>/dev/null ||
    sql "INSERT INTO apitoken_tokens (id, name, type, key_hash, created_at, updated_at)
         WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $TOKENS)
         SELECT md5(concat('scale', i)), concat('scale-', i), 'read-only', sha2(concat('scale', i), 512), now(3), now(3) FROM s"
  }
  settle() { :; }
  ;;
*) echo "ENGINE is postgres or mysql" >&2; exit 2 ;;
esac

go build -o "$work/server" ../examples/server
go build -o "$work/load" ./cmd/load
go build -o "$work/propagate" ./cmd/propagate
urls=()
start() { # start I: instance I on port 18400+I, its log in $work/I.log
  "$work/server" -addr "127.0.0.1:$((18400 + $1))" -db "$db" -cache-ttl 60s >"$work/$1.log" 2>&1 &
  for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$((18400 + $1))/" && return; sleep 0.1; done
  echo "instance $1 did not start" >&2; cat "$work/$1.log" >&2; exit 1
}

echo "== migrating, then seeding $TOKENS tokens ($ENGINE)"
start 0; kill %1; wait 2>/dev/null || true
t0=$(date +%s.%N); seed; echo "seeded in $(echo "$(date +%s.%N) - $t0" | bc) s"
for i in $(seq "$INSTANCES"); do start "$i"; urls+=("http://127.0.0.1:$((18400 + i))"); done
sleep 3 # the filters are built in the background
grep -h "change feed\|filter" "$work"/[0-9]*.log | head -5 || true

key=$(curl -s -u "$ADMIN_EMAIL:$ADMIN_PASSWORD" -H 'Content-Type: application/json' \
  -d '{"name":"scale-reader","type":"read-only"}' "${urls[0]}/admin/api-tokens" | sed -n 's/.*"accessKey":"\([^"]*\)".*/\1/p')
echo "$key" >"$work/key"

echo "== $REQUESTS authorized GETs on each instance at once (32 clients each)"
settle; s0=$(statements); u0=$(updates); t0=$(date +%s.%N)
for u in "${urls[@]}"; do "$work/load" -n "$REQUESTS" -c 32 -key-file "$work/key" "$u/api/articles" >"$work/load-${u##*:}.txt" & done
wait $(jobs -p | tail -n "$INSTANCES") || true
t1=$(date +%s.%N); settle; s1=$(statements); u1=$(updates)
total=0
for u in "${urls[@]}"; do
  rps=$(awk '/throughput/ {print $2}' "$work/load-${u##*:}.txt"); total=$((total + rps))
  echo "$u: $rps req/s, $(grep latency "$work/load-${u##*:}.txt")"
done
elapsed=$(echo "$t1 - $t0" | bc)
echo "total: $total req/s; database statements: $(echo "($s1 - $s0) / $elapsed" | bc) /s; token rows updated: $((u1 - u0)) in ${elapsed}s"

echo "== $FORGED forged, well-formed keys against one instance"
settle; l0=$(lookups)
"$work/load" -n "$FORGED" -c 32 -forged "${urls[0]}/api/articles" | grep -E "throughput|statuses"
settle; l1=$(lookups)
echo "key-hash index lookups caused: $((l1 - l0))"

echo "== propagation: $TRIALS deletions and $TRIALS downgrades through ${urls[0]}"
"$work/propagate" -admin "$ADMIN_EMAIL:$ADMIN_PASSWORD" -trials "$TRIALS" "${urls[@]}"

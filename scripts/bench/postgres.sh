#!/usr/bin/env bash
# PostgreSQL beside SQLite, on this machine, in one run (figures for the README's "Scaling
# out"):
#   1. durable votes per second through two `arena serve` on one PostgreSQL, beside one
#      `arena serve` on SQLite (the same mock models, the same number of parallel clients);
#   2. `GET /leaderboard` over VOTES imported votes (1,000,000 unless told), on each backend,
#      the first request (computed) and the next (cached until the next vote);
#   3. `arena migrate` of that SQLite database to PostgreSQL.
# It starts its own throwaway PostgreSQL cluster (fsync on: votes are durable) in a temporary
# directory, as the `postgres` user when run as root, listening on a socket there only.
#
# Usage: scripts/bench/postgres.sh [VOTES] [BATTLES] [CLIENTS] [MODELS]
# Needs: Debian's postgresql (15), python3, a release build (built here if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
VOTES=${1:-1000000}
BATTLES=${2:-2000}
CLIENTS=${3:-32}
MODELS=${4:-20}
[ -x target/release/arena ] || cargo build --release --locked
ARENA=$PWD/target/release/arena
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
WORK=$(mktemp -d /tmp/arena-bench-pg.XXXXXX)
owner=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$WORK"
  owner=(runuser -u postgres --)
fi
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "${owner[@]}" "$BIN/pg_ctl" -D "$WORK/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
"${owner[@]}" "$BIN/initdb" -D "$WORK/data" -A trust -U postgres --locale=C >/dev/null
"${owner[@]}" "$BIN/pg_ctl" -D "$WORK/data" -l "$WORK/pg.log" -w \
  -o "-k $WORK -c listen_addresses='' -c max_connections=200" start >/dev/null
SOCK=$(printf %s "$WORK" | sed 's|/|%2F|g')
pgdb() { "${owner[@]}" "$BIN/createdb" -h "$WORK" -U postgres "$1"; echo "postgres://postgres@$SOCK/$1"; }

mkdir -p "$WORK/home"
export HOME=$WORK/home
cat > "$WORK/config.jsonc" <<'EOF'
{
  "user_id_salt": "0123456789abcdef0123456789abcdef-bench",
  "max_concurrent_battles": 0, "battles_per_hour": 0, "battle_interval_seconds": 0,
  "max_inflight_requests": 4096
}
EOF
# MODELS mock models (20 unless told): votes on pairs that share no model take their Elo
# steps in parallel, those that share one in turn, so few models is the worst case.
python3 - "$MODELS" > "$WORK/models.json" <<'EOF'
import json, sys
print(json.dumps({"models": [
    {"name": f"m{i}", "provider": "mock", "tier": "high", "params": {"delay_ms": 0}}
    for i in range(int(sys.argv[1]))]}))
EOF
serve() { # NAME DB: starts `arena serve` on DB; its address goes into BASE_NAME
  "$ARENA" --config "$WORK/config.jsonc" --models "$WORK/models.json" --db "$2" \
    serve --port 0 >/dev/null 2>"$WORK/$1.log" &
  pids+=($!)
  for _ in $(seq 100); do
    base=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$WORK/$1.log")
    [ -n "$base" ] && { printf -v "BASE_$1" %s "$base"; return; }
    sleep 0.1
  done
  echo "arena serve did not start: $(cat "$WORK/$1.log")" >&2; exit 1
}

votes_per_second() { # BASE... : battles on the first, then every vote at once across all
  python3 - "$BATTLES" "$CLIENTS" "$@" <<'EOF'
import json, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor
battles, clients, bases = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
def post(url, body):
    req = urllib.request.Request(url, json.dumps(body).encode(), {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, json.load(r)
def battle(i):
    return post(f"{bases[0]}/battle", {"battle_type": "high_tier", "discord_id": str(10**6 + i), "custom_prompt": "Hi"})[1]["battle_id"]
with ThreadPoolExecutor(clients) as pool:
    ids = list(pool.map(battle, range(battles)))
def vote(i):
    return post(f"{bases[i % len(bases)]}/vote/{ids[i]}", {"vote_choice": "model_a", "discord_id": str(10**6 + i)})[0]
start = time.perf_counter()
with ThreadPoolExecutor(clients) as pool:
    ok = sum(1 for s in pool.map(vote, range(battles)) if s == 200)
took = time.perf_counter() - start
print(f"{ok} votes in {took:.2f} s: {ok / took:.0f} votes/s")
EOF
}

leaderboard_ms() { # BASE
  python3 - "$1" <<'EOF'
import sys, time, urllib.request
for what in ("first (computed)", "next (cached)"):
    start = time.perf_counter()
    with urllib.request.urlopen(f"{sys.argv[1]}/leaderboard", timeout=600) as r:
        r.read()
    print(f"  GET /leaderboard {what}: {(time.perf_counter() - start) * 1000:.0f} ms")
EOF
}

echo "== durable votes/s ($BATTLES battles, $CLIENTS clients, $MODELS models)"
PG1=$(pgdb votes)
serve a "$PG1"; serve b "$PG1"
printf 'PostgreSQL, two instances: '; votes_per_second "$BASE_a" "$BASE_b"
serve s "$WORK/votes.sqlite3"
printf 'SQLite, one instance:      '; votes_per_second "$BASE_s"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; pids=()

echo "== $VOTES imported votes"
python3 - "$VOTES" > "$WORK/log.jsonl" <<'EOF'
import json, random, sys
random.seed(0)
models = [f"model-{i:02d}" for i in range(40)]
outcomes = ["model_a", "model_b", "tie", "tie (bothbad)"]
for i in range(int(sys.argv[1])):
    a, b = random.sample(models, 2)
    print(json.dumps({"model_a": a, "model_b": b, "winner": random.choice(outcomes), "tstamp": 1.7e9 + i}))
EOF
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
run() { "$ARENA" --config "$WORK/config.jsonc" --models "$WORK/models.json" "$@"; }
t0=$EPOCHREALTIME; run --db "$WORK/big.sqlite3" import "$WORK/log.jsonl" >/dev/null
echo "  import into SQLite: $(since "$t0") s"
PG2=$(pgdb big)
t0=$EPOCHREALTIME; run --db "$PG2" import "$WORK/log.jsonl" >/dev/null
echo "  import into PostgreSQL: $(since "$t0") s"
serve bs "$WORK/big.sqlite3"; echo "SQLite:"; leaderboard_ms "$BASE_bs"
serve bp "$PG2"; echo "PostgreSQL:"; leaderboard_ms "$BASE_bp"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; pids=()

echo "== arena migrate of $VOTES votes, SQLite to PostgreSQL"
PG3=$(pgdb copy)
t0=$EPOCHREALTIME; run migrate --from "$WORK/big.sqlite3" --to "$PG3"
echo "  took $(since "$t0") s"

#!/usr/bin/env bash
# Leaderboards with and without the votes left out of the ratings, whole processes, medians of
# 5, on 1,000,000 votes over 200 models of which 2% are marked as identity leaks:
#   - `arena leaderboard --method bt|elo|glicko2 --format json`, then with
#     `--include-identity-leaks` (Bradley-Terry reads the admitted votes beside the counts;
#     Elo and Glicko-2 read the votes);
#   - `arena serve`: `GET /leaderboard` and `GET /leaderboard?include_identity_leaks=true`
#     right after a vote (Glicko-2 kept vote by vote for each).
#
#   scripts/bench/left_out.sh          (needs python3 with numpy for the generator, curl)
#
# The generator is the battle-log generator with known strengths; give its path in GEN
# (default ../shared/tools/gen_battles.py), or a ready log in LOG1M.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server"; rm -rf "$work"' EXIT
gen=${GEN:-../shared/tools/gen_battles.py}
log=${LOG1M:-$work/g1m.jsonl}
[ -f "$log" ] || python3 "$gen" --models 200 --battles 1000000 --seed 7 --out "$log" >/dev/null
# 2% of the votes, every fiftieth, marked as an arena export marks them.
python3 - "$log" "$work/marked.jsonl" <<'PY'
import json, sys
with open(sys.argv[1]) as src, open(sys.argv[2], "w") as out:
    for i, line in enumerate(src):
        record = json.loads(line)
        if i % 50 == 0:
            record["left_out"] = ["identity_leak"]
        out.write(json.dumps(record) + "\n")
PY
cargo build --release --quiet
bin=$PWD/target/release/arena
cd "$work"
cat > config.jsonc <<'JSON'
{"battle_interval_seconds": 0, "battles_per_hour": 0, "max_concurrent_battles": 0,
 "user_id_salt": "0123456789abcdef0123456789abcdef-bench"}
JSON
cat > mock.json <<'JSON'
{"models": [{"name": "bench-a", "provider": "mock", "params": {"delay_ms": 0}},
            {"name": "bench-b", "provider": "mock", "params": {"delay_ms": 0}}]}
JSON
arena() { "$bin" --db "$work/m.sqlite3" --config config.jsonc --models mock.json "$@"; }
arena --no-progress import marked.jsonl >/dev/null
arena rebuild
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
for method in bt elo glicko2; do
  for include in "" --include-identity-leaks; do
    m=$(for _ in 1 2 3 4 5; do ms arena leaderboard --method "$method" --format json $include; done | median)
    echo "leaderboard --method $method ${include:-(default)}: median $m ms"
  done
done

arena prompts add "Name a colour" >/dev/null
arena serve --port 0 > serve.log 2>&1 &
server=$!
for _ in $(seq 1 50); do grep -q "listening on" serve.log && break; sleep 0.2; done
base=$(grep -o 'http://[0-9.:]*' serve.log | head -1)
curl -s -o /dev/null "$base/leaderboard"
curl -s -o /dev/null "$base/leaderboard?include_identity_leaks=true"
: > default; : > included
for _ in 1 2 3 4 5; do
  id=$(curl -s -X POST "$base/battle" -H 'content-type: application/json' \
    -d '{"battle_type": "low_tier", "discord_id": "1", "custom_prompt": "Name a colour"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["battle_id"])')
  curl -s -o /dev/null -X POST "$base/vote/$id" -H 'content-type: application/json' \
    -d '{"vote_choice": "model_a", "discord_id": "1"}'
  ms curl -s "$base/leaderboard" >> default
  ms curl -s "$base/leaderboard?include_identity_leaks=true" >> included
done
echo "serve: GET /leaderboard right after a vote: median $(median < default) ms; with" \
  "include_identity_leaks=true: median $(median < included) ms"

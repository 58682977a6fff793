#!/usr/bin/env bash
# The engine's targets, whole processes, medians, on this machine:
#   - `arena import` of a 1,000,000-vote log: rows/s and peak RSS;
#   - `arena vote ID a` on that database;
#   - `arena leaderboard --format json` (BT, 100 bootstrap rounds) right after a new vote, so
#     no cached result can answer, at 1,000,000 and at 3,000,000 votes;
#   - in process: votes per second through Arena::vote from 8 concurrent tasks.
#
#   scripts/bench/engine.sh            (needs python3 with numpy for the generator, GNU time)
#
# The generator is the battle-log generator with known strengths; give its path in GEN
# (default ../shared/tools/gen_battles.py), or give ready logs in LOG1M and LOG3M.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gen=${GEN:-../shared/tools/gen_battles.py}
log1=${LOG1M:-$work/g1m.jsonl}
log3=${LOG3M:-$work/g3m.jsonl}
[ -f "$log1" ] || python3 "$gen" --models 200 --battles 1000000 --seed 7 --out "$log1" >/dev/null
[ -f "$log3" ] || python3 "$gen" --models 200 --battles 3000000 --seed 7 --out "$log3" >/dev/null
cargo build --release --quiet
bin=$PWD/target/release/arena
cat > "$work/mock.json" <<'JSON'
{"models": [{"name": "bench-a", "provider": "mock", "params": {"delay_ms": 0}},
            {"name": "bench-b", "provider": "mock", "params": {"delay_ms": 0}}]}
JSON

# Run from the work directory: the repository's own config.jsonc and models.json are not used.
cd "$work"

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m}'; }
now_ms() { date +%s%N | awk '{printf "%.3f", $1/1e6}'; }

echo "== import of 1,000,000 votes (3 runs)"
for i in 1 2 3; do
  rm -f "$work/i.sqlite3"*
  /usr/bin/time -f "%e %M" -o "$work/time" "$bin" --db "$work/i.sqlite3" --no-progress import "$log1" >/dev/null
  read -r secs kb < "$work/time"
  echo "run $i: $secs s, $(awk -v s="$secs" 'BEGIN {printf "%.0f", 1000000/s}') rows/s, peak RSS $((kb / 1024)) MB"
done

for size in 1m 3m; do
  db="$work/$size.sqlite3"
  log=$log1; [ "$size" = 3m ] && log=$log3
  "$bin" --db "$db" --no-progress import "$log" >/dev/null
  ids=()
  for i in $(seq 1 11); do ids+=("$("$bin" --models "$work/mock.json" --db "$db" battle "q$i" --no-vote 2>/dev/null)"); done
  # The first vote after an import replays online Elo once; the figure is the steady state.
  "$bin" --db "$db" vote "${ids[0]}" a >/dev/null
  echo "== $size: arena vote, leaderboard right after each vote (10 rounds)"
  : > "$work/votes"; : > "$work/boards"
  for id in "${ids[@]:1}"; do
    t0=$(now_ms); "$bin" --db "$db" vote "$id" b >/dev/null; t1=$(now_ms)
    "$bin" --db "$db" leaderboard --format json >/dev/null; t2=$(now_ms)
    awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}' >> "$work/votes"
    awk -v a="$t1" -v b="$t2" 'BEGIN {print b - a}' >> "$work/boards"
  done
  echo "$size: arena vote median $(median < "$work/votes") ms; leaderboard after a vote median $(median < "$work/boards") ms"
done

echo "== in process"
(cd "$OLDPWD" && cargo bench --quiet --bench engine 2>/dev/null | tail -1)

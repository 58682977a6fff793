#!/usr/bin/env bash
# The performance figures of the README, and arena-rank on the same file in the same run.
#
#   scripts/bench/run.sh [VOTES] [MODELS]        (default 1000000 200)
#
# Needs: python3 with numpy (the generator), and for the comparison arena-rank 0.1.1 and
# pandas (pip install arena-rank==0.1.1 pandas); GNU time (/usr/bin/time) for peak memory.
# Set SKIP_ARENA_RANK=1 to leave the comparison out (its 100-round bootstrap takes minutes).
set -euo pipefail
cd "$(dirname "$0")/../.."
votes=${1:-1000000}
models=${2:-200}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log="$work/battles.jsonl"
shared=${SHARED:-../shared}

python3 "$shared/tools/gen_battles.py" --models "$models" --battles "$votes" --seed 1 --out "$log"
cargo build --release --quiet
bin=target/release/arena

echo "== cargo bench (in-process figures, medians)"
ARENA_BENCH_LOG="$log" cargo bench --quiet --bench ratings

echo "== whole process: import (peak memory from GNU time)"
/usr/bin/time -f "wall %e s, peak RSS %M KB" "$bin" --db "$work/a.sqlite3" --no-progress import "$log"
echo "== whole process: leaderboard --format json (bt, 100 bootstrap rounds)"
for _ in 1 2 3; do
  /usr/bin/time -f "wall %e s, peak RSS %M KB" "$bin" --db "$work/a.sqlite3" leaderboard --format json --output "$work/ours.json"
done
"$bin" --db "$work/a.sqlite3" leaderboard --format json --bootstrap 0 --output "$work/ours0.json"
if command -v hyperfine >/dev/null; then
  hyperfine --warmup 1 --runs 10 "$bin --db $work/a.sqlite3 leaderboard --format json"
fi

if [ "${SKIP_ARENA_RANK:-0}" != 1 ]; then
  echo "== arena-rank 0.1.1 on the same file"
  python3 scripts/bench/arena_rank_bench.py "$log" "$work/arena_rank.json" --bootstrap 100
  python3 - "$work/ours0.json" "$work/ours.json" "$work/arena_rank.json" <<'PY'
import json, sys
ours0 = {r["model_name"]: r for r in json.load(open(sys.argv[1]))["leaderboard"]}
ref = json.load(open(sys.argv[3]))
s = ref["sandwich"]
gap = max(
    max(abs(ours0[n]["rating"] - s["ratings"][i]),
        abs(ours0[n]["rating_lower"] - s["rating_lower"][i]),
        abs(ours0[n]["rating_upper"] - s["rating_upper"][i]))
    for i, n in enumerate(s["competitors"]))
print(f"largest gap to arena-rank, ratings and sandwich bounds: {gap:.4f} rating points")
print(f"arena-rank: read {ref['read_seconds']:.2f} s, fit + sandwich {ref['fit_sandwich_seconds']:.2f} s, "
      f"{ref.get('bootstrap_rounds', 0)} bootstrap rounds {ref.get('bootstrap_seconds', float('nan')):.1f} s")
PY
fi

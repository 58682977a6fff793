#!/usr/bin/env bash
# Whole-process figures of the style-controlled board at 1,000,000 votes, beside arena-rank's
# ContextualBradleyTerry on the same votes in the same run, and the plain board with 100
# bootstrap rounds on those votes alone and when four models with one vote each join (the
# regularised path).
#
#   scripts/bench/style.sh [VOTES] [MODELS]        (default 1000000 200)
#
# Needs: hyperfine (medians of 10 runs after a warm-up) or GNU time, and for the comparison
# arena-rank 0.1.1 and pandas (pip install arena-rank==0.1.1 pandas). Set SKIP_ARENA_RANK=1
# to leave the comparison out, ARENA_RANK_TIGHT=1 to add arena-rank with tight tolerances. Makes a release build; remove target/release afterwards when
# disk is short.
set -euo pipefail
cd "$(dirname "$0")/../.."
votes=${1:-1000000}
models=${2:-200}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
root=$PWD
bin=$root/target/release/arena

# The votes with style counts, in the 140k release's conv_metadata column names (CSV), as
# the ratings bench writes them; only its style section runs (its in-process figures).
echo "== in process (cargo bench --bench ratings, style section)"
ARENA_BENCH_ONLY=style ARENA_BENCH_STYLE_VOTES="$votes" ARENA_BENCH_MODELS="$models" \
  ARENA_BENCH_STYLE_CSV="$work/style.csv" cargo bench --quiet --bench ratings
# The commands run in the scratch directory: the example config.jsonc and models.json of a
# checkout are not theirs.
cd "$work"
"$bin" --db "$work/s.sqlite3" --no-progress -q import "$work/style.csv"

# Times a command (one string) and prints its median wall time.
run() {
  if command -v hyperfine >/dev/null; then
    hyperfine --style basic --warmup 1 --runs 10 --export-json "$work/h.json" \
      --command-name "$1" "$2" >/dev/null
    python3 - "$work/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"{r['command']}: median {r['median'] * 1000:.0f} ms "
      f"(min {r['min'] * 1000:.0f}, max {r['max'] * 1000:.0f}, {len(r['times'])} runs)")
PY
  else
    for _ in 1 2 3 4 5; do /usr/bin/time -f "$1: wall %e s, peak RSS %M KB" sh -c "$2" >/dev/null; done
  fi
}
db="$bin --db $work/s.sqlite3"
echo "== whole process, $votes votes, $models models"
run "style control, sandwich" "$db leaderboard --style-control --bootstrap 0 --format json"
run "style control, 100 bootstrap rounds" "$db leaderboard --style-control --bootstrap 100 --format json"
run "plain board, 100 bootstrap rounds" "$db leaderboard --bootstrap 100 --format json"

# Four models with one vote each (two win theirs, two lose): the maximum-likelihood
# estimate no longer exists and the board takes its regularised path.
{
  head -1 "$work/style.csv"
  printf 'single-1,model-0000,model_a,1,1,0,0,0,0,0,0\n'
  printf 'single-2,model-0001,model_a,1,1,0,0,0,0,0,0\n'
  printf 'single-3,model-0002,model_b,1,1,0,0,0,0,0,0\n'
  printf 'single-4,model-0003,model_b,1,1,0,0,0,0,0,0\n'
} >"$work/singles.csv"
cp "$work/s.sqlite3" "$work/s4.sqlite3"
"$bin" --db "$work/s4.sqlite3" --no-progress -q import "$work/singles.csv"
run "plain board, 100 bootstrap rounds, four one-vote models" \
  "$bin --db $work/s4.sqlite3 leaderboard --bootstrap 100 --format json"

if [ "${SKIP_ARENA_RANK:-0}" != 1 ]; then
  echo "== arena-rank 0.1.1 ContextualBradleyTerry on the same votes (whole process, one run)"
  /usr/bin/time -f "arena-rank whole process: wall %e s, peak RSS %M KB" \
    python3 "$root/scripts/bench/arena_rank_style_bench.py" "$work/style.csv" "$work/arena_rank.json"
  $db leaderboard --style-control --bootstrap 0 --format json --output "$work/ours.json"
  gap() {
    python3 - "$work/ours.json" "$1" "$2" <<'PY'
import json, sys
ours = {r["model_name"]: r for r in json.load(open(sys.argv[1]))["leaderboard"]}
ref = json.load(open(sys.argv[2]))
gap = max(
    max(abs(ours[n]["rating"] - ref["ratings"][i]),
        abs(ours[n]["rating_lower"] - ref["lower"][i]),
        abs(ours[n]["rating_upper"] - ref["upper"][i]))
    for i, n in enumerate(ref["competitors"]))
print(f"largest gap to {sys.argv[3]}, ratings and sandwich bounds: {gap:.4f} rating points")
PY
  }
  gap "$work/arena_rank.json" "arena-rank (its defaults)"
  # Its default tolerances stop short of the optimum at this size; ARENA_RANK_TIGHT=1 adds a
  # run with the fixtures' tight ones (a little slower than its default run), which ours
  # should match.
  if [ "${ARENA_RANK_TIGHT:-0}" = 1 ]; then
    ARENA_RANK_TIGHT=1 python3 "$root/scripts/bench/arena_rank_style_bench.py" "$work/style.csv" \
      "$work/arena_rank_tight.json"
    gap "$work/arena_rank_tight.json" "arena-rank (tight tolerances)"
  fi
fi

#!/usr/bin/env bash
# Whole-process figures of the style-controlled board at 1,000,000 votes, beside arena-rank's
# ContextualBradleyTerry on the same votes, and the plain board with 100 bootstrap rounds
# when four models with one vote each join (the regularised path).
#
#   scripts/bench/style.sh [VOTES] [MODELS]        (default 1000000 200)
#
# Needs: a release build (made here), hyperfine or GNU time, and for the comparison
# arena-rank 0.1.1 and pandas (pip install arena-rank==0.1.1 pandas).
set -euo pipefail
cd "$(dirname "$0")/../.."
votes=${1:-1000000}
models=${2:-200}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
bin=target/release/arena

# The votes with style counts, in the 140k release's conv_metadata column names (CSV), as
# the ratings bench writes them; only its style section runs.
ARENA_BENCH_ONLY=style ARENA_BENCH_STYLE_VOTES="$votes" ARENA_BENCH_MODELS="$models" \
  ARENA_BENCH_STYLE_CSV="$work/style.csv" cargo bench --quiet --bench ratings
"$bin" --db "$work/s.sqlite3" --no-progress import "$work/style.csv"

run() {
  if command -v hyperfine >/dev/null; then
    hyperfine --warmup 1 --runs 10 "$*"
  else
    for _ in 1 2 3 4 5; do /usr/bin/time -f "wall %e s, peak RSS %M KB" "$@" >/dev/null; done
  fi
}
echo "== arena leaderboard --style-control (sandwich), whole process"
run "$bin" --db "$work/s.sqlite3" leaderboard --style-control --bootstrap 0 --format json
echo "== arena leaderboard --style-control with 100 bootstrap rounds, whole process"
run "$bin" --db "$work/s.sqlite3" leaderboard --style-control --bootstrap 100 --format json

if [ "${SKIP_ARENA_RANK:-0}" != 1 ]; then
  echo "== arena-rank 0.1.1 ContextualBradleyTerry on the same votes"
  python3 scripts/bench/arena_rank_style_bench.py "$work/style.csv" "$work/arena_rank.json"
fi

echo "== plain board, 100 bootstrap rounds, with four one-vote models"
{
  cat "$work/style.csv" | head -1
  printf 'single-1,model-0000,model_a,1,1,0,0,0,0,0,0\n'
  printf 'single-2,model-0001,model_a,1,1,0,0,0,0,0,0\n'
  printf 'single-3,model-0002,model_b,1,1,0,0,0,0,0,0\n'
  printf 'single-4,model-0003,model_b,1,1,0,0,0,0,0,0\n'
} > "$work/singles.csv"
"$bin" --db "$work/s.sqlite3" --no-progress import "$work/singles.csv"
run "$bin" --db "$work/s.sqlite3" leaderboard --bootstrap 100 --format json

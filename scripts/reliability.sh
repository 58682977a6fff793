#!/usr/bin/env bash
# The slow half of the reliability tests (docs/reliability.md), bounded and timed:
#   1. the crash loop (SIGKILL of arena serve, import and vote at random moments);
#   2. schemathesis against /openapi.json of a running server (mock models only);
#   3. slow clients (slowloris) against a server limited to 1,024 descriptors;
#   4. the fuzz targets of fuzz/, each for FUZZ_SECONDS (needs a nightly toolchain and
#      cargo-fuzz; skipped with a note without them);
#   5. with SOAK_SECONDS set (e.g. 1800), the soak.
# Loopback only. Prints each part's figures and the time it took.
#
#   scripts/reliability.sh                      (about 10 minutes)
#   FUZZ_SECONDS=60 SCHEMATHESIS_SECONDS=120 SOAK_SECONDS=1800 scripts/reliability.sh
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
SCHEMATHESIS_SECONDS=${SCHEMATHESIS_SECONDS:-240}
SCHEMATHESIS_EXAMPLES=${SCHEMATHESIS_EXAMPLES:-50}
SCHEMATHESIS_VERSION=${SCHEMATHESIS_VERSION:-4.32.5}
work=target/reliability
mkdir -p "$work"
status=0
started=$(date +%s)
part() { echo; echo "== $1 ($(($(date +%s) - started)) s so far)"; }

part "crash loop"
cargo bench --bench crash 2>&1 | grep -v '^\s*\(Compiling\|Finished\|Running\)' || status=1

part "schemathesis"
cargo build --release --quiet || exit 1
if [ ! -x "$work/venv/bin/schemathesis" ]; then
  python3 -m venv "$work/venv" &&
    "$work/venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
st_dir=$(mktemp -d)
cat > "$st_dir/models.json" <<'JSON'
{"models": [
  {"name": "mock-1", "provider": "mock", "tier": "high", "params": {"delay_ms": 0}},
  {"name": "mock-2", "provider": "mock", "tier": "high", "params": {"delay_ms": 0}},
  {"name": "mock-3", "provider": "mock", "params": {"delay_ms": 0}},
  {"name": "mock-4", "provider": "mock", "params": {"delay_ms": 0}}
]}
JSON
echo '{"battles_per_hour": 0, "battle_interval_seconds": 0, "max_concurrent_battles": 0,
       "user_id_salt": "reliability-user-key-0123456789abcdef"}' > "$st_dir/config.jsonc"
arena=(target/release/arena --db "$st_dir/st.sqlite3" --config "$st_dir/config.jsonc" --models "$st_dir/models.json" -q)
"${arena[@]}" prompts import examples/prompts.json >/dev/null
"${arena[@]}" serve --port 0 2> "$st_dir/serve.log" &
server=$!
for _ in $(seq 50); do grep -q listening "$st_dir/serve.log" && break; sleep 0.1; done
base=$(grep -o 'http://[0-9.:]*' "$st_dir/serve.log" | head -1)
timeout $((SCHEMATHESIS_SECONDS + 120)) "$work/venv/bin/schemathesis" run "$base/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --max-examples "$SCHEMATHESIS_EXAMPLES" --seed 1 --max-time "$SCHEMATHESIS_SECONDS" \
  --report junit --report-junit-path "$work/schemathesis.xml" > "$work/schemathesis.txt" 2>&1
st=$?
kill "$server" 2>/dev/null; wait "$server" 2>/dev/null
grep -E 'generated|Selected|Tested|passed|failures|ST[0-9]+|not_a_server_error|Server error' "$work/schemathesis.txt" | sed 's/^/  /'
fivexx=$(grep -c '^\[5[0-9][0-9]\]' "$work/schemathesis.txt")
echo "schemathesis: exit $st; 5xx responses: $fivexx; report: $work/schemathesis.txt"
[ "$st" -eq 0 ] || status=1
rm -rf "$st_dir"

part "slow clients"
cargo bench --bench slowloris 2>&1 | grep -v '^\s*\(Compiling\|Finished\|Running\)' || status=1

part "fuzzing"
if cargo +nightly fuzz --help >/dev/null 2>&1; then
  for target in commands config models prompts import; do
    mkdir -p "fuzz/corpus/$target"
    cp -n fuzz/seeds/"$target"/* "fuzz/corpus/$target/" 2>/dev/null
    (cd fuzz && cargo +nightly fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$FUZZ_SECONDS" -max_len=65536 -print_final_stats=1) \
      > "$work/fuzz-$target.txt" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/fuzz-$target.txt" | grep -o '[0-9]*$')
    crashes=$(ls fuzz/artifacts/"$target" 2>/dev/null | wc -l)
    echo "fuzz $target: ${execs:-?} executions in $FUZZ_SECONDS s, exit $rc, crash artifacts: $crashes"
    [ "$rc" -eq 0 ] || status=1
  done
else
  echo "fuzzing skipped: needs a nightly toolchain and cargo-fuzz (cargo install cargo-fuzz)"
fi

if [ -n "${SOAK_SECONDS:-}" ]; then
  part "soak ($SOAK_SECONDS s)"
  ARENA_SOAK_SECONDS=$SOAK_SECONDS cargo bench --bench soak 2>&1 \
    | grep -v '^\s*\(Compiling\|Finished\|Running\)' || status=1
fi

echo
echo "reliability: $(($(date +%s) - started)) s in all; $([ $status -eq 0 ] && echo passed || echo FAILED)"
exit $status

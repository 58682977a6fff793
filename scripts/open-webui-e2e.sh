#!/usr/bin/env bash
# Open WebUI, from PyPI, offline, against `arena serve`, driven in headless Chromium: two
# users battle in the chat, and the thumbs, Regenerate, Stop and Continue Response buttons are
# tried. Everything listens on 127.0.0.1; nothing is fetched at run time. Not run in CI
# (Open WebUI and its dependencies are about 2 GB; a run takes a few minutes).
#
#   scripts/open-webui-e2e.sh            (ARENA=path/to/arena to use a built binary)
#
# Needs python3 (3.11 or 3.12, with venv) and Debian's chromium (`apt-get install chromium`;
# Playwright's own browser download is never used). The virtualenv (about 1.8 GB) is made in
# $OWUI_VENV, /tmp/arena-open-webui/venv unless set, and kept for the next run: delete it when
# done. The run's files (logs, databases, screenshots, findings.json) are left in
# target/open-webui/run; the checks are printed, and the README's "Open WebUI" section
# holds the last run's result (updated by hand).
#
# The pieces: a recording fake upstream (scripts/open-webui/upstream.py) serving two models,
# arena with a service key that trusts Open WebUI's forwarded user, Open WebUI pointed at
# arena with ENABLE_FORWARD_USER_INFO_HEADERS, and scripts/open-webui/drive.py.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
state=$root/target/open-webui
venv=${OWUI_VENV:-/tmp/arena-open-webui/venv}
run=$state/run
owui_version=0.12.4
playwright_version=1.65.3

if [ ! -x /usr/bin/chromium ]; then
  echo "needs Debian's chromium at /usr/bin/chromium: apt-get install -y chromium" >&2
  exit 2
fi

if [ ! -x "$venv/bin/open-webui" ] || ! "$venv/bin/python" -c "import playwright" 2>/dev/null; then
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  started=$(date +%s)
  tmp=$(mktemp -d)
  "$venv/bin/pip" download --quiet --no-deps -d "$tmp" "open-webui==$owui_version"
  "$venv/bin/pip" install --quiet --no-cache-dir --no-deps "$tmp"/open_webui-*.whl
  # Its pinned dependencies, less the three that pull in PyTorch (with CUDA, several GB):
  # they serve local embeddings, reranking and speech, which this run turns off.
  "$venv/bin/python" - "$tmp"/open_webui-*.whl >"$tmp/requirements.txt" <<'PY'
import sys, zipfile
wheel = zipfile.ZipFile(sys.argv[1])
meta = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
for line in wheel.read(meta).decode().splitlines():
    if line.startswith("Requires-Dist: ") and "extra ==" not in line:
        req = line[len("Requires-Dist: "):]
        if req.split("==")[0] not in ("accelerate", "sentence-transformers", "faster-whisper"):
            print(req)
PY
  "$venv/bin/pip" install --quiet --no-cache-dir -r "$tmp/requirements.txt" \
    "playwright==$playwright_version"
  rm -rf "$tmp"
  echo "install: open-webui $owui_version and playwright in $(( $(date +%s) - started )) s" \
    "($(du -sh "$venv" | cut -f1))"
fi

if [ -z "${ARENA:-}" ]; then
  cargo build --quiet --bin arena
  ARENA=$root/target/debug/arena
fi

rm -rf "$run"
mkdir -p "$run/owui-data"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # $1: url, $2: seconds
  for _ in $(seq 1 $(( ${2:-60} * 5 ))); do
    curl -sf "$1" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "no answer from $1" >&2
  return 1
}

up_port=$(free_port)
python3 scripts/open-webui/upstream.py "$up_port" "$run/upstream.jsonl" >"$run/upstream.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$up_port/v1/models"

arena_port=$(free_port)
cat >"$run/config.jsonc" <<JSON
{"battle_server_port": $arena_port, "sse_keepalive_seconds": 2,
 "user_id_salt": "0123456789abcdef0123456789abcdef-open-webui",
 "upstream": {"base_url": "http://127.0.0.1:$up_port/v1", "api_key_env": null}}
JSON
cat >"$run/models.json" <<JSON
{"models": [
  {"name": "north", "model": "fake-a", "base_url": "http://127.0.0.1:$up_port/v1", "api_key_env": null, "tier": "high"},
  {"name": "south", "model": "fake-b", "base_url": "http://127.0.0.1:$up_port/v1", "api_key_env": null, "tier": "high"}
]}
JSON
arena() { (cd "$run" && exec env -u ARENA_DB -u ARENA_CONFIG -u ARENA_MODELS -u ARENA_API_KEY \
  HOME="$run" "$ARENA" --db "$run/arena.sqlite3" --config "$run/config.jsonc" \
  --models "$run/models.json" "$@"); }
arena prompts import "$root/examples/prompts.json" >/dev/null
# The key Open WebUI sends: a service key that may name its user by X-OpenWebUI-User-Id.
key=$(arena keys add open-webui --service --trust-forwarded-user 2>/dev/null)
(cd "$run" && exec env -u ARENA_DB -u ARENA_CONFIG -u ARENA_MODELS -u ARENA_API_KEY HOME="$run" \
  "$ARENA" --db "$run/arena.sqlite3" --config "$run/config.jsonc" --models "$run/models.json" \
  serve >"$run/serve.log" 2>&1) &
pids+=($!)
wait_for "http://127.0.0.1:$arena_port/health"

owui_port=$(free_port)
# Open WebUI offline: no Ollama, no update check, no model downloads (retrieval bypassed,
# embeddings by API, speech by API), one OpenAI connection: arena, with the user forwarded.
(cd "$run" && exec env HOME="$run" DATA_DIR="$run/owui-data" \
  OFFLINE_MODE=true HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
  ENABLE_VERSION_UPDATE_CHECK=false ENABLE_COMMUNITY_SHARING=false \
  ANONYMIZED_TELEMETRY=false DO_NOT_TRACK=true SCARF_NO_ANALYTICS=true \
  ENABLE_OLLAMA_API=false ENABLE_OPENAI_API=true \
  OPENAI_API_BASE_URL="http://127.0.0.1:$arena_port/v1" OPENAI_API_KEY="$key" \
  ENABLE_FORWARD_USER_INFO_HEADERS=true \
  WEBUI_AUTH=true WEBUI_SECRET_KEY=open-webui-e2e-only DEFAULT_USER_ROLE=user \
  BYPASS_MODEL_ACCESS_CONTROL=true DEFAULT_MODELS=arena \
  RAG_EMBEDDING_ENGINE=openai BYPASS_EMBEDDING_AND_RETRIEVAL=true AUDIO_STT_ENGINE=openai \
  ENABLE_WEB_SEARCH=false ENABLE_IMAGE_GENERATION=false \
  nice "$venv/bin/open-webui" serve --host 127.0.0.1 --port "$owui_port" >"$run/owui.log" 2>&1) &
pids+=($!)
wait_for "http://127.0.0.1:$owui_port/api/config" 300
owui=http://127.0.0.1:$owui_port
echo "open-webui $owui_version at $owui -> arena at http://127.0.0.1:$arena_port/v1 -> fake upstream :$up_port"

# The users: the first sign-up is Open WebUI's admin, who adds Alice and Bob.
token=$(curl -sf -X POST "$owui/api/v1/auths/signup" -H 'content-type: application/json' \
  -d '{"name": "Admin", "email": "admin@example.org", "password": "admin-pass-1"}' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
for name in Alice Bob; do
  lower=$(echo "$name" | tr 'A-Z' 'a-z')
  curl -sf -X POST "$owui/api/v1/auths/add" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' \
    -d "{\"name\": \"$name\", \"email\": \"$lower@example.org\", \"password\": \"$lower-pass-1\", \"role\": \"user\"}" \
    >/dev/null
done

status=0
"$venv/bin/python" scripts/open-webui/drive.py "$owui" "$run" || status=$?

echo
echo "arena's battles:"
arena battles --format table || true
echo
echo "arena's log, warnings and errors:"
grep -E "WARN|ERROR" "$run/serve.log" | cut -c1-200 || echo "  none"
echo "Open WebUI's log, errors:"
grep -E "ERROR|Traceback" "$run/owui.log" | cut -c1-200 | head -20 || echo "  none"
exit $status

#!/usr/bin/env python3
"""CPU that arena spends on one long upstream SSE line, on both upstream paths.

A fake upstream on 127.0.0.1 streams a chat answer whose text is one `data:` line of SIZE
megabytes, written in 16 KiB pieces as a network delivers it. Measured, in CPU seconds of the
arena process (user + system, from /proc):

  - proxy:  `arena serve`, one streamed /v1/chat/completions of that model, read to the end;
  - battle: `arena battle --models big,small --no-vote`, the whole process.

Prints one line per path and size. Asserts nothing about speed.

  scripts/bench/sse_line.py [--arena target/release/arena] [--sizes 8,20]

Compare two builds on the same input by running it once with each binary.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PIECE = 16 << 10


def chunk(delta, finish=None):
    body = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0,
            "model": "big", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return "data: " + json.dumps(body) + "\n\n"


class Upstream(BaseHTTPRequestHandler):
    size = 8 << 20

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        asked = json.loads(self.rfile.read(length) or b"{}")
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        if asked.get("model") == "small":
            text = chunk({"role": "assistant", "content": "short"}) + chunk({}, "stop")
            self.wfile.write((text + "data: [DONE]\n\n").encode())
            return
        head = chunk({"role": "assistant", "content": ""})
        line = chunk({"content": "x" * self.size}).encode()
        tail = (chunk({}, "stop") + "data: [DONE]\n\n").encode()
        self.wfile.write(head.encode())
        for i in range(0, len(line), PIECE):
            self.wfile.write(line[i:i + PIECE])
            self.wfile.flush()
        self.wfile.write(tail)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arena", default="target/release/arena")
    ap.add_argument("--sizes", default="8,20", help="line sizes in MB, comma-separated")
    args = ap.parse_args()
    arena = os.path.abspath(args.arena)

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{upstream.server_address[1]}/v1"

    with tempfile.TemporaryDirectory() as work:
        port = free_port()
        config = os.path.join(work, "config.jsonc")
        models = os.path.join(work, "models.json")
        with open(config, "w") as f:
            json.dump({"max_answer_bytes": 32 << 20, "battle_server_port": port,
                       "request_timeout_seconds": 600, "stream_idle_timeout_seconds": 300,
                       "generation_timeout_seconds": 600, "battle_interval_seconds": 0,
                       "user_id_salt": "0123456789abcdef0123456789abcdef-bench"}, f)
        with open(models, "w") as f:
            json.dump({"models": [{"name": "big", "base_url": base},
                                  {"name": "small", "base_url": base}]}, f)
        files = ["--db", os.path.join(work, "a.sqlite3"), "--config", config,
                 "--models", models]
        env = dict(os.environ, HOME=work)
        for key in ("ARENA_DB", "ARENA_CONFIG", "ARENA_MODELS", "ARENA_API_KEY"):
            env.pop(key, None)
        subprocess.run([arena, *files, "init", "--dir", os.path.join(work, "t")], env=env,
                       check=True, capture_output=True)

        server = subprocess.Popen([arena, *files, "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            for mb in (int(s) for s in args.sizes.split(",")):
                Upstream.size = mb << 20
                body = json.dumps({"model": "big", "stream": True,
                                   "messages": [{"role": "user", "content": "hi"}]}).encode()
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/v1/chat/completions", data=body,
                    headers={"content-type": "application/json"})
                before = cpu_seconds(server.pid)
                started = time.monotonic()
                with urllib.request.urlopen(request, timeout=900) as response:
                    got = 0
                    while True:
                        piece = response.read(1 << 20)
                        if not piece:
                            break
                        got += len(piece)
                wall = time.monotonic() - started
                spent = cpu_seconds(server.pid) - before
                print(f"proxy  {mb:3d} MB line: {spent:7.2f} s CPU, {wall:7.2f} s wall, "
                      f"{got / 1e6:.1f} MB relayed")
                sys.stdout.flush()

                started = time.monotonic()
                child_before = os.times()
                battle = subprocess.run(
                    [arena, *files, "battle", "A prompt", "--models", "big,small",
                     "--no-vote", "--format", "json"],
                    env=env, capture_output=True, text=True)
                child_after = os.times()
                wall = time.monotonic() - started
                spent = (child_after.children_user - child_before.children_user
                         + child_after.children_system - child_before.children_system)
                status = "?"
                try:
                    status = json.loads(battle.stdout).get("status", "?")
                except ValueError:
                    pass
                print(f"battle {mb:3d} MB line: {spent:7.2f} s CPU, {wall:7.2f} s wall, "
                      f"battle {status}")
                sys.stdout.flush()
        finally:
            server.terminate()
            server.wait()
    upstream.shutdown()


if __name__ == "__main__":
    main()

"""A recording fake OpenAI-compatible upstream for scripts/open-webui-e2e.sh (stdlib only).

    python3 upstream.py PORT RECORD.jsonl

`POST /v1/chat/completions` appends the request body as one JSON line to RECORD.jsonl, then
streams (or returns whole) an answer whose words name the upstream model asked for: `fake-a`
answers "alpha-N …", `fake-b` "bravo-N …" (N counts that model's requests), so a transcript
that carries the other side's answer shows it by that word. A last user message that asks
for "a long story" gets a slow answer (about 20 s), for a client's Stop button. Binds
127.0.0.1 only.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
counts: dict[str, int] = {}


def last_user_text(messages):
    for m in reversed(messages or []):
        if m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, list):
                return " ".join(p.get("text", "") for p in c if isinstance(p, dict))
            return c or ""
    return ""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, body):
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        if self.path.rstrip("/") == "/v1/models":
            self.send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "owned_by": "fake"} for m in ("fake-a", "fake-b")]})
        else:
            self.send_json(404, {"error": {"message": "not found"}})

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path.rstrip("/") != "/v1/chat/completions":
            self.send_json(404, {"error": {"message": "not found"}})
            return
        model = body.get("model", "")
        with lock:
            counts[model] = counts.get(model, 0) + 1
            n = counts[model]
            with open(sys.argv[2], "a", encoding="utf-8") as f:
                # Any X- header arena passed on (it should pass on none of the client's).
                headers = {k.lower(): v for k, v in self.headers.items()
                           if k.lower().startswith("x-")}
                f.write(json.dumps({"at": time.time(), "headers": headers, "body": body}) + "\n")
        word = {"fake-a": "alpha", "fake-b": "bravo"}.get(model, model)
        asked = last_user_text(body.get("messages"))
        if "long story" in asked:
            words = [f"{word}-{n}"] + [f"{word}{i}" for i in range(200)]
            delay = 0.1
        else:
            words = [f"{word}-{n}", "answers", "in", "five", "plain", "words", "about:"] + \
                asked.split()[:12]
            delay = 0.03
        text = " ".join(words)
        usage = {"prompt_tokens": 7, "completion_tokens": len(words),
                 "total_tokens": 7 + len(words)}
        if not body.get("stream"):
            self.send_json(200, {"id": "fake", "object": "chat.completion", "created": 0,
                                 "model": model, "usage": usage, "choices": [{
                                     "index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": text}}]})
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()

        def chunk(delta, finish=None, **extra):
            frame = {"id": "fake", "object": "chat.completion.chunk", "created": 0,
                     "model": model, "choices": [
                         {"index": 0, "delta": delta, "finish_reason": finish}], **extra}
            self.wfile.write(f"data: {json.dumps(frame)}\n\n".encode())
            self.wfile.flush()

        try:
            chunk({"role": "assistant", "content": ""})
            for i, w in enumerate(words):
                chunk({"content": (" " if i else "") + w})
                time.sleep(delay)
            chunk({}, "stop")
            if (body.get("stream_options") or {}).get("include_usage"):
                self.wfile.write(f"data: {json.dumps({'id': 'fake', 'object': 'chat.completion.chunk', 'created': 0, 'model': model, 'choices': [], 'usage': usage})}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            with lock, open(sys.argv[2], "a", encoding="utf-8") as f:
                f.write(json.dumps({"at": time.time(), "cancelled": model, "n": n}) + "\n")
        self.close_connection = True


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()

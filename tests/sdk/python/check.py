"""The official `openai` Python SDK against a running `arena serve`.

Environment: ARENA_BASE_URL (ending in /v1), ARENA_API_KEY, ARENA_POOL_MODEL (a pool model
that streams); the server allows one battle an hour per user. Exits non-zero, naming the
failed check, on any mismatch.
"""

import os
import sys

import openai
from openai import OpenAI

BASE = os.environ["ARENA_BASE_URL"]
KEY = os.environ["ARENA_API_KEY"]
POOL = os.environ["ARENA_POOL_MODEL"]

client = OpenAI(base_url=BASE, api_key=KEY, max_retries=0, timeout=30)


def check(what, ok, detail=""):
    if not ok:
        sys.exit(f"python sdk {openai.__version__}: {what} failed {detail}")


def whole(model, text, **extra):
    r = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": text}], **extra
    )
    return r


def streamed(model, messages, **extra):
    chunks = list(
        client.chat.completions.create(
            model=model,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
            **extra,
        )
    )
    text = "".join(
        c.choices[0].delta.content or "" for c in chunks if c.choices
    )
    return chunks, text


# models.list
ids = [m.id for m in client.models.list()]
check("models.list", "arena" in ids and POOL in ids, ids)
check("models.retrieve", client.models.retrieve(POOL).id == POOL)

# A pool model, whole and streamed.
r = whole(POOL, "Name three colours.")
check("whole answer", bool(r.choices[0].message.content), r)
check("whole model", r.model == POOL, r.model)
check("whole usage", r.usage is not None and r.usage.total_tokens >= 0, r.usage)
chunks, text = streamed(POOL, [{"role": "user", "content": "Name three colours."}])
check("stream text", bool(text), chunks)
check("stream model", all(c.model == POOL for c in chunks), [c.model for c in chunks])
check("stream role", chunks[0].choices[0].delta.role == "assistant", chunks[0])
last = chunks[-1]
check("stream usage chunk", last.choices == [] and last.usage is not None, last)
check(
    "finish reason",
    any(c.choices and c.choices[0].finish_reason == "stop" for c in chunks),
    chunks,
)

# A battle driven by commands, for a caller of its own.
user = {"user": "python-sdk"}
start = [{"role": "user", "content": "$sA41 Write a haiku about rivers"}]
chunks, a = streamed("arena", start, **user)
check("battle side A", bool(a) and all(c.model == "Assistant A" for c in chunks), chunks)
b = client.chat.completions.create(
    model="arena",
    messages=start + [{"role": "assistant", "content": a}, {"role": "user", "content": "$B41"}],
    **user,
)
check("battle side B", b.model == "Assistant B" and bool(b.choices[0].message.content), b)
result = whole("arena", "$wA41", **user).choices[0].message.content
check("battle result", "Elo" in result, result)
again = whole("arena", "$wA41", **user).choices[0].message.content
check("repeated result reads the same", again == result, again)
try:
    whole("arena", "$wB41", extra_body={"strict": True}, **user)
    check("a different second result is refused", False)
except openai.ConflictError as e:
    check("conflict status", e.status_code == 409, e)

# Error classes.
try:
    OpenAI(base_url=BASE, api_key="wrong", max_retries=0).models.list()
    check("401", False)
except openai.AuthenticationError as e:
    check("401 status", e.status_code == 401, e)
try:
    whole("no-such-model", "hi")
    check("404", False)
except openai.NotFoundError as e:
    check("404 status", e.status_code == 404, e)
try:
    # A second battle within the hour: over the server's limit.
    whole("arena", "$sA42 Write a haiku about lakes", extra_body={"strict": True}, **user)
    check("429", False)
except openai.RateLimitError as e:
    check("429 status", e.status_code == 429, e)

print(f"python sdk {openai.__version__}: ok")

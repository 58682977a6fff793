// How the page talks to the server: JSON requests with the caller's identity, and streams of
// server-sent events read with fetch() (EventSource cannot send Authorization or a POST body).

/** A refusal of the server (4xx/5xx), with its own message. */
export class ApiError extends Error {
  constructor(status, message, retryAt) {
    super(message);
    this.status = status;
    this.retryAt = retryAt;
  }
}

const identity = { key: null, userId: null, onUnauthorized: null };

/** With keys: `key` is sent as a bearer token and no user is named. Open: `userId` is named. */
export function configure(options) {
  Object.assign(identity, options);
}

/** Query parameters and bodies name the user only on an open server. */
export function withUser(object = {}) {
  return identity.key || !identity.userId ? { ...object } : { ...object, user_id: identity.userId };
}

function headers(json) {
  const out = { Accept: json ? "application/json" : "text/event-stream, application/json" };
  if (json !== undefined) out["Content-Type"] = "application/json";
  if (identity.key) out.Authorization = `Bearer ${identity.key}`;
  return out;
}

function url(path, query) {
  const u = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, String(v));
  }
  return u.pathname + u.search;
}

/** The message of an error body: REST `{"detail"}` (text, `{message}` or a list) or `/v1` `{"error"}`. */
export function messageOf(body, fallback) {
  if (body && typeof body === "object") {
    const d = body.detail ?? body.error;
    if (typeof d === "string") return d;
    if (d && typeof d.message === "string") return d.message;
    if (Array.isArray(d)) return d.map((x) => (x && (x.msg || x.message)) || JSON.stringify(x)).join("; ");
  }
  if (typeof body === "string" && body.trim()) return body.trim().slice(0, 500);
  return fallback;
}

async function errorOf(res) {
  const text = await res.text().catch(() => "");
  let body = text;
  try { body = JSON.parse(text); } catch { /* not JSON: the text itself */ }
  let retryAt = body && body.detail && body.detail.available_at;
  const after = Number(res.headers.get("Retry-After"));
  if (!retryAt && res.status === 429 && Number.isFinite(after) && after > 0) {
    retryAt = new Date(Date.now() + after * 1000).toISOString();
  }
  const error = new ApiError(res.status, messageOf(body, res.statusText || String(res.status)), retryAt);
  if (res.status === 401 && identity.onUnauthorized) identity.onUnauthorized(error);
  return error;
}

async function send(method, path, { body, query, signal } = {}) {
  let res;
  try {
    res = await fetch(url(path, query), {
      method,
      headers: headers(body === undefined ? undefined : true),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      credentials: "same-origin",
    });
  } catch (e) {
    if (signal && signal.aborted) throw e;
    throw new ApiError(0, e && e.message ? e.message : String(e));
  }
  if (!res.ok) throw await errorOf(res);
  return res;
}

export async function getJson(path, query, signal) {
  const res = await send("GET", path, { query, signal });
  return res.json();
}

export async function postJson(path, body, signal) {
  const res = await send("POST", path, { body, signal });
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

/**
 * Server-sent events, parsed as the HTML standard says: `event:` and `data:` fields (several
 * `data:` lines joined by newlines), comments ignored, an event dispatched at a blank line.
 * Lines may end in LF, CRLF or CR; input comes in pieces of any size.
 */
export class SseParser {
  constructor() {
    this.buffer = "";
    this.event = "";
    this.data = [];
    this.pendingCr = false;
  }

  /** Feeds text; returns the events it completed, as `{event, data}` (data as text). */
  push(text) {
    const out = [];
    let s = this.buffer + text;
    if (this.pendingCr && s.startsWith("\n")) s = s.slice(1);
    this.pendingCr = false;
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(s.slice(start, i), out);
      if (c === 13) {
        if (i + 1 < s.length) {
          if (s.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
    }
    this.buffer = s.slice(start);
    return out;
  }

  line(line, out) {
    if (line === "") {
      if (this.data.length) out.push({ event: this.event || "message", data: this.data.join("\n") });
      this.event = "";
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
  }
}

/**
 * POSTs `body` to `path` and reads the answer as server-sent events, calling `onEvent({event,
 * data})` for each (data parsed as JSON where it is JSON). Resolves with "ended" when the
 * stream said it was over (`isEnd(event)`), "dropped" when it stopped before that, "aborted"
 * when `signal` stopped it. A refusal before the stream starts throws an ApiError.
 */
export async function stream(path, body, { signal, onEvent, isEnd }) {
  const res = await send("POST", path, { body, signal });
  if (!res.body) return "dropped";
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  let ended = false;
  const deliver = (events) => {
    for (const ev of events) {
      let data = ev.data;
      try { data = JSON.parse(ev.data); } catch { /* kept as text ([DONE]) */ }
      const event = { event: ev.event, data };
      if (isEnd(event)) ended = true;
      onEvent(event);
    }
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      deliver(parser.push(decoder.decode(value, { stream: true })));
    }
    deliver(parser.push(decoder.decode()));
  } catch (e) {
    if (signal && signal.aborted) return "aborted";
    return ended ? "ended" : "dropped";
  }
  return ended ? "ended" : "dropped";
}

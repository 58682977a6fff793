#!/usr/bin/env node
// A STAND-IN FOR DEVELOPING THE PAGE ONLY: it is not arena and proves nothing about it.
//
// Serves web/ and answers the page's API (the contract of the streaming battle API: battles,
// turns, resume, vote, lists, models, config, leaderboard, statistics, the /v1 chat proxy)
// with canned streams, so the page can be worked on without building the server. The real
// browser tests run against `arena serve` (tests/browser.rs); tests/browser/standin.mjs runs
// the same suite against this file when the server is not at hand.
//
//   node scripts/web-dev-server.mjs [--port 5180] [--pool name=behaviour,...] [--key K]
//        [--language en|zh-CN] [--battles-per-hour N] [--no-chat]
//
// Behaviours, by the upstream id's prefix (as the test upstream's): prose-* (a Markdown answer
// in ~40 pieces, 50 ms apart), xss-* (an answer full of markup that must stay text), slow-*
// (a piece every 100 ms for ten seconds), cut-* (two pieces, then the side fails).
// GET /_dev/requests lists what each side "sent upstream" (its own transcript).
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "web");

export function options(argv) {
  const o = { port: 5180, pool: "saturn=prose-saturn,neptune=prose-neptune", key: null, language: "en", perHour: 0, chat: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--port") o.port = Number(argv[++i]);
    else if (a === "--pool") o.pool = argv[++i];
    else if (a === "--key") o.key = argv[++i];
    else if (a === "--language") o.language = argv[++i];
    else if (a === "--battles-per-hour") o.perHour = Number(argv[++i]);
    else if (a === "--no-chat") o.chat = false;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function tag(id) {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(id)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}

export function proseAnswer(id) {
  const t = tag(id);
  return `## Notes ${t}\n\nHere is a short answer with **bold** text, a list and some code.\n\n- first point\n- second point\n- third point\n\n\`\`\`python\nprint("${t}")\n\`\`\`\n\nThat is all for ${t}.`;
}

export const XSS_ANSWER = 'Careful: <script>window.__xss = 1; alert(1)</script> and <img src=x onerror="window.__xss = 2; alert(2)"> and [a link](javascript:alert(3)) and <a href="javascript:alert(4)">raw link</a>.';

/** The pieces of an answer and the pause before each; `fail` after them when it fails. */
function behaviour(id) {
  if (id.startsWith("xss-")) return { pieces: XSS_ANSWER.match(/.{1,9}/gs), delay: 20 };
  if (id.startsWith("slow-")) return { pieces: Array(100).fill("tick "), delay: 100 };
  if (id.startsWith("cut-")) return { pieces: ["The first half of an answer", " that never"], delay: 50, fail: true };
  return { pieces: proseAnswer(id).split(/(?<= )/), delay: 50 };
}

export function start(o) {
  const pool = o.pool.split(",").map((p) => {
    const [name, id] = p.split("=");
    return { name, id: id || name };
  });
  const battles = new Map();
  const requests = [];
  const votes = [];
  const elo = new Map();
  const hourly = new Map();

  const send = (res, status, body, headers = {}) => {
    res.writeHead(status, { "Content-Type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };
  const detail = (res, status, message, headers) => send(res, status, { detail: message }, headers);

  function owner(req, url, body) {
    if (o.key) return "key";
    return (body && body.user_id) || url.searchParams.get("user_id") || "local";
  }

  function authorized(req) {
    return !o.key || req.headers.authorization === `Bearer ${o.key}`;
  }

  /** Runs one turn of both sides; listeners get every event. */
  function generate(battle) {
    const turn = battle.turns[battle.turns.length - 1];
    turn.events = [];
    turn.listeners = new Set();
    const emit = (event, data) => {
      turn.events.push([event, data]);
      for (const l of turn.listeners) l(event, data);
    };
    battle.status = "pending_generation";
    let ended = 0;
    let failed = false;
    for (const side of ["a", "b"]) {
      const model = battle.models[side];
      const messages = [];
      for (const past of battle.turns) {
        const images = (past.images || []).map((url) => ({ type: "image_url", image_url: { url } }));
        messages.push({ role: "user", content: images.length ? [{ type: "text", text: past.prompt }, ...images] : past.prompt });
        if (past !== turn) messages.push({ role: "assistant", content: past[side] });
      }
      requests.push({ model: model.id, body: { model: model.id, messages, stream: true } });
      (async () => {
        const b = behaviour(model.id);
        for (const piece of b.pieces) {
          await sleep(b.delay);
          if (failed) return;
          turn[side] += piece;
          emit("delta", { side, text: piece });
        }
        if (b.fail) {
          if (!failed) {
            failed = true;
            battle.status = "failed";
            emit("error", { message: "A model of this battle failed: its answer stopped before its end." });
            emit("end");
          }
          return;
        }
        if (failed) return;
        emit("side_end", { side, finish_reason: "stop" });
        ended += 1;
        if (ended === 2) {
          battle.status = "pending_vote";
          emit("done", { votable: true });
          emit("end");
        }
      })();
    }
  }

  function stream(res, battle, fromStart) {
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
    const write = (event, data) => {
      if (event === "end") {
        res.end();
        return;
      }
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const turn = battle.turns[battle.turns.length - 1];
    const head = { battle_id: battle.id, turn: battle.turns.length - 1, prompt: turn.prompt, prompt_theme: battle.theme, mode: battle.mode };
    if (battle.mode === "named") Object.assign(head, { model_a: battle.models.a.name, model_b: battle.models.b.name });
    write("battle", head);
    if (fromStart) for (const [e, d] of turn.events) write(e, d);
    if (battle.status !== "pending_generation") {
      res.end();
      return;
    }
    const listener = (e, d) => write(e, d);
    turn.listeners.add(listener);
    res.on("close", () => turn.listeners.delete(listener));
  }

  function ratingOf(name) {
    return elo.get(name) ?? 1000;
  }

  function board(method) {
    const stats = new Map();
    const row = (n) => {
      if (!stats.has(n)) stats.set(n, { battles: 0, wins: 0, ties: 0, both_bad: 0, skips: 0 });
      return stats.get(n);
    };
    for (const v of votes) {
      const a = row(v.a);
      const b = row(v.b);
      a.battles++;
      b.battles++;
      if (v.winner === "model_a") a.wins++;
      if (v.winner === "model_b") b.wins++;
      if (v.winner === "tie") { a.ties++; b.ties++; }
      if (v.winner === "both_bad") { a.both_bad++; b.both_bad++; }
      if (v.winner === "skip") { a.skips++; b.skips++; }
    }
    const rows = [...stats.entries()].map(([name, s]) => {
      const rating = ratingOf(name) + (method === "glicko2" ? 500 : 0);
      const decided = s.battles - s.skips;
      const r = { rank: 0, model_name: name, rating, ...s, win_rate_percentage: decided ? ((s.wins + 0.5 * s.ties) / decided) * 100 : null };
      if (method !== "elo") Object.assign(r, { rating_lower: rating - 60, rating_upper: rating + 60 });
      if (method === "glicko2") r.rating_deviation = 30;
      return r;
    }).sort((x, y) => y.rating - x.rating);
    rows.forEach((r, i) => { r.rank = i + 1; if (method === "bt") r.rank_ub = 1; });
    return { method, params: {}, seed: 0, votes: votes.length, left_out: { identity_leak: 0, unequal_chat: 0, named: 0 }, generated_at: new Date().toISOString(), leaderboard: rows };
  }

  async function readBody(req) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const text = Buffer.concat(chunks).toString("utf8");
    return text ? JSON.parse(text) : {};
  }

  async function api(req, res, url) {
    if (!authorized(req)) {
      if (url.pathname.startsWith("/v1/")) return send(res, 401, { error: { message: "Invalid API key.", type: "invalid_request_error", code: "invalid_api_key" } });
      return detail(res, 401, "A valid API key is needed (Authorization: Bearer KEY).");
    }
    const body = req.method === "POST" ? await readBody(req) : null;
    const p = url.pathname;
    if (p === "/api/config") return send(res, 200, { language: o.language, auth: o.key ? "key" : "open", version: "dev-stand-in", max_images: 4, max_attachment_bytes: 5242880 });
    if (p === "/api/models") return send(res, 200, { models: pool.map((m) => ({ name: m.name, tier: null })), chat: o.chat });
    if (p === "/api/leaderboard") return send(res, 200, board(url.searchParams.get("method") || "bt"));
    if (p === "/api/prompt_statistics") return send(res, 200, { prompt_statistics: [] });
    if (p === "/api/battle_statistics") {
      const names = [...new Set(votes.flatMap((v) => [v.a, v.b]))];
      const win = {};
      const count = {};
      for (const a of names) {
        win[a] = {};
        count[a] = {};
        for (const b of names) {
          if (a === b) continue;
          const between = votes.filter((v) => (v.a === a && v.b === b) || (v.a === b && v.b === a));
          count[a][b] = between.length;
          const decided = between.filter((v) => v.winner === "model_a" || v.winner === "model_b");
          win[a][b] = decided.length ? decided.filter((v) => (v.winner === "model_a" ? v.a : v.b) === a).length / decided.length : null;
        }
      }
      return send(res, 200, { win_rate_matrix: win, match_count_matrix: count });
    }
    const user = owner(req, url, body);
    if (p === "/api/battles" && req.method === "GET") {
      const mine = [...battles.values()].filter((b) => b.user === user).reverse().slice(0, Number(url.searchParams.get("limit") || 20));
      return send(res, 200, {
        battles: mine.map((b) => ({
          battle_id: b.id, prompt: b.turns[0].prompt, status: b.status, mode: b.mode, turns: b.turns.length, created_at: b.created_at,
          ...(b.status === "completed" || b.mode === "named" ? { model_a: b.models.a.name, model_b: b.models.b.name } : {}),
          ...(b.winner ? { winner: b.winner } : {}),
        })),
      });
    }
    if (p === "/api/battles" && req.method === "POST") {
      if (o.perHour) {
        const times = (hourly.get(user) || []).filter((t) => t > Date.now() - 3600e3);
        if (times.length >= o.perHour) {
          const at = new Date(times[0] + 3600e3).toISOString();
          return send(res, 429, { detail: { message: `You have started ${o.perHour} battles within an hour, the most allowed: try again later.`, available_at: at } }, { "Retry-After": "3600" });
        }
        times.push(Date.now());
        hourly.set(user, times);
      }
      let models;
      if (body.mode === "named") {
        const a = pool.find((m) => m.name === body.model_a);
        const b = pool.find((m) => m.name === body.model_b);
        if (!a || !b || a === b) return detail(res, 400, "model_a and model_b must name two different models of the pool.");
        models = { a, b };
      } else {
        const shuffled = [...pool].sort(() => Math.random() - 0.5);
        models = { a: shuffled[0], b: shuffled[1] };
      }
      const prompt = body.random ? "Write a poem about spring" : String(body.prompt || "").trim();
      if (!prompt) return detail(res, 400, "The prompt is empty: give a prompt, or random: true.");
      const battle = {
        id: crypto.randomUUID(), user, mode: body.mode === "named" ? "named" : "anonymous", models, theme: body.random ? "poetry" : "general",
        turns: [{ prompt, images: body.images || [], a: "", b: "" }], status: "pending_generation", created_at: new Date().toISOString(),
      };
      battles.set(battle.id, battle);
      generate(battle);
      return stream(res, battle, true);
    }
    const m = p.match(/^\/api\/battles\/([^/]+)(?:\/(turns|stream|vote))?$/);
    if (m) {
      const battle = battles.get(m[1]);
      if (!battle) return detail(res, 404, "The battle ID does not exist.");
      if (battle.user !== user) return detail(res, 403, "This battle is someone else's.");
      const revealed = battle.status === "completed" || battle.mode === "named";
      if (!m[2] && req.method === "GET") {
        return send(res, 200, {
          battle_id: battle.id, status: battle.status, mode: battle.mode,
          turns: battle.turns.map((t) => ({ prompt: t.prompt, response_a: t.a, response_b: t.b })),
          ...(revealed ? { model_a: battle.models.a.name, model_b: battle.models.b.name } : {}),
          ...(battle.winner ? { winner: battle.winner } : {}),
        });
      }
      if (m[2] === "stream") return stream(res, battle, true);
      if (m[2] === "turns") {
        if (battle.status !== "pending_vote") return detail(res, 409, "This battle is not waiting for a turn.");
        battle.turns.push({ prompt: String(body.text || ""), images: body.images || [], a: "", b: "" });
        generate(battle);
        return stream(res, battle, true);
      }
      if (m[2] === "vote") {
        if (battle.status !== "pending_vote") return detail(res, 409, "This battle is not waiting for a vote.");
        const { a, b } = battle.models;
        const before = { a: ratingOf(a.name), b: ratingOf(b.name) };
        const score = { model_a: 1, model_b: 0, tie: 0.5, both_bad: 0.5 }[body.winner];
        if (score === undefined && body.winner !== "skip") return detail(res, 400, "winner must be model_a, model_b, tie, both_bad or skip.");
        if (score !== undefined) {
          const expected = 1 / (1 + 10 ** ((before.b - before.a) / 400));
          elo.set(a.name, before.a + 32 * (score - expected));
          elo.set(b.name, before.b - 32 * (score - expected));
        }
        battle.status = "completed";
        battle.winner = body.winner;
        votes.push({ a: a.name, b: b.name, winner: body.winner });
        return send(res, 200, {
          battle_id: battle.id, winner: body.winner, model_a: a.name, model_b: b.name,
          elo: { model_a: { rating_before: before.a, rating_after: ratingOf(a.name) }, model_b: { rating_before: before.b, rating_after: ratingOf(b.name) } },
        });
      }
    }
    if (p === "/v1/chat/completions") {
      const model = pool.find((x) => x.name === body.model);
      if (!model) return send(res, 404, { error: { message: `The model \`${body.model}\` does not exist`, type: "invalid_request_error" } });
      requests.push({ model: model.id, body: { ...body, model: model.id } });
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      const b = behaviour(model.id);
      for (const piece of b.pieces) {
        await sleep(b.delay);
        res.write(`data: ${JSON.stringify({ object: "chat.completion.chunk", model: model.name, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] })}\n\n`);
      }
      res.write(`data: ${JSON.stringify({ object: "chat.completion.chunk", model: model.name, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\n`);
      res.end("data: [DONE]\n\n");
      return;
    }
    return detail(res, 404, "Not Found");
  }

  const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".json": "application/json", ".txt": "text/plain; charset=utf-8" };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://localhost");
    try {
      if (url.pathname === "/_dev/requests") return send(res, 200, requests);
      if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/v1/")) return await api(req, res, url);
      if (url.pathname === "/openapi.json") return send(res, 200, { openapi: "3.1.0", info: { title: "stand-in", version: "0" }, paths: {} });
      // As arena serves them: the page at /, its other files under /assets/.
      const name = url.pathname === "/" ? "index.html" : url.pathname.startsWith("/assets/") ? decodeURIComponent(url.pathname.slice(8)) : null;
      const file = name && path.normalize(path.join(root, name));
      if (!file || !file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) return detail(res, 404, "Not Found");
      res.writeHead(200, {
        "Content-Type": types[path.extname(file)] || "application/octet-stream",
        "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        "Cache-Control": "no-cache",
      });
      fs.createReadStream(file).pipe(res);
    } catch (e) {
      if (!res.headersSent) detail(res, 500, String(e && e.message));
      else res.end();
    }
  });
  return new Promise((resolve) => server.listen(o.port, "127.0.0.1", () => resolve(server)));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const o = options(process.argv.slice(2));
  start(o).then((server) => {
    process.stderr.write(`stand-in (not arena) listening on http://127.0.0.1:${server.address().port}\n`);
  });
}

#!/usr/bin/env node
// The web page's figures, against a real `arena serve` and a fake upstream of its own, all on
// 127.0.0.1 (nothing else is contacted):
//
// 1. page weight: every file of the page (index.html, then what it and its modules import),
//    uncompressed and as served with `Accept-Encoding: gzip`;
// 2. first contentful paint of `/` in headless Chromium (Debian's), fresh profile each time;
// 3. the delay from a token leaving the fake upstream to its text in the page's DOM, during
//    battles started from the page (goal: < 50 ms at the 95th percentile);
// 4. N simulated page users (default 100) streaming battles at once through the page's API
//    (POST /api/battles, read the events, vote): the delay of each delta event from its token
//    leaving the upstream, and the server's resident memory (sampled every 100 ms).
//
//   node scripts/bench/page.mjs [--arena target/release/arena] [--users 100] [--battles 3]
//        [--tokens 40] [--gap-ms 20] [--fcp-runs 10] [--dom-battles 3]
//
// Needs `scripts/browser-setup.sh` (playwright-core) and a built arena with the page (a
// release build for figures worth quoting). Bounded: every battle ends, and the whole run
// stops itself after --deadline-s (default 600 s).
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(path.join(repo, "tests/browser/package.json"));
const { chromium } = require("playwright-core");

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const release = path.join(repo, "target/release/arena");
const ARENA = opt("arena", fs.existsSync(release) ? release : path.join(repo, "target/debug/arena"));
const USERS = Number(opt("users", 100));
const BATTLES = Number(opt("battles", 3));
const TOKENS = Number(opt("tokens", 40));
const GAP = Number(opt("gap-ms", 20));
const FCP_RUNS = Number(opt("fcp-runs", 10));
const DOM_BATTLES = Number(opt("dom-battles", 3));
const DEADLINE = Number(opt("deadline-s", 600)) * 1000;
setTimeout(() => {
  console.error(`page.mjs: stopped after ${DEADLINE / 1000} s`);
  process.exit(2);
}, DEADLINE).unref();

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (values, p) => {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const ms = (v) => `${v.toFixed(1)} ms`;

// ----- the fake upstream: tokens `w<n> `, each one's leaving time kept by n
const sent = new Map();
let counter = 0;
const upstream = http.createServer((req, res) => {
  if (req.method !== "POST") {
    res.writeHead(404).end();
    return;
  }
  req.resume();
  req.on("end", async () => {
    res.writeHead(200, { "Content-Type": "text/event-stream" });
    const chunk = (delta, finish = null) => `data: ${JSON.stringify({ id: "x", object: "chat.completion.chunk", created: 0, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    res.write(chunk({ role: "assistant", content: "" }));
    for (let i = 0; i < TOKENS; i++) {
      await sleep(GAP);
      if (res.destroyed) return;
      counter += 1;
      sent.set(counter, now());
      res.write(chunk({ content: `w${counter} ` }));
    }
    res.write(chunk({}, "stop"));
    res.end("data: [DONE]\n\n");
  });
});
await new Promise((r) => upstream.listen(0, "127.0.0.1", r));
const upstreamUrl = `http://127.0.0.1:${upstream.address().port}/v1`;

// ----- arena serve
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arena-page-bench-"));
fs.writeFileSync(path.join(dir, "config.jsonc"), JSON.stringify({
  user_id_salt: "0123456789abcdef0123456789abcdef-page-bench",
  battles_per_hour: 0,
  max_concurrent_battles: 0,
  battle_interval_seconds: 0,
  upstream: { base_url: upstreamUrl, api_key_env: null },
}));
fs.writeFileSync(path.join(dir, "models.json"), JSON.stringify({ models: [
  { name: "alpha", model: "alpha", base_url: upstreamUrl, api_key_env: null },
  { name: "beta", model: "beta", base_url: upstreamUrl, api_key_env: null },
] }));
const server = spawn(ARENA, ["--db", path.join(dir, "arena.sqlite3"), "--config", path.join(dir, "config.jsonc"), "--models", path.join(dir, "models.json"), "serve", "--port", "0"], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, HOME: dir, RUST_LOG: "warn" } });
const base = await new Promise((resolve, reject) => {
  let text = "";
  server.stderr.on("data", (d) => {
    text += d;
    const m = text.match(/listening on (http:\/\/\S+)/);
    if (m) resolve(m[1]);
  });
  server.on("exit", (code) => reject(new Error(`arena serve exited (${code}): ${text}`)));
});
const rss = () => {
  try {
    const m = fs.readFileSync(`/proc/${server.pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
};
const results = { arena: ARENA, tokens_per_answer: TOKENS, token_gap_ms: GAP };
const browser = await chromium.launch({ executablePath: process.env.ARENA_CHROMIUM || "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });

try {
  // ----- 1. weight
  const raw = (url) => new Promise((resolve, reject) => {
    http.get(url, { headers: { "Accept-Encoding": "gzip" } }, (res) => {
      const parts = [];
      res.on("data", (d) => parts.push(d));
      res.on("end", () => {
        const wire = Buffer.concat(parts);
        const body = res.headers["content-encoding"] === "gzip" ? zlib.gunzipSync(wire) : wire;
        resolve({ status: res.statusCode, wire: wire.length, body: body.toString("utf8") });
      });
    }).on("error", reject);
  });
  const files = new Map();
  const queue = ["/"];
  while (queue.length) {
    const url = queue.shift();
    if (files.has(url)) continue;
    const got = await raw(base + url);
    if (got.status !== 200) throw new Error(`${url}: ${got.status} (does this arena serve the page?)`);
    files.set(url, got);
    const refs = [...got.body.matchAll(/(?:href|src)="([^"]+)"|from\s+"([^"]+)"|import\(\s*[`"]([^`"$]+)[`"]\s*\)/g)]
      .map((m) => m[1] || m[2] || m[3]);
    for (const ref of refs) {
      if (ref.startsWith("http") || ref.startsWith("#") || ref.startsWith("/openapi") || ref.startsWith("/v1")) continue;
      const abs = new URL(ref, base + (url === "/" ? "/" : url)).pathname;
      if (!files.has(abs)) queue.push(abs);
    }
  }
  // The language tables are imported by a template string: count both.
  for (const table of ["/assets/i18n/zh-CN.js"]) if (!files.has(table)) files.set(table, await raw(base + table));
  const total = [...files.values()].reduce((a, f) => a + Buffer.byteLength(f.body), 0);
  const wire = [...files.values()].reduce((a, f) => a + f.wire, 0);
  results.weight = { files: files.size, uncompressed_bytes: total, gzip_bytes_served: wire };

  // ----- 2. first contentful paint
  const fcps = [];
  for (let i = 0; i < FCP_RUNS; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(base + "/");
    const fcp = await page.evaluate(() => new Promise((resolve) => {
      const found = () => performance.getEntriesByName("first-contentful-paint")[0];
      if (found()) return resolve(found().startTime);
      new PerformanceObserver(() => found() && resolve(found().startTime)).observe({ type: "paint", buffered: true });
    }));
    fcps.push(fcp);
    await context.close();
  }
  results.fcp_ms = { runs: FCP_RUNS, p50: pct(fcps, 50), p95: pct(fcps, 95), max: Math.max(...fcps) };

  // ----- 3. token to DOM
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(() => {
    window.__seen = new Map();
    new MutationObserver(() => {
      const t = performance.timeOrigin + performance.now();
      for (const el of document.querySelectorAll(".answer")) {
        for (const m of el.textContent.matchAll(/w(\d+)/g)) if (!window.__seen.has(m[1])) window.__seen.set(m[1], t);
      }
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  await page.goto(base + "/");
  const delays = [];
  for (let i = 0; i < DOM_BATTLES; i++) {
    await page.getByLabel("Your prompt").fill(`Benchmark battle ${i}`);
    await page.getByRole("button", { name: "Start battle" }).click();
    await page.locator('.vote button[data-winner="skip"]:not([disabled])').waitFor({ timeout: 60000 });
    await page.locator("body").press("5");
    await page.locator(".reveal:not([hidden])").waitFor();
    await page.getByRole("button", { name: "New battle" }).click();
  }
  // Collected once at the end: a token is kept at the first time it was seen, so the
  // answers still on screen while the next battle starts are not counted again.
  const seen = await page.evaluate(() => [...window.__seen.entries()]);
  for (const [n, t] of seen) if (sent.has(Number(n))) delays.push(t - sent.get(Number(n)));
  await context.close();
  results.token_to_dom_ms = { tokens: delays.length, p50: pct(delays, 50), p95: pct(delays, 95), max: Math.max(...delays) };

  // ----- 4. N page users at once
  const idle = rss();
  let peak = idle;
  const sampler = setInterval(() => { peak = Math.max(peak, rss()); }, 100);
  const eventDelays = [];
  let failed = 0;
  let votes = 0;
  const user = async (u) => {
    for (let b = 0; b < BATTLES; b++) {
      const res = await fetch(`${base}/api/battles`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ prompt: `load ${u}/${b}`, user_id: `web:bench${u}` }) });
      if (!res.ok) {
        failed += 1;
        await res.text();
        continue;
      }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      let id = null;
      let votable = false;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const at = now();
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = (block.match(/^event: (.*)$/m) || [])[1];
          const data = (block.match(/^data: (.*)$/m) || [])[1];
          if (!data) continue;
          const parsed = JSON.parse(data);
          if (event === "battle") id = parsed.battle_id;
          if (event === "delta") for (const m of parsed.text.matchAll(/w(\d+)/g)) if (sent.has(Number(m[1]))) eventDelays.push(at - sent.get(Number(m[1])));
          if (event === "done") votable = parsed.votable;
        }
      }
      if (!votable || !id) {
        failed += 1;
        continue;
      }
      const vote = await fetch(`${base}/api/battles/${id}/vote`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ winner: "tie", user_id: `web:bench${u}` }) });
      await vote.text();
      if (vote.ok) votes += 1;
      else failed += 1;
    }
  };
  const started = now();
  await Promise.all(Array.from({ length: USERS }, (_, u) => user(u)));
  const elapsed = now() - started;
  clearInterval(sampler);
  results.load = {
    users: USERS, battles_each: BATTLES, seconds: elapsed / 1000, votes, failed,
    event_delay_ms: { events: eventDelays.length, p50: pct(eventDelays, 50), p99: pct(eventDelays, 99), max: Math.max(...eventDelays) },
    rss_mib: { idle, peak, after: rss() },
  };
} finally {
  await browser.close();
  server.kill("SIGTERM");
  upstream.close();
  upstream.closeAllConnections();
}

const r = results;
console.log(`arena: ${r.arena}; upstream answers: ${r.tokens_per_answer} tokens, ${r.token_gap_ms} ms apart`);
console.log(`page weight: ${r.weight.files} files, ${(r.weight.uncompressed_bytes / 1024).toFixed(1)} KiB uncompressed, ${(r.weight.gzip_bytes_served / 1024).toFixed(1)} KiB as served with gzip`);
console.log(`first contentful paint (${r.fcp_ms.runs} loads): p50 ${ms(r.fcp_ms.p50)}, p95 ${ms(r.fcp_ms.p95)}, max ${ms(r.fcp_ms.max)}`);
console.log(`token to DOM (${r.token_to_dom_ms.tokens} tokens): p50 ${ms(r.token_to_dom_ms.p50)}, p95 ${ms(r.token_to_dom_ms.p95)}, max ${ms(r.token_to_dom_ms.max)}`);
const l = r.load;
console.log(`${l.users} users × ${l.battles_each} battles in ${l.seconds.toFixed(1)} s: ${l.votes} votes, ${l.failed} failed; delta events ${l.event_delay_ms.events}: p50 ${ms(l.event_delay_ms.p50)}, p99 ${ms(l.event_delay_ms.p99)}, max ${ms(l.event_delay_ms.max)}; arena RSS ${l.rss_mib.idle.toFixed(1)} MiB idle, ${l.rss_mib.peak.toFixed(1)} MiB peak, ${l.rss_mib.after.toFixed(1)} MiB after`);
console.log(JSON.stringify(results));
fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);

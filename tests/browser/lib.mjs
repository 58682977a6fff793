// What the browser tests share: the targets they are given, Chromium from Debian's package,
// axe-core, a TCP relay that can cut connections, and small waits on the page.
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);

/**
 * The servers under test, as JSON in ARENA_BROWSER_TARGETS:
 * {main: {url, models: {name: upstreamId}, secrets: [..]}, trouble: {url, xss, other, slow, cut},
 *  keyed: {url, key}, record: url of the upstream's request log, screenshots?: dir, report?: file}
 */
export function targets() {
  const raw = process.env.ARENA_BROWSER_TARGETS;
  if (!raw) throw new Error("ARENA_BROWSER_TARGETS is not set: run these through tests/browser.rs (cargo test) or tests/browser/standin.mjs");
  return JSON.parse(raw);
}

export const CHROMIUM = process.env.ARENA_CHROMIUM || "/usr/bin/chromium";

export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    // Playwright adds --headless itself; the rest keep Chromium off the network and quiet.
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps"],
  });
}

const AXE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** axe-core's violations of impact serious or critical on the page as it is now. */
export async function seriousViolations(page) {
  await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(" ")}: ${n.failureSummary}`) }));
  });
  return result.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** A relay on 127.0.0.1 to `url`'s port, whose connections `cut()` closes at once. */
export async function relay(url) {
  const port = Number(new URL(url).port);
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    cut() {
      for (const s of sockets) s.destroy();
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Text lengths of both answers of the latest turn, each time either changes. */
export async function watchGrowth(page) {
  await page.evaluate(() => {
    window.__growth = { a: [], b: [] };
    const seen = { a: -1, b: -1 };
    const look = () => {
      for (const side of ["a", "b"]) {
        const answers = document.querySelectorAll(`.pane-${side} .answer`);
        const last = answers[answers.length - 1];
        const n = last ? last.textContent.length : 0;
        if (n !== seen[side]) {
          seen[side] = n;
          window.__growth[side].push(n);
        }
      }
    };
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

export function writeReport(t, data) {
  if (!t.report) return;
  let old = {};
  try {
    old = JSON.parse(fs.readFileSync(t.report, "utf8"));
  } catch { /* first entry */ }
  fs.writeFileSync(t.report, JSON.stringify({ ...old, ...data }, null, 2));
}

export function screenshotPath(t, name) {
  if (!t.screenshots) return null;
  fs.mkdirSync(t.screenshots, { recursive: true });
  return path.join(t.screenshots, name);
}

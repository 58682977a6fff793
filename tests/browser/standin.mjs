#!/usr/bin/env node
// Runs the browser suite against the STAND-IN (scripts/web-dev-server.mjs), not arena: for
// working on the page before or without the server. What it passes says nothing about
// `arena serve`; tests/browser.rs runs the same suite against the real server.
//
//   node tests/browser/standin.mjs [--screenshots DIR]
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { start } from "../../scripts/web-dev-server.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const shots = args.indexOf("--screenshots") >= 0 ? path.resolve(args[args.indexOf("--screenshots") + 1]) : null;
const base = { port: 0, key: null, language: "en", perHour: 0, chat: true };
const url = (s) => `http://127.0.0.1:${s.address().port}`;
const main = await start({ ...base, pool: "saturn=prose-saturn,neptune=prose-neptune" });
const trouble = await start({ ...base, pool: "mercury=xss-mercury,venus=prose-venus,mars=slow-mars,jupiter=cut-jupiter", perHour: 1 });
const keyed = await start({ ...base, pool: "saturn=prose-saturn,neptune=prose-neptune", key: "stand-in-key", language: "zh-CN", chat: false });
const targets = {
  main: { url: url(main), models: { saturn: "prose-saturn", neptune: "prose-neptune" }, secrets: ["saturn", "neptune", "prose-saturn", "prose-neptune"], randomPrompt: { theme: "poetry", text: "Write a poem about spring" } },
  trouble: { url: url(trouble), xss: "mercury", other: "venus", slow: "mars", cut: "jupiter" },
  keyed: { url: url(keyed), key: "stand-in-key" },
  record: `${url(main)}/_dev/requests`,
  screenshots: shots,
};
// Not spawnSync: the stand-ins answer from this process's event loop meanwhile.
const run = spawn(process.execPath, ["--test", "--test-concurrency=1", path.join(here, "sse.test.mjs"), path.join(here, "strings.test.mjs"), path.join(here, "page.test.mjs")], {
  stdio: "inherit",
  env: { ...process.env, ARENA_BROWSER_TARGETS: JSON.stringify(targets) },
});
run.on("exit", (code) => {
  for (const s of [main, trouble, keyed]) s.closeAllConnections();
  process.exit(code ?? 1);
});

// The page's string tables (web/i18n/): both languages have the same keys, and every key the
// code names is in them. No browser needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import en from "../../web/i18n/en.js";
import zh from "../../web/i18n/zh-CN.js";

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../web");

test("English and Simplified Chinese have the same keys, none empty", () => {
  assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
  for (const [key, text] of [...Object.entries(en), ...Object.entries(zh)]) assert.ok(text.trim(), key);
});

test("every key the page's code names is in the tables, with the same {placeholders}", () => {
  const code = ["app.js", "markdown.js", ...fs.readdirSync(path.join(web, "views")).map((f) => `views/${f}`)]
    .map((f) => fs.readFileSync(path.join(web, f), "utf8")).join("\n");
  const named = [...code.matchAll(/\bt\("([\w.]+)"/g)].map((m) => m[1]);
  assert.ok(named.length > 50, `only ${named.length} keys found`);
  for (const key of named) assert.ok(key in en, `${key} is not in web/i18n/en.js`);
  const holes = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const key of Object.keys(en)) assert.deepEqual(holes(zh[key]), holes(en[key]), key);
});

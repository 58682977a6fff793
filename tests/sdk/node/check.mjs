// The official `openai` npm package against a running `arena serve`.
//
// Environment: ARENA_BASE_URL (ending in /v1), ARENA_API_KEY, ARENA_POOL_MODEL (a pool model
// that streams); the server allows one battle an hour per user. Exits non-zero, naming the
// failed check, on any mismatch.

import OpenAI from "openai";
import { VERSION } from "openai/version";

const { ARENA_BASE_URL: baseURL, ARENA_API_KEY: apiKey } = process.env;
const POOL = process.env.ARENA_POOL_MODEL;
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30_000 });

function check(what, ok, detail = "") {
  if (!ok) {
    console.error(`node sdk ${VERSION}: ${what} failed`, detail);
    process.exit(1);
  }
}

const whole = (model, text, extra = {}) =>
  client.chat.completions.create({ model, messages: [{ role: "user", content: text }], ...extra });

async function streamed(model, messages, extra = {}) {
  const stream = await client.chat.completions.create({
    model,
    messages,
    stream: true,
    stream_options: { include_usage: true },
    ...extra,
  });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
  return { chunks, text };
}

async function refused(what, status, Class, call) {
  try {
    await call();
  } catch (e) {
    check(`${what} class`, e instanceof Class, e);
    check(`${what} status`, e.status === status, e);
    return;
  }
  check(what, false);
}

const ids = [];
for await (const m of client.models.list()) ids.push(m.id);
check("models.list", ids.includes("arena") && ids.includes(POOL), ids);
check("models.retrieve", (await client.models.retrieve(POOL)).id === POOL);

const r = await whole(POOL, "Name three colours.");
check("whole answer", Boolean(r.choices[0].message.content), r);
check("whole model", r.model === POOL, r.model);
check("whole usage", r.usage && r.usage.total_tokens >= 0, r.usage);
{
  const { chunks, text } = await streamed(POOL, [{ role: "user", content: "Name three colours." }]);
  check("stream text", Boolean(text), chunks);
  check("stream model", chunks.every((c) => c.model === POOL), chunks);
  check("stream role", chunks[0].choices[0].delta.role === "assistant", chunks[0]);
  const last = chunks[chunks.length - 1];
  check("stream usage chunk", last.choices.length === 0 && last.usage, last);
  check("finish reason", chunks.some((c) => c.choices[0]?.finish_reason === "stop"), chunks);
}

const user = { user: "node-sdk" };
const start = [{ role: "user", content: "$sA42 Write a haiku about rivers" }];
const a = await streamed("arena", start, user);
check("battle side A", a.text && a.chunks.every((c) => c.model === "Assistant A"), a.chunks);
const b = await client.chat.completions.create({
  model: "arena",
  messages: [...start, { role: "assistant", content: a.text }, { role: "user", content: "$B42" }],
  ...user,
});
check("battle side B", b.model === "Assistant B" && b.choices[0].message.content, b);
const result = (await whole("arena", "$wB42", user)).choices[0].message.content;
check("battle result", result.includes("Elo"), result);
const again = (await whole("arena", "$wB42", user)).choices[0].message.content;
check("repeated result reads the same", again === result, again);
await refused("a different second result", 409, OpenAI.ConflictError, () =>
  whole("arena", "$wA42", { ...user, strict: true }),
);

await refused("401", 401, OpenAI.AuthenticationError, () =>
  new OpenAI({ baseURL, apiKey: "wrong", maxRetries: 0 }).models.list(),
);
await refused("404", 404, OpenAI.NotFoundError, () => whole("no-such-model", "hi"));
// A second battle within the hour: over the server's limit.
await refused("429", 429, OpenAI.RateLimitError, () =>
  whole("arena", "$sA43 Write a haiku about lakes", { ...user, strict: true }),
);

console.log(`node sdk ${VERSION}: ok`);

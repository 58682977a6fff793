// The page at / in headless Chromium, against the servers of ARENA_BROWSER_TARGETS (see
// lib.mjs): tests/browser.rs starts `arena serve` with a fake upstream and runs this file.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, targets, relay, seriousViolations, watchGrowth, writeReport, screenshotPath } from "./lib.mjs";

const T = targets();
let browser;

before(async () => {
  // Every test needs the page: without it, say so once instead of 30 s per test.
  for (const name of ["main", "trouble", "keyed"]) {
    const res = await fetch(`${T[name].url}/`);
    const text = await res.text();
    if (!res.ok || !text.includes("/assets/app.js")) {
      throw new Error(`${T[name].url}/ does not serve the page (status ${res.status}): ${text.slice(0, 200)}`);
    }
  }
  browser = await launch();
});
after(async () => {
  if (browser) await browser.close();
});

/** A fresh visitor (own storage, so own user id), with every dialog and page error kept. */
async function visit(url, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  page.dialogs = [];
  page.errors = [];
  page.on("dialog", (d) => {
    page.dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  page.on("pageerror", (e) => page.errors.push(e.message));
  await page.goto(url);
  return { context, page };
}

async function startBattle(page, prompt) {
  await page.getByLabel("Your prompt").fill(prompt);
  await page.getByRole("button", { name: "Start battle" }).click();
}

async function votable(page) {
  await page.locator('.vote button[data-winner="model_a"]:not([disabled])').waitFor({ timeout: 30000 });
}

function unique(word) {
  return `${word} ${Math.random().toString(36).slice(2, 10)}`;
}

test("a blind battle streams both answers, names no model before the vote, takes a keyboard vote, reveals, and the leaderboard shows the API's ratings", async () => {
  const { context, page } = await visit(T.main.url);
  const responses = [];
  let voting = false;
  page.on("response", (r) => {
    if (!voting) responses.push(r.finished().then(() => r.text()).catch((e) => `<<unreadable ${r.url()}: ${e.message}>>`).then((body) => ({ url: r.url(), body })));
  });
  await page.getByRole("heading", { name: "Battle" }).waitFor();
  await watchGrowth(page);
  await startBattle(page, unique("Explain recursion briefly"));
  // The vote buttons stay off while the answers stream.
  await page.locator(".pane-a .answer").waitFor();
  assert.equal(await page.locator(".vote button:not([disabled])").count(), 0, "a vote button is on before the answers ended");
  await votable(page);

  const growth = await page.evaluate(() => window.__growth);
  for (const side of ["a", "b"]) {
    const lengths = growth[side].filter((n) => n > 0);
    assert.ok(lengths.length >= 3, `side ${side} grew in fewer than three steps: ${lengths}`);
    assert.deepEqual(lengths, [...lengths].sort((x, y) => x - y), `side ${side} shrank: ${lengths}`);
  }

  // Before the vote: no model name (nor upstream id, nor its address) in the DOM or in any
  // response the page received.
  const dom = await page.evaluate(() => document.documentElement.outerHTML + document.body.innerText);
  const bodies = await Promise.all(responses);
  assert.ok(bodies.some((b) => b.url.includes("/api/battles")), "the battle's stream was not seen");
  for (const secret of T.main.secrets) {
    assert.ok(!dom.includes(secret), `the DOM names ${secret} before the vote`);
    for (const b of bodies) assert.ok(!b.body.includes(secret), `${b.url} names ${secret} before the vote`);
  }
  assert.ok(!bodies.some((b) => b.body.startsWith("<<unreadable")), bodies.filter((b) => b.body.startsWith("<<")).map((b) => b.body).join("\n"));

  // The vote, with the keyboard: 1 = A is better.
  voting = true;
  await page.locator("body").press("1");
  await page.locator(".reveal:not([hidden])").waitFor();
  const names = await page.locator(".reveal-name").allTextContents();
  assert.equal(names.length, 2);
  for (const name of names) assert.ok(name in T.main.models, `revealed ${name}, not a model of the pool`);
  assert.match(await page.locator(".reveal").innerText(), /1000\.0 → 1016\.0 \(\+16\.0\)/);
  assert.match(await page.locator(".reveal").innerText(), /You chose A\./);
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.textContent);
  assert.equal(focused, "New battle", "the focus did not move to New battle");

  // The leaderboard: both models, with the ratings of the JSON API.
  await page.getByRole("link", { name: "Leaderboard" }).click();
  await page.locator(".board-table tbody tr").first().waitFor();
  const api = await page.evaluate(() => fetch("/api/leaderboard?method=bt").then((r) => r.json()));
  const shown = {};
  for (const row of api.leaderboard) {
    const tr = page.locator(`.board-table tbody tr[data-model="${row.model_name}"]`);
    const rating = await tr.locator('td[data-key="rating"]').innerText();
    assert.equal(rating, row.rating.toFixed(1), `${row.model_name}: the page shows ${rating}, the API ${row.rating}`);
    shown[row.model_name] = { rating, battles: Number(await tr.locator('td[data-key="battles"]').innerText()) };
    assert.equal(shown[row.model_name].battles, row.battles);
  }
  assert.deepEqual(Object.keys(shown).sort(), Object.keys(T.main.models).sort());
  assert.ok(await page.locator(".board-table svg.whisker").count() >= 2, "no interval whiskers");
  assert.equal(await page.locator(".heat-figure svg").count(), 2, "the two heat maps are missing");
  assert.match(await page.locator(".summary").innerText(), new RegExp(`^${api.votes} votes`));
  // Sorting by a column reorders the rows and says so.
  await page.getByRole("button", { name: "Sort by Model" }).click();
  assert.equal(await page.locator('th[data-key="model_name"]').getAttribute("aria-sort"), "ascending");
  const order = await page.locator(".board-table tbody th").allTextContents();
  assert.deepEqual(order, [...order].sort((x, y) => x.localeCompare(y)));
  // Style control: the coefficients and each model's rank change against the plain board,
  // as the API gives them.
  await page.getByLabel("Control for style (length, formatting)").check();
  await page.getByRole("button", { name: "Refresh" }).click();
  await page.locator('th[data-key="rank_change"]').waitFor();
  const styled = await page.evaluate(() => fetch("/api/leaderboard?method=bt&style_control=true").then((r) => r.json()));
  for (const row of styled.leaderboard) {
    const tr = page.locator(`.board-table tbody tr[data-model="${row.model_name}"]`);
    assert.equal(await tr.locator('td[data-key="rating"]').innerText(), row.rating.toFixed(1));
    const change = await tr.locator('td[data-key="rank_change"]').innerText();
    assert.equal(change, row.rank_change > 0 ? `+${row.rank_change}` : String(row.rank_change));
  }
  assert.match(await page.locator(".style-note").innerText(), /^Style coefficients/);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("a follow-up turn reaches each upstream with that side's own transcript only", async () => {
  const { context, page } = await visit(T.main.url);
  const first = unique("Name three colours");
  const second = unique("Now explain the second one");
  await startBattle(page, first);
  await votable(page);
  assert.equal(await page.getByLabel("Follow-up for both assistants").count(), 1);
  await page.getByLabel("Follow-up for both assistants").fill(second);
  await page.getByRole("button", { name: "Send follow-up" }).click();
  await page.locator(".pane-a .turn").nth(1).waitFor();
  await votable(page);
  assert.equal(await page.locator(".pane-a .turn").count(), 2);
  assert.equal(await page.locator(".pane-b .turn").count(), 2);
  await page.locator("body").press("5");
  await page.locator(".reveal:not([hidden])").waitFor();

  const id = decodeURIComponent(new URL(page.url()).hash.split("/")[2]);
  const battle = await page.evaluate((bid) => fetch(`/api/battles/${bid}?user_id=${encodeURIComponent(localStorage.getItem("arena.user"))}`).then((r) => r.json()), id);
  assert.equal(battle.turns.length, 2);
  const record = await (await fetch(T.record)).json();
  const sides = { a: battle.model_a, b: battle.model_b };
  for (const [side, name] of Object.entries(sides)) {
    const upstreamId = T.main.models[name];
    const asked = record.filter((r) => r.model === upstreamId && JSON.stringify(r.body.messages).includes(second));
    assert.equal(asked.length, 1, `${name} was asked the follow-up ${asked.length} times`);
    const messages = asked[0].body.messages.filter((m) => m.role !== "system").map((m) => [m.role, m.content]);
    const own = battle.turns[0][`response_${side}`];
    const other = battle.turns[0][`response_${side === "a" ? "b" : "a"}`];
    assert.deepEqual(messages, [["user", first], ["assistant", own], ["user", second]], `side ${side} (${name})`);
    assert.ok(!JSON.stringify(asked[0].body).includes(other), `side ${side} saw the other side's answer`);
  }
  await context.close();
});

test("a random prompt of a theme comes from the server's pool and shows in both panes", async () => {
  const { context, page } = await visit(T.main.url);
  await page.getByLabel("Theme of the random prompt").fill(T.main.randomPrompt.theme);
  await page.getByRole("button", { name: "Random prompt" }).click();
  await page.locator(".pane-b .msg-text").filter({ hasText: T.main.randomPrompt.text }).waitFor();
  assert.equal(await page.locator(".pane-a .msg-text").innerText(), T.main.randomPrompt.text);
  await votable(page);
  await page.locator("body").press("5");
  await page.locator(".reveal:not([hidden])").waitFor();
  await context.close();
});

test("an image attached to the prompt reaches both upstreams as a part of the message", async () => {
  const { context, page } = await visit(T.main.url);
  const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");
  const files = page.getByLabel("Attach images");
  await files.setInputFiles([{ name: "dot.png", mimeType: "image/png", buffer: png }, { name: "other.png", mimeType: "image/png", buffer: png }]);
  await page.locator(".composer .attachments li").nth(1).waitFor();
  await page.getByRole("button", { name: "Remove other.png" }).click();
  assert.deepEqual(await page.locator(".composer .attachments li").allTextContents(), ["🖼 dot.png×"]);
  const prompt = unique("Describe this image");
  await startBattle(page, prompt);
  await votable(page);
  assert.equal(await page.locator(".composer .attachments li").count(), 0, "the images stayed for the next message");
  assert.equal(await page.locator(".pane-a .msg.user .attachments li").innerText(), "🖼 dot.png");
  await page.locator("body").press("5");
  await page.locator(".reveal:not([hidden])").waitFor();
  const record = await (await fetch(T.record)).json();
  const asked = record.filter((r) => JSON.stringify(r.body.messages).includes(prompt));
  assert.equal(asked.length, 2, "both sides are asked once");
  for (const r of asked) {
    const user = r.body.messages.find((m) => m.role === "user");
    assert.deepEqual(user.content, [
      { type: "text", text: prompt },
      { type: "image_url", image_url: { url: `data:image/png;base64,${png.toString("base64")}` } },
    ]);
  }
  await context.close();
});

test("my battles lists a pending battle, which opens again and takes its vote", async () => {
  const { context, page } = await visit(T.main.url);
  await startBattle(page, unique("Pending battle"));
  await votable(page);
  await page.getByRole("link", { name: "My battles" }).click();
  const row = page.locator(".view-mine tbody tr").first();
  await row.waitFor();
  assert.equal(await row.getAttribute("data-status"), "pending_vote");
  await row.getByRole("link", { name: "Resume" }).click();
  await votable(page);
  assert.ok((await page.locator(".pane-a .answer").innerText()).length > 10, "the resumed battle shows no answer");
  await page.getByRole("button", { name: "Tie" }).click();
  await page.locator(".reveal:not([hidden])").waitFor();
  await page.getByRole("link", { name: "My battles" }).click();
  await page.locator('.view-mine tbody tr[data-status="completed"]').first().waitFor();
  await context.close();
});

test("an answer with a script, an img onerror and javascript: links shows as text and runs nothing", async () => {
  const { context, page } = await visit(`${T.trouble.url}/#/side`);
  await page.getByLabel("Model A").selectOption(T.trouble.xss);
  await page.getByLabel("Model B").selectOption(T.trouble.other);
  await startBattle(page, "Show me some markup");
  await votable(page);
  const pane = page.locator(".pane-a .answer");
  const text = await pane.innerText();
  assert.ok(text.includes("<script>window.__xss = 1; alert(1)</script>"), text);
  assert.ok(text.includes("<img src=x onerror="), text);
  assert.equal(await page.locator(".transcript script, .transcript img, .transcript iframe, .transcript [onerror]").count(), 0);
  assert.equal(await page.locator('a[href^="javascript:" i]').count(), 0);
  assert.equal(await pane.locator(".link-refused").count(), 1);
  // The chat view, through the /v1 proxy, the same.
  await page.getByRole("link", { name: "Chat" }).click();
  await page.getByLabel("Model", { exact: true }).selectOption(T.trouble.xss);
  await page.getByLabel("Message").fill("Show me some markup");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await page.locator(".chat-log .answer").filter({ hasText: "raw link" }).waitFor();
  await page.waitForFunction(() => !document.querySelector(".view-chat button[type=submit]").disabled);
  assert.ok((await page.locator(".chat-log").innerText()).includes("<script>window.__xss = 1; alert(1)</script>"));
  assert.equal(await page.locator(".chat-log script, .chat-log img, [onerror]").count(), 0);
  assert.equal(await page.locator('a[href^="javascript:" i]').count(), 0);
  await page.waitForTimeout(300); // an img onerror would have fired by now
  assert.deepEqual(page.dialogs, [], "a dialog opened");
  assert.equal(await page.evaluate(() => window.__xss), undefined, "the answer's script ran");
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("a side that fails shows the server's message and the battle cannot be voted", async () => {
  const { context, page } = await visit(`${T.trouble.url}/#/side`);
  await page.getByLabel("Model A").selectOption(T.trouble.cut);
  await page.getByLabel("Model B").selectOption(T.trouble.other);
  await startBattle(page, "This one fails");
  const banner = page.locator(".banner[role=alert]");
  await banner.waitFor({ timeout: 30000 });
  assert.match(await banner.innerText(), /failed/i);
  await page.waitForFunction(() => document.querySelector(".board").dataset.phase === "failed", null, { timeout: 30000 });
  assert.equal(await page.locator(".vote button:not([disabled])").count(), 0);
  await page.locator("body").press("1");
  assert.equal(await page.locator(".reveal:not([hidden])").count(), 0);
  await context.close();
});

test("a battle over the limit (429) shows the server's message", async () => {
  const { context, page } = await visit(`${T.trouble.url}/#/side`);
  await page.getByLabel("Model A").selectOption(T.trouble.other);
  await page.getByLabel("Model B").selectOption(T.trouble.xss);
  await startBattle(page, "The first battle of the hour");
  await votable(page);
  await page.locator("body").press("3");
  await page.locator(".reveal:not([hidden])").waitFor();
  await page.getByRole("button", { name: "New battle" }).click();
  const prompt = "One battle too many";
  await startBattle(page, prompt);
  const banner = page.locator(".banner[role=alert]");
  await banner.waitFor();
  const text = await banner.innerText();
  assert.match(text, /429/);
  assert.match(text, /within an hour/i);
  assert.equal(await page.getByLabel("Your prompt").inputValue(), prompt, "the refused prompt was lost");
  await context.close();
});

test("a stream that drops shows a banner that offers to resume", async () => {
  const cut = await relay(T.trouble.url);
  try {
    const { context, page } = await visit(`${cut.url}/#/side`);
    await page.getByLabel("Model A").selectOption(T.trouble.slow);
    await page.getByLabel("Model B").selectOption(T.trouble.other);
    await startBattle(page, "A slow one");
    await page.waitForFunction(() => (document.querySelector(".pane-a .answer") || {}).textContent?.length > 10, null, { timeout: 30000 });
    cut.cut();
    const banner = page.locator(".banner[role=alert]");
    await banner.waitFor();
    assert.match(await banner.innerText(), /connection dropped/i);
    assert.equal(await page.locator(".vote button:not([disabled])").count(), 0);
    // The battle went on at the server: resumed, it streams to its end and takes the vote.
    await banner.getByRole("button", { name: "Resume" }).click();
    await votable(page);
    assert.ok((await page.locator(".pane-a .answer").innerText()).includes("tick tick"));
    await page.locator("body").press("3");
    await page.locator(".reveal:not([hidden])").waitFor();
    await context.close();
  } finally {
    await cut.close();
  }
});

test("with keys, a wrong key is refused, the right one is kept for the tab, and the pool's views are hidden when the server keeps its pool", async () => {
  const { context, page } = await visit(T.keyed.url);
  const input = page.getByLabel("API key");
  await input.waitFor();
  await input.fill("not-the-key");
  await page.getByRole("button", { name: "Use this key" }).click();
  await page.locator(".form-error").filter({ hasText: "refused" }).waitFor();
  assert.equal(await page.locator(".view-battle").count(), 0, "the page opened with a wrong key");
  await input.fill(T.keyed.key);
  await page.getByRole("button", { name: "Use this key" }).click();
  await page.locator(".view-battle").waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem("arena.key")), T.keyed.key);
  assert.equal(await page.evaluate(() => localStorage.getItem("arena.key")), null, "the key went to lasting storage");
  // The server's language (zh-CN) once the key opens its settings; chat and side by side off.
  await page.reload();
  await page.locator(".view-battle").waitFor();
  assert.equal(await page.locator("html").getAttribute("lang"), "zh-CN");
  assert.equal(await page.locator('#nav a[data-view="battle"]').innerText(), "对战");
  // A battle with the key: its requests carry it.
  const auth = [];
  page.on("request", (r) => { if (r.url().includes("/api/battles")) auth.push(r.headers().authorization); });
  await page.locator("textarea").fill("With a key");
  await page.locator("button.primary").click();
  await votable(page);
  assert.deepEqual(auth, [`Bearer ${T.keyed.key}`]);
  await page.goto(`${T.keyed.url}/#/chat`);
  await page.locator(".view-chat .note").waitFor();
  assert.equal(await page.locator('#nav a[data-view="chat"]').isVisible(), false, "chat is offered by a server that keeps its pool");
  assert.equal(await page.locator('#nav a[data-view="side"]').isVisible(), false);
  await context.close();
});

test("keyboard: the skip link comes first, focus is visible, and the vote buttons are reached with Tab", async () => {
  const { context, page } = await visit(T.main.url);
  await page.getByRole("heading", { name: "Battle" }).waitFor();
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.className), "skip");
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, "none");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement.id), "main");
  await context.close();
});

test("axe-core finds no serious or critical violation on any view, light or dark", async () => {
  for (const colorScheme of ["light", "dark"]) {
    const { context, page } = await visit(T.main.url, { colorScheme, bypassCSP: true });
    const check = async (name) => {
      const found = await seriousViolations(page);
      assert.deepEqual(found, [], `${name} (${colorScheme}): ${JSON.stringify(found, null, 2)}`);
    };
    await page.getByRole("heading", { name: "Battle" }).waitFor();
    await check("battle, empty");
    await startBattle(page, "A battle to check");
    await votable(page);
    await check("battle, answered");
    await page.locator("body").press("4");
    await page.locator(".reveal:not([hidden])").waitFor();
    await check("battle, revealed");
    for (const [view, ready] of [["side", ".view-side .board"], ["chat", ".view-chat textarea"], ["leaderboard", ".board-table"], ["mine", ".view-mine table"]]) {
      await page.goto(`${T.main.url}/#/${view}`);
      await page.locator(ready).first().waitFor();
      await check(view);
    }
    await context.close();
  }
});

test("screenshots of the battle (streaming, revealed) and the leaderboard, wide and narrow", async () => {
  if (!T.screenshots) return;
  for (const [width, height] of [[1280, 800], [390, 844]]) {
    const { context, page } = await visit(T.main.url, { viewport: { width, height }, colorScheme: "light" });
    await startBattle(page, "Write a short note on sorting, with an example");
    await page.waitForFunction(() => [...document.querySelectorAll(".answer")].every((a) => a.textContent.length > 60), null, { timeout: 30000 });
    await page.locator(".panes").scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshotPath(T, `battle-streaming-${width}.png`) });
    await votable(page);
    await page.locator("body").press("1");
    await page.locator(".reveal:not([hidden])").waitFor();
    await page.locator(".reveal").scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshotPath(T, `battle-revealed-${width}.png`) });
    await page.getByRole("link", { name: "Leaderboard" }).click();
    await page.locator(".heat-figure svg").first().waitFor();
    await page.screenshot({ path: screenshotPath(T, `leaderboard-${width}.png`), fullPage: width > 500 });
    await context.close();
  }
});

test("the leaderboard at the end: what the page shows, for the launcher to compare with the command line", async () => {
  const { context, page } = await visit(`${T.main.url}/#/leaderboard`);
  await page.locator(".board-table tbody tr").first().waitFor();
  const rows = {};
  for (const tr of await page.locator(".board-table tbody tr").all()) {
    const name = await tr.getAttribute("data-model");
    rows[name] = {
      rating: await tr.locator('td[data-key="rating"]').innerText(),
      battles: Number(await tr.locator('td[data-key="battles"]').innerText()),
    };
  }
  assert.deepEqual(Object.keys(rows).sort(), Object.keys(T.main.models).sort());
  writeReport(T, { board: { method: "bt", rows } });
  await context.close();
});

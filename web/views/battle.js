// The battle view: a prompt (or a random one), two answers streamed side by side, follow-up
// turns, the vote (buttons or keys 1 to 5, only once both answers are complete), and the
// reveal. The side-by-side view uses the same board in its named mode.
import { h, clear, uid } from "../dom.js";
import { render } from "../markdown.js";

const WINNERS = [
  ["model_a", "vote.a"],
  ["model_b", "vote.b"],
  ["tie", "vote.tie"],
  ["both_bad", "vote.bothBad"],
  ["skip", "vote.skip"],
];
const SIDES = ["a", "b"];

/**
 * A battle board. `named`: the side-by-side mode, whose pair comes from `pick()` (or null when
 * no valid pair is chosen) and whose names are shown from the start.
 */
export function board(ctx, { named = false, pick = null } = {}) {
  const { t, api, banner } = ctx;
  // Where "new battle" leaves the address: a battle's own address is #/battle/ID in both modes.
  const home = named ? "#/side" : "#/battle";
  const s = {
    id: null,
    turns: [],
    phase: "idle", // idle | streaming | votable | failed | dropped | voted | closed
    names: { a: null, b: null },
    controller: null,
    dirty: new Set(),
    flushQueued: false,
  };

  // ----- the composer
  const promptId = uid("prompt");
  const themeId = uid("theme");
  const hintId = uid("hint");
  const label = h("label", { for: promptId }, t("composer.prompt"));
  const textarea = h("textarea", { id: promptId, rows: "3", placeholder: t("composer.placeholder"), "aria-describedby": hintId });
  const submit = h("button", { type: "submit", class: "primary" }, t("composer.start"));
  const random = h("button", { type: "button" }, t("composer.random"));
  const theme = h("input", { id: themeId, type: "text", placeholder: t("composer.anyTheme"), autocomplete: "off", spellcheck: "false" });
  const randomRow = h("div", { class: "random" }, random, h("label", { for: themeId }, t("composer.theme")), theme);
  // Images go with a message where the server takes them (`max_images` of /api/config).
  const maxImages = Number(ctx.config.max_images) || 0;
  const maxBytes = Number(ctx.config.max_attachment_bytes) || Infinity;
  const filesId = uid("images");
  const files = h("input", { id: filesId, type: "file", accept: "image/png,image/jpeg,image/gif,image/webp", multiple: true });
  const chips = h("ul", { class: "attachments" });
  let attached = [];
  const imagesRow = maxImages > 0 ? h("div", { class: "images" }, h("label", { for: filesId }, t("composer.images")), files, chips) : null;
  const composer = h("form", { class: "composer" }, label, textarea, imagesRow,
    h("div", { class: "composer-row" }, submit, named ? null : randomRow, h("span", { id: hintId, class: "hint" }, t("composer.hint"))));
  function drawChips() {
    clear(chips);
    for (const image of attached) {
      const remove = h("button", { type: "button", class: "chip-remove", "aria-label": t("images.remove", { name: image.name }) }, "×");
      remove.addEventListener("click", () => {
        attached = attached.filter((a) => a !== image);
        drawChips();
        files.focus();
      });
      chips.append(h("li", {}, `🖼 ${image.name}`, remove));
    }
  }
  files.addEventListener("change", async () => {
    for (const file of [...files.files]) {
      if (attached.length >= maxImages) {
        banner.show(t("images.tooMany", { max: maxImages }));
        break;
      }
      if (file.size > maxBytes) {
        banner.show(t("images.tooLarge", { name: file.name, max: maxBytes }));
        continue;
      }
      const url = await new Promise((resolve) => {
        const reader = new FileReader();
        reader.onload = () => resolve(String(reader.result));
        reader.onerror = () => resolve(null);
        reader.readAsDataURL(file);
      });
      if (url) attached.push({ name: file.name, url });
    }
    files.value = "";
    drawChips();
  });
  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    send(textarea.value.trim(), false);
  });
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      composer.requestSubmit();
    }
  });
  random.addEventListener("click", () => send("", true));

  // ----- the two panes
  const panes = {};
  for (const side of SIDES) {
    const titleId = uid("pane");
    const name = h("span", { class: "model-name" });
    const badge = h("span", { class: "badge" }, t("pane.empty"));
    const change = h("span", { class: "rating-change" });
    const log = h("div", { class: "transcript", tabindex: "0", role: "region", "aria-label": t("pane.answerOf", { side: t(`pane.${side}`) }) });
    const section = h("section", { class: `pane pane-${side}`, "aria-labelledby": titleId, dataset: { side } },
      h("div", { class: "pane-head" }, h("h2", { id: titleId }, t(`pane.${side}`), " ", name), badge, change),
      log);
    panes[side] = { section, name, badge, change, log };
  }

  // ----- the vote
  const voteLabelId = uid("vote");
  const voteButtons = WINNERS.map(([winner, key], i) => {
    const button = h("button", { type: "button", disabled: true, dataset: { winner }, "aria-keyshortcuts": String(i + 1) },
      h("kbd", { "aria-hidden": "true" }, String(i + 1)), " ", t(key));
    button.addEventListener("click", () => vote(winner));
    return button;
  });
  const status = h("p", { class: "status", role: "status" }, t("vote.hint"));
  const voteBar = h("div", { class: "vote", role: "group", "aria-labelledby": voteLabelId },
    h("span", { id: voteLabelId, class: "vote-label" }, t("vote.label")), voteButtons);
  const reveal = h("div", { class: "reveal", hidden: true });
  const newBattle = h("button", { type: "button", class: "new-battle" }, t("battle.new"));
  newBattle.addEventListener("click", () => {
    banner.hide();
    reset(true);
  });

  const element = h("div", { class: "board" }, composer,
    h("div", { class: "panes" }, panes.a.section, panes.b.section),
    voteBar, status, reveal, h("div", { class: "after" }, newBattle));

  // ----- keys 1 to 5
  const onKey = (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    const n = Number(event.key);
    if (s.phase === "votable" && Number.isInteger(n) && n >= 1 && n <= 5) {
      event.preventDefault();
      vote(WINNERS[n - 1][0]);
    }
  };
  document.addEventListener("keydown", onKey);

  function setPhase(phase) {
    s.phase = phase;
    const votable = phase === "votable";
    for (const b of voteButtons) b.disabled = !votable;
    const busy = phase === "streaming";
    const open = s.id === null || phase === "votable";
    textarea.disabled = busy || !open;
    submit.disabled = busy || !open;
    random.disabled = busy || s.id !== null;
    files.disabled = busy || !open;
    theme.disabled = busy || s.id !== null;
    randomRow.hidden = s.id !== null;
    label.textContent = t(s.id === null ? "composer.prompt" : "composer.followup");
    submit.textContent = t(s.id === null ? "composer.start" : "composer.send");
    element.dataset.phase = phase;
    for (const side of SIDES) panes[side].log.setAttribute("aria-busy", busy ? "true" : "false");
    if (votable) status.textContent = t("vote.ready");
    else if (phase === "idle") status.textContent = t("vote.hint");
    else if (phase === "failed") status.textContent = t("banner.notVotable");
    else if (phase === "dropped") status.textContent = t("banner.dropped");
    else if (phase === "streaming") status.textContent = t("vote.hint");
  }

  function setBadge(side, key) {
    panes[side].badge.textContent = t(key);
    panes[side].badge.dataset.state = key.split(".")[1];
  }

  function showNames() {
    for (const side of SIDES) panes[side].name.textContent = s.names[side] ? `· ${s.names[side]}` : "";
  }

  function reset(focus) {
    if (s.controller) s.controller.abort();
    s.controller = null;
    s.id = null;
    s.turns = [];
    s.names = { a: null, b: null };
    showNames();
    for (const side of SIDES) {
      clear(panes[side].log);
      panes[side].change.textContent = "";
      setBadge(side, "pane.empty");
    }
    reveal.hidden = true;
    clear(reveal);
    textarea.value = "";
    attached = [];
    drawChips();
    if (location.hash !== home) history.replaceState(null, "", home);
    setPhase("idle");
    if (focus) textarea.focus();
  }

  /** A new turn in both panes: the user's words, then an answer that fills as it streams. */
  function addTurn(prompt, images = []) {
    const turn = { prompt, images, a: { text: "", node: null }, b: { text: "", node: null }, promptNodes: [] };
    for (const side of SIDES) {
      const words = h("div", { class: "msg-text" }, prompt);
      const answer = h("div", { class: "msg answer md" });
      const pictures = images.length ? h("ul", { class: "attachments" }, images.map((i) => h("li", {}, `🖼 ${i.name}`))) : null;
      panes[side].log.append(h("div", { class: "turn" },
        h("div", { class: "msg user" }, h("span", { class: "who" }, t("pane.you")), words, pictures), answer));
      turn[side].node = answer;
      turn.promptNodes.push(words);
    }
    s.turns.push(turn);
    return turn;
  }

  function paint(side) {
    const turn = s.turns[s.turns.length - 1];
    if (!turn) return;
    const log = panes[side].log;
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    clear(turn[side].node).append(render(turn[side].text));
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  function queuePaint(side) {
    s.dirty.add(side);
    if (s.flushQueued) return;
    s.flushQueued = true;
    // After the events of one network read: one repaint per side per read.
    queueMicrotask(() => {
      s.flushQueued = false;
      for (const d of s.dirty) paint(d);
      s.dirty.clear();
    });
  }

  function onEvent({ event, data }) {
    const turn = s.turns[s.turns.length - 1];
    if (event === "battle") {
      if (!s.id && data.battle_id) {
        s.id = data.battle_id;
        history.replaceState(null, "", `#/battle/${encodeURIComponent(s.id)}`);
      }
      if (data.model_a) s.names.a = data.model_a;
      if (data.model_b) s.names.b = data.model_b;
      showNames();
      if (turn && typeof data.prompt === "string" && data.prompt && !turn.prompt) {
        turn.prompt = data.prompt;
        for (const node of turn.promptNodes) node.textContent = data.prompt;
      }
    } else if (event === "delta" && turn && SIDES.includes(data.side)) {
      if (!turn[data.side].text) setBadge(data.side, "pane.streaming");
      turn[data.side].text += typeof data.text === "string" ? data.text : "";
      queuePaint(data.side);
    } else if (event === "side_end" && SIDES.includes(data.side)) {
      setBadge(data.side, data.finish_reason === "length" ? "pane.cut" : "pane.finished");
    } else if (event === "error") {
      s.failed = true;
      banner.show(t("banner.streamError", { message: (data && data.message) || String(data) }));
      for (const side of SIDES) {
        if (panes[side].badge.dataset.state !== "finished" && panes[side].badge.dataset.state !== "cut") setBadge(side, "pane.failed");
      }
    } else if (event === "done") {
      s.votable = Boolean(data && data.votable);
    }
  }

  /** Reads one stream of the battle to its end, and settles what may happen next. */
  async function run(path, body) {
    s.controller = new AbortController();
    s.failed = false;
    s.votable = false;
    setPhase("streaming");
    for (const side of SIDES) setBadge(side, "pane.waiting");
    let outcome;
    try {
      outcome = await api.stream(path, api.withUser(body), {
        signal: s.controller.signal,
        onEvent,
        isEnd: (e) => e.event === "done" || e.event === "error",
      });
    } catch (e) {
      if (e && e.name === "AbortError") return;
      banner.error(e);
      const refused = s.turns[s.turns.length - 1];
      if (s.turns.length === 1 && !s.id) {
        // Refused before it began (a limit, a bad prompt): nothing happened, start over.
        reset(false);
      } else {
        s.turns.pop().promptNodes.forEach((n) => n.closest(".turn").remove());
        setPhase(s.id ? "votable" : "idle");
      }
      textarea.value = refused.prompt;
      attached = refused.images;
      drawChips();
      return;
    } finally {
      s.controller = null;
    }
    for (const side of SIDES) paint(side);
    if (outcome === "aborted") return;
    if (outcome === "dropped") {
      setPhase("dropped");
      banner.show(t("banner.dropped"), { action: { label: t("battle.resume"), run: () => resume(s.id) } });
      return;
    }
    if (s.votable && !s.failed) {
      setPhase("votable");
    } else {
      if (!s.failed) banner.show(t("banner.notVotable"));
      setPhase("failed");
    }
  }

  function send(prompt, randomPrompt) {
    if (s.phase === "streaming") return;
    if (!prompt && !randomPrompt) {
      textarea.focus();
      return;
    }
    banner.hide();
    if (s.id === null) {
      const body = { mode: named ? "named" : "anonymous" };
      if (named) {
        const pair = pick && pick();
        if (!pair) return;
        Object.assign(body, pair);
        s.names = { a: pair.model_a, b: pair.model_b };
        showNames();
      }
      if (randomPrompt) {
        body.random = true;
        if (theme.value.trim()) body.theme = theme.value.trim();
      } else {
        body.prompt = prompt;
      }
      if (attached.length) body.images = attached.map((a) => a.url);
      addTurn(randomPrompt ? "" : prompt, attached);
      textarea.value = "";
      attached = [];
      drawChips();
      run("/api/battles", body);
    } else {
      const body = { text: prompt };
      if (attached.length) body.images = attached.map((a) => a.url);
      addTurn(prompt, attached);
      textarea.value = "";
      attached = [];
      drawChips();
      run(`/api/battles/${encodeURIComponent(s.id)}/turns`, body);
    }
  }

  async function vote(winner) {
    if (s.phase !== "votable") return;
    setPhase("closed");
    status.textContent = t("vote.sending");
    let result;
    try {
      result = await api.postJson(`/api/battles/${encodeURIComponent(s.id)}/vote`, api.withUser({ winner }));
    } catch (e) {
      banner.error(e);
      setPhase("votable");
      return;
    }
    showReveal(result);
  }

  function showReveal(result) {
    setPhase("voted");
    s.names = { a: result.model_a || s.names.a, b: result.model_b || s.names.b };
    showNames();
    clear(reveal);
    const winner = result.winner;
    const list = h("ul", { class: "reveal-list" });
    for (const side of SIDES) {
      const elo = result.elo && result.elo[`model_${side}`];
      let change = "";
      if (elo && Number.isFinite(elo.rating_before) && Number.isFinite(elo.rating_after)) {
        const delta = elo.rating_after - elo.rating_before;
        change = t("reveal.rating", {
          before: ctx.i18n.num(elo.rating_before),
          after: ctx.i18n.num(elo.rating_after),
          delta: `${delta >= 0 ? "+" : "−"}${ctx.i18n.num(Math.abs(delta))}`,
        });
      }
      panes[side].change.textContent = change;
      list.append(h("li", { dataset: { side } }, h("strong", {}, `${t(`pane.${side}`)}: `),
        h("span", { class: "reveal-name" }, s.names[side] || "?"), change ? ` — ${change}` : ""));
    }
    reveal.append(h("h2", {}, t("reveal.title")), list);
    if (winner) reveal.append(h("p", {}, t(`reveal.winner.${winner}`)));
    if (Array.isArray(result.left_out) && result.left_out.length) {
      const reasons = result.left_out.map((r) => {
        const text = t(`reason.${r}`);
        return text === `reason.${r}` ? r : text;
      });
      reveal.append(h("p", { class: "note" }, t("reveal.leftOut", { reasons: reasons.join("; ") })));
    }
    reveal.hidden = false;
    status.textContent = "";
    newBattle.focus();
  }

  /** Opens battle `id` again: its turns so far, then the latest one live if it is still going. */
  async function resume(id) {
    if (!id) return;
    if (s.controller) s.controller.abort();
    status.textContent = t("battle.resuming");
    let battle;
    try {
      battle = await api.getJson(`/api/battles/${encodeURIComponent(id)}`, api.withUser());
    } catch (e) {
      banner.error(e);
      return;
    }
    const keepBanner = false;
    if (!keepBanner) banner.hide();
    s.id = battle.battle_id || id;
    s.turns = [];
    for (const side of SIDES) clear(panes[side].log);
    s.names = { a: battle.model_a || null, b: battle.model_b || null };
    showNames();
    const turns = Array.isArray(battle.turns) ? battle.turns : [];
    // A battle still open takes its latest turn from the stream (the text so far, then
    // live): the server counts an answer as read only once it was streamed to its end.
    const open = battle.status === "pending_generation" || battle.status === "pending_vote";
    const latest = open ? turns.pop() : null;
    for (const past of turns) {
      const turn = addTurn(past.prompt || "");
      turn.a.text = past.response_a || "";
      turn.b.text = past.response_b || "";
      for (const side of SIDES) {
        clear(turn[side].node).append(render(turn[side].text));
        setBadge(side, "pane.finished");
      }
    }
    if (open) {
      addTurn((latest && latest.prompt) || "");
      await run(`/api/battles/${encodeURIComponent(s.id)}/stream`, {});
    } else if (battle.status === "completed") {
      showReveal({ model_a: battle.model_a, model_b: battle.model_b, winner: battle.winner });
    } else {
      for (const side of SIDES) setBadge(side, "pane.failed");
      setPhase("failed");
    }
  }

  setPhase("idle");
  return {
    element,
    resume,
    focus: () => textarea.focus(),
    unmount() {
      document.removeEventListener("keydown", onKey);
      if (s.controller) s.controller.abort();
    },
  };
}

export function mount(root, ctx) {
  const { t } = ctx;
  const b = board(ctx);
  root.append(h("section", { class: "view view-battle" },
    h("h1", {}, t("battle.title")), h("p", { class: "intro" }, t("battle.intro")), b.element));
  if (ctx.arg) b.resume(ctx.arg);
  return b.unmount;
}

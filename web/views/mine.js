// "My battles": the caller's recent battles (`GET /api/battles`), newest first; one still
// waiting for its answers or its vote opens again in the battle view.
import { h } from "../dom.js";

export function mount(root, ctx) {
  const { t, api, banner, i18n } = ctx;
  const controller = new AbortController();
  // A state or outcome this page has no words for is shown as the server names it.
  const label = (key, raw) => (t(key) === key ? String(raw) : t(key));
  const area = h("div", { class: "table-area" }, h("p", { role: "status" }, t("loading")));
  root.append(h("section", { class: "view view-mine" }, h("h1", {}, t("mine.title")), h("p", { class: "intro" }, t("mine.intro")), area));
  api.getJson("/api/battles", api.withUser({ limit: 20 }), controller.signal).then((answer) => {
    const battles = answer.battles || [];
    area.replaceChildren();
    if (!battles.length) {
      area.append(h("p", {}, t("mine.empty")));
      return;
    }
    const cols = ["when", "prompt", "mode", "turns", "status", "result", "action"];
    const rows = battles.map((b) => {
      const pending = b.status === "pending_vote" || b.status === "pending_generation";
      const open = h("a", { href: `#/battle/${encodeURIComponent(b.battle_id)}`, class: pending ? "button primary" : "button" },
        t(pending ? "mine.resume" : "mine.open"));
      let result = "";
      if (b.model_a && b.model_b) result = t("result.vs", { a: b.model_a, b: b.model_b });
      if (b.winner) result = `${result}${result ? " · " : ""}${label(`result.winner.${b.winner}`, b.winner)}`;
      const prompt = String(b.prompt || "");
      return h("tr", { dataset: { battle: b.battle_id, status: b.status } },
        h("td", {}, b.created_at ? i18n.time(b.created_at) : ""),
        h("th", { scope: "row", class: "prompt" }, prompt.length > 120 ? `${prompt.slice(0, 119)}…` : prompt),
        h("td", {}, label(`mode.${b.mode || "anonymous"}`, b.mode)),
        h("td", { class: "num" }, String(b.turns ?? "")),
        h("td", {}, label(`status.${b.status}`, b.status)),
        h("td", {}, result),
        h("td", {}, open));
    });
    area.append(h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": t("mine.title") },
      h("table", {}, h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, t(`mine.col.${c}`))))), h("tbody", {}, rows))));
  }).catch((e) => {
    if (e.name === "AbortError") return;
    area.replaceChildren();
    banner.error(e);
  });
  return () => controller.abort();
}

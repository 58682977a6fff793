// The side-by-side view: two models picked by name, the same board as a battle, and votes the
// server keeps apart from the main (anonymous) leaderboard.
import { h, uid } from "../dom.js";
import { board } from "./battle.js";

export function mount(root, ctx) {
  const { t, api, banner } = ctx;
  const section = h("section", { class: "view view-side" },
    h("h1", {}, t("side.title")), h("p", { class: "intro" }, t("side.intro")));
  root.append(section);
  const controller = new AbortController();
  let b = null;
  (async () => {
    let listing;
    try {
      listing = await api.getJson("/api/models", undefined, controller.signal);
    } catch (e) {
      banner.error(e);
      return;
    }
    if (listing.chat === false) {
      ctx.setChatAvailable(false);
      section.append(h("p", { class: "note" }, t("side.unavailable")));
      return;
    }
    ctx.setChatAvailable(true);
    const names = (listing.models || []).map((m) => m.name);
    const select = (key, index) => {
      const id = uid("model");
      const el = h("select", { id }, names.map((n, i) => h("option", { value: n, selected: i === index }, n)));
      return { el, field: h("div", { class: "field" }, h("label", { for: id }, t(key)), el) };
    };
    const a = select("side.modelA", 0);
    const bSel = select("side.modelB", Math.min(1, names.length - 1));
    section.append(h("div", { class: "pickers" }, a.field, bSel.field));
    b = board(ctx, {
      named: true,
      pick: () => {
        if (!a.el.value || a.el.value === bSel.el.value) {
          banner.show(t("side.same"));
          a.el.focus();
          return null;
        }
        return { model_a: a.el.value, model_b: bSel.el.value };
      },
    });
    section.append(b.element);
  })();
  return () => {
    controller.abort();
    if (b) b.unmount();
  };
}

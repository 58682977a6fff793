// The chat view: one model of the pool, streamed through the server's OpenAI-compatible
// `/v1/chat/completions` (the same proxy any chat client uses).
import { h, clear, uid } from "../dom.js";
import { render } from "../markdown.js";

export function mount(root, ctx) {
  const { t, api, banner } = ctx;
  const section = h("section", { class: "view view-chat" },
    h("h1", {}, t("chat.title")), h("p", { class: "intro" }, t("chat.intro")));
  root.append(section);
  const listing = new AbortController();
  let controller = null;
  const messages = [];

  (async () => {
    let models;
    try {
      models = await api.getJson("/api/models", undefined, listing.signal);
    } catch (e) {
      banner.error(e);
      return;
    }
    if (models.chat === false) {
      ctx.setChatAvailable(false);
      section.append(h("p", { class: "note" }, t("side.unavailable")));
      return;
    }
    ctx.setChatAvailable(true);
    const modelId = uid("model");
    const inputId = uid("message");
    const select = h("select", { id: modelId }, (models.models || []).map((m) => h("option", { value: m.name }, m.name)));
    const log = h("div", { class: "chat-log transcript", tabindex: "0", role: "region", "aria-label": t("chat.transcript") },
      h("p", { class: "empty" }, t("chat.empty")));
    const input = h("textarea", { id: inputId, rows: "3", placeholder: t("composer.placeholder") });
    const send = h("button", { type: "submit", class: "primary" }, t("chat.send"));
    const stop = h("button", { type: "button", disabled: true }, t("chat.stop"));
    const fresh = h("button", { type: "button" }, t("chat.clear"));
    const form = h("form", { class: "composer" },
      h("label", { for: inputId }, t("chat.message")), input,
      h("div", { class: "composer-row" }, send, stop, fresh, h("span", { class: "hint" }, t("composer.hint"))));
    section.append(h("div", { class: "field" }, h("label", { for: modelId }, t("chat.model")), select), log, form);

    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    stop.addEventListener("click", () => controller && controller.abort());
    fresh.addEventListener("click", () => {
      if (controller) controller.abort();
      messages.length = 0;
      clear(log).append(h("p", { class: "empty" }, t("chat.empty")));
      input.focus();
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text || controller) return;
      banner.hide();
      const empty = log.querySelector(".empty");
      if (empty) empty.remove();
      messages.push({ role: "user", content: text });
      log.append(h("div", { class: "msg user" }, h("span", { class: "who" }, t("pane.you")), h("div", { class: "msg-text" }, text)));
      const answer = h("div", { class: "md" });
      log.append(h("div", { class: "msg answer" }, h("span", { class: "who" }, `${t("chat.assistant")} · ${select.value}`), answer));
      log.scrollTop = log.scrollHeight;
      input.value = "";
      controller = new AbortController();
      send.disabled = true;
      stop.disabled = false;
      select.disabled = true;
      let reply = "";
      let failure = null;
      let queued = false;
      const paint = () => {
        queued = false;
        const bottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
        clear(answer).append(render(reply));
        if (bottom) log.scrollTop = log.scrollHeight;
      };
      try {
        const outcome = await api.stream("/v1/chat/completions", { model: select.value, messages, stream: true }, {
          signal: controller.signal,
          isEnd: (e) => e.data === "[DONE]",
          onEvent: ({ data }) => {
            if (data && data.error) failure = data.error.message || JSON.stringify(data.error);
            const delta = data && data.choices && data.choices[0] && data.choices[0].delta;
            if (delta && typeof delta.content === "string") {
              reply += delta.content;
              if (!queued) {
                queued = true;
                queueMicrotask(paint);
              }
            }
          },
        });
        paint();
        if (failure) banner.show(t("banner.streamError", { message: failure }));
        else if (outcome === "dropped") banner.show(t("banner.dropped"));
        if (reply) messages.push({ role: "assistant", content: reply });
      } catch (e) {
        banner.error(e);
        messages.pop();
      } finally {
        controller = null;
        send.disabled = false;
        stop.disabled = true;
        select.disabled = false;
      }
    });
  })();

  return () => {
    listing.abort();
    if (controller) controller.abort();
  };
}

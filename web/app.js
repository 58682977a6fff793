// The page's entry: reads the server's settings, settles who the visitor is (a random user id
// on an open server, a key kept for the tab on a server with keys), then shows one view at a
// time by the address's #fragment.
import * as i18n from "./i18n.js";
import * as api from "./api.js";
import { h, clear, uid } from "./dom.js";

const { t } = i18n;

const VIEWS = {
  battle: () => import("./views/battle.js"),
  side: () => import("./views/side.js"),
  chat: () => import("./views/chat.js"),
  leaderboard: () => import("./views/leaderboard.js"),
  mine: () => import("./views/mine.js"),
};
const NAV = ["battle", "side", "chat", "leaderboard", "mine"];
const USER = "arena.user";
const KEY = "arena.key";

const main = document.getElementById("main");
const bannerRoot = document.getElementById("banner");

/** The one error (or notice) line at the top, over the page so that it never moves it. */
export const banner = {
  show(message, { action, kind = "error" } = {}) {
    clear(bannerRoot);
    const close = h("button", { type: "button", class: "banner-close", "aria-label": t("banner.dismiss") }, "×");
    close.addEventListener("click", () => banner.hide());
    const box = h("div", { class: `banner banner-${kind}`, role: kind === "error" ? "alert" : "status" },
      h("p", { class: "banner-text" }, message));
    if (action) {
      const button = h("button", { type: "button", class: "banner-action" }, action.label);
      button.addEventListener("click", () => { banner.hide(); action.run(); });
      box.append(button);
    }
    box.append(close);
    bannerRoot.append(box);
  },
  /** An error of a request: the server's own message, and when to try again. */
  error(error, options) {
    if (error && error.name === "AbortError") return;
    let text;
    if (error instanceof api.ApiError) {
      text = error.status === 0 ? t("banner.network", { message: error.message })
        : t("banner.status", { status: error.status, message: error.message });
      if (error.retryAt) text += ` ${t("banner.retryAt", { time: i18n.time(error.retryAt) })}`;
    } else {
      text = String(error && error.message ? error.message : error);
    }
    banner.show(text, options);
  },
  hide() {
    clear(bannerRoot);
  },
};

const state = { config: {}, chat: null, unmount: null, view: null, auth: "open" };

function storage(kind) {
  try {
    return kind === "local" ? localStorage : sessionStorage;
  } catch {
    return null;
  }
}

function userId() {
  const store = storage("local");
  let id = store && store.getItem(USER);
  if (!id || !/^web:[0-9a-f]{16,64}$/.test(id)) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    id = `web:${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
    if (store) store.setItem(USER, id);
  }
  return id;
}

/** Hides the views that need the pool (side by side, chat) when the server keeps it to itself. */
function setChatAvailable(available) {
  state.chat = available;
  for (const name of ["side", "chat"]) {
    const link = document.querySelector(`[data-view="${name}"]`);
    if (link) link.parentElement.hidden = available === false;
  }
}

function renderChrome() {
  document.title = `${t("app.title")} · ${t("app.tagline")}`;
  document.querySelector(".skip").textContent = t("app.skip");
  document.querySelector(".tagline").textContent = t("app.tagline");
  const nav = document.getElementById("nav");
  nav.setAttribute("aria-label", t("nav.label"));
  const list = clear(nav.querySelector("ul"));
  for (const name of NAV) {
    list.append(h("li", {}, h("a", { href: `#/${name}`, "data-view": name }, t(`nav.${name}`))));
  }
  const langId = uid("lang");
  const select = h("select", { id: langId },
    Object.entries(i18n.LANGUAGES).map(([code, name]) =>
      h("option", { value: code, lang: code, selected: code === i18n.lang() }, name)));
  select.addEventListener("change", () => {
    i18n.choose(select.value);
    location.reload();
  });
  clear(document.getElementById("lang")).append(h("label", { for: langId }, t("lang.label")), select);
  const footer = clear(document.getElementById("footer-links"));
  footer.append(
    h("li", {}, h("a", { href: "/openapi.json" }, t("footer.api"))),
    h("li", {}, h("a", { href: "/v1/models" }, t("footer.v1"))),
  );
  if (state.config.version) footer.append(h("li", {}, t("footer.version", { version: state.config.version })));
  if (state.chat !== null) setChatAvailable(state.chat);
}

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  const name = parts[0] in VIEWS ? parts[0] : "battle";
  return { name, arg: parts[1] ? decodeURIComponent(parts[1]) : null };
}

async function show() {
  const { name, arg } = route();
  if (state.unmount) {
    state.unmount();
    state.unmount = null;
  }
  banner.hide();
  for (const link of document.querySelectorAll("[data-view]")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const token = {};
  state.view = token;
  clear(main);
  main.setAttribute("aria-busy", "true");
  let view;
  try {
    view = await VIEWS[name]();
  } catch (e) {
    banner.error(e);
    return;
  } finally {
    main.removeAttribute("aria-busy");
  }
  if (state.view !== token) return;
  const ctx = {
    t, i18n, api, banner, arg,
    config: state.config,
    auth: state.auth,
    chat: () => state.chat,
    setChatAvailable,
    navigate: (hash) => { location.hash = hash; },
  };
  state.unmount = view.mount(main, ctx) || null;
}

/** The form that asks for the key once; resolves when the server took one. */
function askForKey(refusal) {
  return new Promise((resolve) => {
    clear(main);
    const id = uid("key");
    const input = h("input", { id, type: "password", autocomplete: "current-password", required: true, spellcheck: "false" });
    const error = h("p", { class: "form-error", role: "alert" }, refusal ? t("key.refused", { message: refusal }) : "");
    const form = h("form", { class: "key-form card" },
      h("h2", {}, t("key.title")),
      h("p", {}, t("key.intro")),
      h("label", { for: id }, t("key.label")), input,
      h("button", { type: "submit", class: "primary" }, t("key.submit")),
      error);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      api.configure({ key, userId: null });
      try {
        await api.getJson("/api/battles", { limit: 1 });
      } catch (e) {
        api.configure({ key: null });
        error.textContent = e instanceof api.ApiError && e.status === 401
          ? t("key.refused", { message: e.message })
          : t("banner.status", { status: e.status, message: e.message });
        input.select();
        return;
      }
      const store = storage("session");
      if (store) store.setItem(KEY, key);
      resolve(key);
    });
    main.append(form);
    input.focus();
  });
}

async function boot() {
  let config = {};
  let needsKey = false;
  const storedKey = storage("session") && storage("session").getItem(KEY);
  try {
    config = await api.getJson("/api/config");
  } catch (e) {
    if (e instanceof api.ApiError && e.status === 401) needsKey = true;
    else banner.error(e);
  }
  if (needsKey && storedKey) {
    // The server answers its settings only to a caller with a key.
    api.configure({ key: storedKey });
    try {
      config = await api.getJson("/api/config");
    } catch (e) {
      if (!(e instanceof api.ApiError && e.status === 401)) banner.error(e);
    }
  }
  state.config = config || {};
  state.auth = needsKey || state.config.auth === "key" ? "key" : "open";
  if (typeof state.config.chat === "boolean") state.chat = state.config.chat;
  await i18n.use(i18n.pick(state.config.language));
  renderChrome();
  if (state.auth === "key") {
    let key = storedKey;
    let refusal = null;
    if (key) {
      api.configure({ key, userId: null });
      try {
        await api.getJson("/api/battles", { limit: 1 });
      } catch (e) {
        if (e instanceof api.ApiError && e.status === 401) {
          refusal = e.message;
          key = null;
          storage("session") && storage("session").removeItem(KEY);
        }
      }
    }
    if (!key) key = await askForKey(refusal);
    api.configure({
      key,
      userId: null,
      onUnauthorized: (error) => {
        // The key was revoked meanwhile: ask again, once (the form's own checks refuse
        // wrong keys by themselves).
        if (state.asking) return;
        state.asking = true;
        if (state.unmount) state.unmount();
        state.unmount = null;
        storage("session") && storage("session").removeItem(KEY);
        api.configure({ key: null });
        askForKey(error.message).then((k) => {
          state.asking = false;
          api.configure({ key: k });
          show();
        });
      },
    });
  } else {
    api.configure({ key: null, userId: userId() });
  }
  window.addEventListener("hashchange", show);
  await show();
}

boot();

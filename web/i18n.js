// The page's language: the visitor's own choice (kept in localStorage), else the server's
// `language`, else the browser's. Strings come only from the tables in i18n/.
import en from "./i18n/en.js";

export const LANGUAGES = { en: "English", "zh-CN": "简体中文" };
const CHOICE = "arena.lang";

let table = en;
let current = "en";

/** The language to use: the stored choice, the server's, or the browser's. */
export function pick(serverLanguage) {
  const chosen = safeGet(CHOICE);
  if (chosen && chosen in LANGUAGES) return chosen;
  if (serverLanguage && serverLanguage in LANGUAGES) return serverLanguage;
  const browser = (navigator.languages && navigator.languages[0]) || navigator.language || "";
  return browser.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

/** Loads the table of `lang` (English is always there as the fallback). */
export async function use(lang) {
  current = lang in LANGUAGES ? lang : "en";
  table = current === "en" ? en : { ...en, ...(await import(`./i18n/${current}.js`)).default };
  document.documentElement.lang = current;
}

export function choose(lang) {
  try { localStorage.setItem(CHOICE, lang); } catch { /* storage off: the choice lasts this page */ }
}

export function lang() {
  return current;
}

/** The string of `key`, with `{name}` replaced by `vars.name`. */
export function t(key, vars) {
  const text = table[key] ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** A number with `digits` decimals, written as the language writes numbers. */
export function num(value, digits = 1) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return value.toLocaleString(current, { minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: false });
}

export function time(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso ?? "");
  return d.toLocaleString(current, { dateStyle: "medium", timeStyle: "short" });
}

function safeGet(key) {
  try { return localStorage.getItem(key); } catch { return null; }
}

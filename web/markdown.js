// Markdown to DOM, for model answers, which are untrusted. Every piece of text becomes a text
// node; elements are made one by one from a fixed list (paragraphs, headings, lists, quotes,
// tables, code, emphasis, links). Raw HTML in an answer is shown as the text it is, links
// keep only http:, https: and mailto: targets, and images are never loaded (they become
// links), so an answer can neither run code nor make the page fetch anything.
import { h } from "./dom.js";
import { t } from "./i18n.js";

const SAFE_SCHEMES = new Set(["http:", "https:", "mailto:"]);

/** The URL to put in an href, or null when it is not an absolute http(s)/mailto URL. */
export function safeHref(raw) {
  let u;
  try {
    u = new URL(String(raw).trim());
  } catch {
    return null;
  }
  return SAFE_SCHEMES.has(u.protocol) ? u.href : null;
}

/** A DocumentFragment with the rendering of `markdown`. */
export function render(markdown) {
  const fragment = document.createDocumentFragment();
  for (const node of blocks(String(markdown).replace(/\r\n?/g, "\n").split("\n"))) fragment.append(node);
  return fragment;
}

const BLANK = /^\s*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}>/;
const ITEM = /^( {0,12})([-*+]|\d{1,9}[.)])([ \t]+|$)(.*)$/;
const TABLE_RULE = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

function startsBlock(line) {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || ITEM.test(line);
}

function blocks(lines) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (BLANK.test(line)) {
      i++;
      continue;
    }
    let m = line.match(FENCE);
    if (m && !(m[1][0] === "`" && m[2].includes("`"))) {
      const marker = m[1];
      const body = [];
      i++;
      const close = new RegExp(`^ {0,3}\\${marker[0]}{${marker.length},}[ \\t]*$`);
      while (i < lines.length && !close.test(lines[i])) body.push(lines[i++]);
      i++;
      out.push(codeBlock(body.join("\n"), m[2].trim().split(/\s/)[0] || ""));
      continue;
    }
    m = line.match(HEADING);
    if (m) {
      // The pane's own heading is an h2: an answer's headings sit below it.
      out.push(h(`h${Math.min(6, m[1].length + 2)}`, {}, inline(m[2] || "")));
      i++;
      continue;
    }
    if (RULE.test(line)) {
      out.push(h("hr"));
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const quoted = [];
      while (i < lines.length && QUOTE.test(lines[i])) quoted.push(lines[i++].replace(/^ {0,3}> ?/, ""));
      out.push(h("blockquote", {}, blocks(quoted)));
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1]) && lines[i + 1].includes("-")) {
      i = table(lines, i, out);
      continue;
    }
    if (ITEM.test(line)) {
      i = list(lines, i, out);
      continue;
    }
    const paragraph = [line];
    i++;
    while (i < lines.length && !BLANK.test(lines[i]) && !startsBlock(lines[i])) paragraph.push(lines[i++]);
    out.push(h("p", {}, inline(paragraph.join("\n").trim())));
  }
  return out;
}

function codeBlock(code, lang) {
  const label = lang.replace(/[^\w+#.-]/g, "").slice(0, 24);
  const button = h("button", { type: "button", class: "copy" }, t("copy.label"));
  button.addEventListener("click", async () => {
    let ok = true;
    try {
      await navigator.clipboard.writeText(code);
    } catch {
      ok = false;
    }
    button.textContent = t(ok ? "copy.done" : "copy.failed");
    setTimeout(() => { button.textContent = t("copy.label"); }, 1500);
  });
  return h(
    "div",
    { class: "code" },
    h("div", { class: "code-bar" }, h("span", { class: "code-lang" }, label), button),
    h("pre", { tabindex: "0" }, h("code", label ? { "data-lang": label } : {}, code)),
  );
}

function splitRow(line) {
  let s = line.trim();
  if (s.startsWith("|")) s = s.slice(1);
  if (s.endsWith("|") && !s.endsWith("\\|")) s = s.slice(0, -1);
  return s.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
}

function table(lines, i, out) {
  const head = splitRow(lines[i]);
  const aligns = splitRow(lines[i + 1]).map((c) =>
    c.startsWith(":") && c.endsWith(":") ? "center" : c.endsWith(":") ? "right" : "left");
  const cell = (tag, text, k) => h(tag, { class: `align-${aligns[k] || "left"}` }, inline(text));
  const rows = [];
  i += 2;
  while (i < lines.length && !BLANK.test(lines[i]) && lines[i].includes("|")) {
    const cells = splitRow(lines[i++]);
    rows.push(h("tr", {}, head.map((_, k) => cell("td", cells[k] || "", k))));
  }
  out.push(h("div", { class: "table-wrap", tabindex: "0" },
    h("table", {}, h("thead", {}, h("tr", {}, head.map((c, k) => cell("th", c, k)))), h("tbody", {}, rows))));
  return i;
}

function indentOf(line) {
  return line.match(/^ */)[0].length;
}

function list(lines, i, out) {
  const first = lines[i].match(ITEM);
  const indent = first[1].length;
  const ordered = /\d/.test(first[2]);
  const sibling = (m) => m && m[1].length <= indent + 1 && /\d/.test(m[2]) === ordered;
  const items = [];
  let current = null;
  let loose = false;
  let blank = false;
  while (i < lines.length) {
    const line = lines[i];
    const m = line.match(ITEM);
    if (sibling(m)) {
      if (current && blank) loose = true;
      current = { start: parseInt(m[2], 10), lines: [m[4]], content: m[1].length + m[2].length + m[3].length };
      items.push(current);
      blank = false;
      i++;
      continue;
    }
    if (BLANK.test(line)) {
      let j = i + 1;
      while (j < lines.length && BLANK.test(lines[j])) j++;
      if (j < lines.length && (sibling(lines[j].match(ITEM)) || indentOf(lines[j]) > indent + 1)) {
        current.lines.push("");
        blank = true;
        i++;
        continue;
      }
      break;
    }
    const depth = indentOf(line);
    if (depth > indent) {
      current.lines.push(line.slice(Math.min(depth, current.content)));
      i++;
      continue;
    }
    if (!blank && !startsBlock(line)) {
      current.lines.push(line);
      i++;
      continue;
    }
    break;
  }
  const attrs = ordered && items[0].start !== 1 ? { start: items[0].start } : {};
  out.push(h(ordered ? "ol" : "ul", attrs, items.map((item) => {
    const li = h("li", {}, blocks(item.lines));
    if (!loose) {
      // A tight list: its paragraphs are bare text.
      for (const p of [...li.children]) if (p.tagName === "P") p.replaceWith(...p.childNodes);
    }
    return li;
  })));
  return i;
}

const PUNCT = /[!-/:-@[-`{-~]/;
const WORD = /[\p{L}\p{N}]/u;

function inline(text) {
  const out = [];
  let buf = "";
  const flush = () => {
    if (buf) out.push(document.createTextNode(buf));
    buf = "";
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "\\" && i + 1 < text.length && PUNCT.test(text[i + 1])) {
      buf += text[i + 1];
      i += 2;
      continue;
    }
    if (c === "\n") {
      if (buf.endsWith("  ") || buf.endsWith("\\")) {
        buf = buf.replace(/( +|\\)$/, "");
        flush();
        out.push(h("br"));
      } else {
        buf += "\n";
      }
      i++;
      continue;
    }
    if (c === "`") {
      const run = text.slice(i).match(/^`+/)[0];
      let close = text.indexOf(run, i + run.length);
      while (close > 0 && text[close + run.length] === "`") close = text.indexOf(run, close + run.length + 1);
      if (close > 0) {
        flush();
        let code = text.slice(i + run.length, close).replace(/\n/g, " ");
        if (code.length > 2 && code.startsWith(" ") && code.endsWith(" ")) code = code.slice(1, -1);
        out.push(h("code", {}, code));
        i = close + run.length;
        continue;
      }
      buf += run;
      i += run.length;
      continue;
    }
    if ((c === "[" || (c === "!" && text[i + 1] === "[")) ) {
      const image = c === "!";
      const link = parseLink(text, image ? i + 1 : i);
      if (link) {
        flush();
        out.push(image ? anchor(link.href, [`🖼 ${link.text || link.href}`], link.title) : anchor(link.href, inline(link.text), link.title));
        i = link.end;
        continue;
      }
    }
    if (c === "<") {
      const m = text.slice(i).match(/^<((?:https?|mailto):[^\s<>]+)>/i);
      if (m) {
        flush();
        out.push(anchor(m[1], [m[1]]));
        i += m[0].length;
        continue;
      }
    }
    if ((c === "h" || c === "H") && (i === 0 || /[\s(]/.test(text[i - 1]))) {
      const m = text.slice(i).match(/^https?:\/\/[^\s<>]+/i);
      if (m) {
        const href = m[0].replace(/[.,;:!?)\]'"*_]+$/, "");
        flush();
        out.push(anchor(href, [href]));
        i += href.length;
        continue;
      }
    }
    if (c === "*" || c === "_" || c === "~") {
      const span = emphasis(text, i);
      if (span) {
        flush();
        out.push(span.node);
        i = span.end;
        continue;
      }
    }
    buf += c;
    i++;
  }
  flush();
  return out;
}

function emphasis(text, i) {
  const c = text[i];
  if (c === "~") {
    if (text[i + 1] !== "~") return null;
    const close = text.indexOf("~~", i + 2);
    if (close <= i + 2) return null;
    return { node: h("del", {}, inline(text.slice(i + 2, close))), end: close + 2 };
  }
  const double = text[i + 1] === c;
  const mark = double ? c + c : c;
  const start = i + mark.length;
  if (start >= text.length || /\s/.test(text[start])) return null;
  if (c === "_" && i > 0 && WORD.test(text[i - 1])) return null;
  let from = start;
  for (;;) {
    const k = text.indexOf(mark, from);
    if (k < 0) return null;
    const after = text[k + mark.length] || "";
    const fits = k > start && !/\s/.test(text[k - 1]) && (double || after !== c) && !(c === "_" && WORD.test(after));
    if (fits) return { node: h(double ? "strong" : "em", {}, inline(text.slice(start, k))), end: k + mark.length };
    from = k + 1;
  }
}

function parseLink(text, i) {
  let depth = 0;
  let j = i;
  for (; j < text.length; j++) {
    const ch = text[j];
    if (ch === "\\") {
      j++;
    } else if (ch === "[") {
      depth++;
    } else if (ch === "]") {
      depth--;
      if (depth === 0) break;
    }
  }
  if (j >= text.length || text[j + 1] !== "(") return null;
  const label = text.slice(i + 1, j);
  let k = j + 2;
  while (text[k] === " ") k++;
  let href;
  if (text[k] === "<") {
    const end = text.indexOf(">", k);
    if (end < 0) return null;
    href = text.slice(k + 1, end);
    k = end + 1;
  } else {
    const s = k;
    let parens = 0;
    for (; k < text.length; k++) {
      const ch = text[k];
      if (ch === "\\") k++;
      else if (ch === "(") parens++;
      else if (ch === ")") {
        if (parens === 0) break;
        parens--;
      } else if (/\s/.test(ch)) break;
    }
    href = text.slice(s, k);
  }
  while (text[k] === " ") k++;
  let title;
  if (text[k] === '"' || text[k] === "'") {
    const end = text.indexOf(text[k], k + 1);
    if (end < 0) return null;
    title = text.slice(k + 1, end);
    k = end + 1;
    while (text[k] === " ") k++;
  }
  if (text[k] !== ")") return null;
  return { text: label, href, title, end: k + 1 };
}

/** A link to a safe target; anything else is shown as text, its target beside it. */
function anchor(href, children, title) {
  const safe = safeHref(href);
  if (!safe) return h("span", { class: "link-refused" }, children, ` (${href})`);
  return h("a", { href: safe, title: title || false, rel: "noopener noreferrer nofollow", target: "_blank" }, children);
}

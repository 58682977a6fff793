// A small helper to build DOM nodes. Text always goes in as text nodes: nothing here parses
// HTML, so no string from the server or a model can become markup.

/**
 * h("button", {class: "x", onclick: f, "aria-label": "…"}, "text", child, …)
 * Attributes that start with "on" are event listeners; `false`/`null` ones are left out.
 */
export function h(tag, attrs, ...children) {
  const svg = tag.startsWith("svg:");
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4)) : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.setAttribute("class", value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

let ids = 0;
/** A fresh id for label/aria links. */
export function uid(prefix = "id") {
  ids += 1;
  return `${prefix}-${ids}`;
}

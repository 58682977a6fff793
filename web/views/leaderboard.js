// The leaderboard view: the server's ratings (`/api/leaderboard`, the JSON of `arena
// leaderboard --format json`) as a sortable table with each 95% interval drawn as a whisker,
// and the head-to-head win rates and match counts of `/api/battle_statistics` as heat maps.
import { h, clear, uid } from "../dom.js";

const METHODS = ["bt", "elo", "glicko2"];

export function mount(root, ctx) {
  const { t, api, banner, i18n } = ctx;
  const controller = new AbortController();
  const ids = { method: uid("method"), theme: uid("theme"), tier: uid("tier"), named: uid("named"), style: uid("style"), themes: uid("themes") };
  const method = h("select", { id: ids.method }, METHODS.map((m) => h("option", { value: m }, t(`lb.method.${m}`))));
  const theme = h("input", { id: ids.theme, type: "text", list: ids.themes, placeholder: t("composer.anyTheme"), autocomplete: "off", spellcheck: "false" });
  const themes = h("datalist", { id: ids.themes });
  const tier = h("select", { id: ids.tier }, ["", "high", "low"].map((v) => h("option", { value: v }, t(`lb.tier.${v || "all"}`))));
  const named = h("input", { id: ids.named, type: "checkbox" });
  // Style control is a Bradley-Terry model: offered with bt only.
  const styled = h("input", { id: ids.style, type: "checkbox" });
  const styleNote = h("p", { class: "style-note" });
  const refresh = h("button", { type: "submit" }, t("lb.refresh"));
  const form = h("form", { class: "filters" },
    h("div", { class: "field" }, h("label", { for: ids.method }, t("lb.method")), method),
    h("div", { class: "field" }, h("label", { for: ids.theme }, t("lb.theme")), theme, themes),
    h("div", { class: "field" }, h("label", { for: ids.tier }, t("lb.tier")), tier),
    h("div", { class: "field check" }, named, h("label", { for: ids.named }, t("lb.includeNamed"))),
    h("div", { class: "field check" }, styled, h("label", { for: ids.style }, t("lb.styleControl"))),
    refresh);
  const syncStyle = () => {
    styled.disabled = method.value !== "bt";
    if (styled.disabled) styled.checked = false;
  };
  method.addEventListener("change", syncStyle);
  const summary = h("p", { class: "summary", role: "status" }, t("lb.loading"));
  const tableArea = h("div", { class: "table-area" });
  const heat = h("div", { class: "heatmaps" });
  root.append(h("section", { class: "view view-leaderboard" }, h("h1", {}, t("lb.title")), form, summary, styleNote, tableArea, heat));

  const sort = { key: null, dir: 1 };
  let board = null;

  const params = () => ({
    method: method.value,
    theme: theme.value.trim() || undefined,
    tier: tier.value || undefined,
    include_named: named.checked ? "true" : undefined,
    style_control: styled.checked && method.value === "bt" ? "true" : undefined,
  });

  async function load() {
    summary.textContent = t("lb.loading");
    const p = params();
    try {
      const [b, stats] = await Promise.all([
        api.getJson("/api/leaderboard", p, controller.signal),
        api.getJson("/api/battle_statistics", { theme: p.theme, tier: p.tier, include_named: p.include_named }, controller.signal)
          .catch((e) => { if (e.name !== "AbortError") banner.error(e); return null; }),
      ]);
      board = b;
      sort.key = null;
      drawSummary();
      drawTable();
      drawHeat(stats);
    } catch (e) {
      if (e.name === "AbortError") return;
      summary.textContent = "";
      banner.error(e);
    }
  }

  function drawSummary() {
    const rows = board.leaderboard || [];
    let text = rows.length ? t("lb.summary", { votes: board.votes ?? 0, time: board.generated_at ? i18n.time(board.generated_at) : "—" }) : t("lb.empty");
    const left = Object.values(board.left_out || {}).reduce((n, v) => n + (Number(v) || 0), 0);
    if (left > 0) text += ` · ${t("lb.leftOut", { count: left })}`;
    summary.textContent = text;
    const style = board.style;
    styleNote.textContent = style
      ? t("lb.style.coefficients", {
        list: ["tokens", "headers", "lists", "bold"]
          .map((f) => `${t(`lb.style.${f}`)} ${i18n.num(style.coefficients[f] ?? 0)}`)
          .join(" · "),
      })
      : "";
  }

  function columns() {
    const m = board.method;
    const cols = [];
    if (m === "bt") cols.push({ key: "rank_ub", label: t("lb.col.rankUb"), value: (r) => r.rank_ub ?? r.rank, show: (r) => String(r.rank_ub ?? r.rank) });
    else cols.push({ key: "rank", label: t("lb.col.rank"), value: (r) => r.rank, show: (r) => String(r.rank) });
    cols.push({ key: "model_name", label: t("lb.col.model"), value: (r) => r.model_name, show: (r) => r.model_name, text: true });
    cols.push({ key: "rating", label: t("lb.col.rating"), value: (r) => r.rating, show: (r) => i18n.num(r.rating) });
    if (m !== "elo") cols.push({ key: "ci", label: t("lb.col.ci"), value: (r) => r.rating_lower ?? -Infinity, show: whisker });
    if (m === "glicko2") cols.push({ key: "rd", label: t("lb.col.rd"), value: (r) => r.rating_deviation, show: (r) => i18n.num(r.rating_deviation) });
    cols.push({ key: "battles", label: t("lb.col.battles"), value: (r) => r.battles, show: (r) => String(r.battles) });
    cols.push({ key: "win_rate", label: t("lb.col.winRate"), value: (r) => r.win_rate_percentage ?? -1, show: (r) => (r.win_rate_percentage == null ? "—" : `${i18n.num(r.win_rate_percentage)}%`) });
    if (board.style) {
      cols.push({ key: "rank_change", label: t("lb.col.rankChange"), value: (r) => r.rank_change ?? 0, show: (r) => (r.rank_change == null ? "—" : r.rank_change > 0 ? `+${r.rank_change}` : String(r.rank_change)) });
    }
    return cols;
  }

  let scale = null;
  function whisker(row) {
    const { lo, hi } = scale;
    const W = 140;
    const H = 18;
    const x = (v) => Math.max(0, Math.min(W, ((v - lo) / (hi - lo || 1)) * W));
    const lower = row.rating_lower;
    const upper = row.rating_upper;
    const open = (v) => v === null || v === undefined || !Number.isFinite(v);
    const x1 = open(lower) ? 0 : x(lower);
    const x2 = open(upper) ? W : x(upper);
    const label = t("lb.ci.text", {
      lower: open(lower) ? t("lb.ci.open") : i18n.num(lower),
      upper: open(upper) ? t("lb.ci.open") : i18n.num(upper),
    });
    const svg = h("svg:svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "whisker", role: "img", "aria-label": label },
      h("svg:line", { x1, x2, y1: H / 2, y2: H / 2, class: open(lower) || open(upper) ? "ci open" : "ci" }),
      open(lower) ? null : h("svg:line", { x1, x2: x1, y1: 4, y2: H - 4, class: "ci" }),
      open(upper) ? null : h("svg:line", { x1: x2, x2, y1: 4, y2: H - 4, class: "ci" }),
      h("svg:circle", { cx: x(row.rating), cy: H / 2, r: 3.5, class: "point" }));
    return h("span", { class: "ci-cell" }, svg, h("span", { class: "ci-text" }, label));
  }

  function drawTable() {
    clear(tableArea);
    const rows = [...(board.leaderboard || [])];
    if (!rows.length) return;
    const values = rows.flatMap((r) => [r.rating_lower, r.rating_upper, r.rating]).filter((v) => typeof v === "number" && Number.isFinite(v));
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const pad = (hi - lo) * 0.04 || 1;
    scale = { lo: lo - pad, hi: hi + pad };
    const cols = columns();
    if (sort.key) {
      const col = cols.find((c) => c.key === sort.key);
      if (col) {
        rows.sort((a, b) => {
          const va = col.value(a);
          const vb = col.value(b);
          const d = col.text ? String(va).localeCompare(String(vb)) : (va ?? -Infinity) - (vb ?? -Infinity);
          return d * sort.dir;
        });
      }
    }
    const head = h("tr", {}, cols.map((c) => {
      const button = h("button", { type: "button", class: "sort", "aria-label": t("lb.sortBy", { column: c.label }) }, c.label,
        h("span", { class: "arrow", "aria-hidden": "true" }, sort.key === c.key ? (sort.dir > 0 ? " ▲" : " ▼") : ""));
      button.addEventListener("click", () => {
        if (sort.key === c.key) sort.dir = -sort.dir;
        else {
          sort.key = c.key;
          sort.dir = c.text || c.key.startsWith("rank") ? 1 : -1;
        }
        drawTable();
        const again = tableArea.querySelector(`th[data-key="${c.key}"] button`);
        if (again) again.focus();
      });
      const attrs = { scope: "col", dataset: { key: c.key }, class: c.text ? "text" : "num" };
      if (sort.key === c.key) attrs["aria-sort"] = sort.dir > 0 ? "ascending" : "descending";
      return h("th", attrs, button);
    }));
    const body = rows.map((r) => h("tr", { dataset: { model: r.model_name } },
      cols.map((c) => (c.key === "model_name"
        ? h("th", { scope: "row", class: "text" }, c.show(r))
        : h("td", { class: c.key === "ci" ? "ci-col" : "num", dataset: { key: c.key } }, c.show(r))))));
    tableArea.append(h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": t("lb.title") },
      h("table", { class: "board-table" },
        h("caption", {}, t("lb.caption", { method: t(`lb.method.${board.method}`) })),
        h("thead", {}, head), h("tbody", {}, body))));
  }

  function drawHeat(stats) {
    clear(heat);
    if (!stats || !stats.win_rate_matrix) return;
    const inBoard = (board.leaderboard || []).map((r) => r.model_name);
    const names = [...new Set([...inBoard, ...Object.keys(stats.match_count_matrix || {})])];
    if (names.length < 2) return;
    heat.append(
      heatmap(names, stats.win_rate_matrix, t("lb.heat.winRate"), (v) => (v == null ? null : v), (v) => (v == null ? "—" : `${Math.round(v * 100)}%`), winColor),
      heatmap(names, stats.match_count_matrix, t("lb.heat.count"), (v) => v ?? 0, (v) => String(v ?? 0), countColor(names, stats.match_count_matrix)));
  }

  function heatmap(names, matrix, title, valueOf, textOf, colour) {
    const cell = 40;
    const longest = 7 * Math.max(...names.map((n) => n.length));
    const labelWidth = Math.min(180, 16 + longest);
    // Column names lean at 40°: they need room above, and to the right of the last column.
    const top = Math.min(140, 12 + 0.65 * longest);
    const W = labelWidth + cell * names.length + Math.min(140, 0.77 * longest) + 8;
    const H = top + cell * names.length + 8;
    const svg = h("svg:svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", "aria-label": title, class: "heat" });
    names.forEach((name, i) => {
      svg.append(h("svg:text", { x: labelWidth - 6, y: top + i * cell + cell / 2 + 4, "text-anchor": "end", class: "axis" }, name));
      const cx = labelWidth + i * cell + cell / 2;
      svg.append(h("svg:text", { x: cx, y: top - 6, transform: `rotate(-40 ${cx} ${top - 6})`, class: "axis" }, name));
    });
    names.forEach((row, i) => names.forEach((col, j) => {
      const x = labelWidth + j * cell;
      const y = top + i * cell;
      if (i === j) {
        svg.append(h("svg:rect", { x, y, width: cell - 2, height: cell - 2, class: "diag" }));
        return;
      }
      const raw = matrix[row] ? matrix[row][col] : null;
      const value = valueOf(raw);
      const [fill, ink] = colour(value);
      const text = textOf(raw);
      svg.append(h("svg:g", {},
        h("svg:title", {}, t("lb.heat.cell", { row, col, value: raw == null && value == null ? t("lb.heat.none") : text })),
        h("svg:rect", { x, y, width: cell - 2, height: cell - 2, fill, rx: 3 }),
        h("svg:text", { x: x + (cell - 2) / 2, y: y + cell / 2 + 3, "text-anchor": "middle", fill: ink, class: "cell" }, text)));
    }));
    return h("figure", { class: "heat-figure" }, h("figcaption", {}, title),
      h("div", { class: "heat-scroll", tabindex: "0", role: "region", "aria-label": t("lb.heat.region", { title }) }, svg));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  for (const control of [method, tier, named]) control.addEventListener("change", load);
  theme.addEventListener("change", load);

  load();
  api.getJson("/api/prompt_statistics", undefined, controller.signal).then((p) => {
    const seen = new Set((p.prompt_statistics || []).map((x) => x.prompt_theme).filter(Boolean));
    for (const name of [...seen].sort()) themes.append(h("option", { value: name }));
  }).catch(() => { /* suggestions only */ });

  return () => controller.abort();
}

/** Red (0) through grey (½) to blue (1), and the ink that reads on it. */
function winColor(v) {
  if (v === null || v === undefined) return ["#9e9e9e", "#000000"];
  const stops = v < 0.5
    ? mix([178, 24, 43], [240, 240, 240], v / 0.5)
    : mix([240, 240, 240], [33, 102, 172], (v - 0.5) / 0.5);
  return [rgb(stops), ink(stops)];
}

function countColor(names, matrix) {
  let max = 1;
  for (const a of names) for (const b of names) if (a !== b) max = Math.max(max, (matrix[a] && matrix[a][b]) || 0);
  return (v) => {
    const c = mix([240, 240, 240], [33, 102, 172], Math.sqrt((v || 0) / max));
    return [rgb(c), ink(c)];
  };
}

function mix(from, to, f) {
  return from.map((c, i) => Math.round(c + (to[i] - c) * Math.max(0, Math.min(1, f))));
}

function rgb(c) {
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

function ink(c) {
  const [r, g, b] = c.map((v) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 ? "#000000" : "#ffffff";
}

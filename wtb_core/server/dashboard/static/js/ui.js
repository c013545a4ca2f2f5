// Small DOM helpers: every text goes in as text (never as HTML).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "value") el.value = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function errorBox(err) {
  const message = err && err.message ? err.message : String(err);
  return h("div", { class: "error", role: "alert" }, message);
}

// Runs ``load`` into ``el``: a loading note, then what it returns, or the API's error.
export async function panel(el, load) {
  clear(el, h("p", { class: "muted" }, "Loading…"));
  try {
    const content = await load();
    clear(el, content);
  } catch (err) {
    clear(el, errorBox(err));
  }
}

export function badge(status) {
  return h("span", { class: `badge status-${status}`, dataset: { status } }, status);
}

export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function ms(value) {
  if (value === null || value === undefined) return "–";
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`;
}

export function num(value, digits = 3) {
  return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
}

export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

export function json(value, highlight = new Set()) {
  // A state as key rows; ``highlight`` keys are marked as differing.
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return h("pre", { class: "json" }, pretty(value));
  }
  return h(
    "dl",
    { class: "state" },
    Object.keys(value)
      .sort()
      .map((key) => [
        h("dt", { class: highlight.has(key) ? "differs" : null, dataset: { key } }, key),
        h("dd", { class: highlight.has(key) ? "differs" : null }, h("pre", {}, pretty(value[key]))),
      ]),
  );
}

export function differingKeys(a, b) {
  const keys = new Set([...Object.keys(a || {}), ...Object.keys(b || {})]);
  const out = new Set();
  for (const key of keys) {
    if (!(key in (a || {})) || !(key in (b || {})) || canonical(a[key]) !== canonical(b[key])) {
      out.add(key);
    }
  }
  return out;
}

function canonical(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  return `{${Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
    .join(",")}}`;
}

// Resolves true when the user confirms ``text`` in the page's dialog.
export function confirmAction(text) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
  });
}

// Parses a JSON text area: the value, or throws an Error naming the field.
export function parseJson(text, what, { object = false } = {}) {
  if (!text.trim()) return undefined;
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} is not valid JSON: ${err.message}`);
  }
  if (object && (value === null || typeof value !== "object" || Array.isArray(value))) {
    throw new Error(`${what} must be a JSON object ({"key": value})`);
  }
  return value;
}

export function debounce(fn, wait = 150) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait);
  };
}

export function link(href, ...children) {
  return h("a", { href }, ...children);
}

export function short(id) {
  return id ? id.slice(0, 8) : "";
}

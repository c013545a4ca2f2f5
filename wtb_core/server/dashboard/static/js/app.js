// The dashboard's router: every page has a stable URL (#/executions?status=failed,
// #/executions/<id>?checkpoint=<cp>, #/projects/<name>, #/batches/<id>?baseline=…).

import { api, live, setToken, token, v1 } from "./api.js";
import { clear, h } from "./ui.js";
import * as executions from "./pages/executions.js";
import * as execution from "./pages/execution.js";
import * as projects from "./pages/projects.js";
import * as batches from "./pages/batches.js";
import * as batch from "./pages/batch.js";

const root = document.getElementById("page");
let cleanup = () => {};

export function currentQuery() {
  const hash = location.hash || "#/executions";
  const at = hash.indexOf("?");
  return new URLSearchParams(at < 0 ? "" : hash.slice(at + 1));
}

// Records the page's state in its URL (reload and share keep it) without re-rendering.
export function setQuery(values) {
  const hash = location.hash || "#/executions";
  const path = hash.split("?")[0];
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, value);
  }
  const text = search.toString();
  history.replaceState(null, "", text ? `${path}?${text}` : path);
}

function parse() {
  const hash = (location.hash || "#/executions").slice(1);
  const [path] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, query: currentQuery() };
}

async function route() {
  cleanup();
  cleanup = () => {};
  const { parts, query } = parse();
  const [section, id] = parts;
  for (const a of document.querySelectorAll("[data-nav]")) {
    a.classList.toggle("active", a.dataset.nav === section);
  }
  const page = h("div", { class: "page", dataset: { page: section || "executions" } });
  clear(root, page);
  let done;
  if (section === "executions" && id) done = execution.render(page, id, query);
  else if (section === "projects" && id) done = projects.renderOne(page, id, query);
  else if (section === "projects") done = projects.renderList(page, query);
  else if (section === "batches" && id) done = batch.render(page, id, query);
  else if (section === "batches") done = batches.render(page, query);
  else done = executions.render(page, query);
  const stop = await done;
  if (typeof stop === "function") cleanup = stop;
}

function tokenForm(message) {
  const input = h("input", { type: "password", name: "token", placeholder: "API token", autocomplete: "off" });
  const form = h(
    "form",
    {
      class: "token",
      onsubmit: (event) => {
        event.preventDefault();
        setToken(input.value.trim());
        start();
      },
    },
    h("h1", {}, "This server needs a token"),
    h("p", { class: "muted" }, message),
    input,
    h("button", { class: "primary" }, "Use token"),
  );
  clear(root, form);
}

async function start() {
  const fromUrl = new URLSearchParams(location.search).get("token");
  if (fromUrl) {
    setToken(fromUrl);
    history.replaceState(null, "", location.pathname + location.hash);
  }
  try {
    await api(v1("/plugins"));
  } catch (err) {
    if (err.status === 401) {
      tokenForm(token() ? "The token was refused; enter the one the server was started with." : "Enter the token `wtb serve` was started with (--token or WTB_API_TOKEN).");
      return;
    }
  }
  live.onstate = (state) => {
    const el = document.getElementById("live");
    el.textContent = state;
    el.dataset.state = state;
  };
  window.onhashchange = route;
  route();
}

start();

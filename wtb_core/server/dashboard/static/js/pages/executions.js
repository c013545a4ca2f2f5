// Executions: a filterable, paged list whose statuses follow the event stream.

import { api, live, v1 } from "../api.js";
import { setQuery } from "../app.js";
import { badge, clear, debounce, errorBox, h, link, ms, short, when } from "../ui.js";

const STATUSES = ["", "pending", "running", "paused", "completed", "failed", "cancelled"];
const FILTERS = ["project", "status", "variant", "batch", "q"];

export async function render(page, query) {
  const state = Object.fromEntries(FILTERS.map((k) => [k, query.get(k) || ""]));
  const cursors = [null]; // the cursor of each page seen, for "previous"
  let cursor = query.get("cursor") || null;
  const rows = new Map(); // execution id -> its <tr>

  const projectSelect = h("select", { name: "project" }, h("option", { value: "" }, "any project"));
  const statusSelect = h(
    "select",
    { name: "status" },
    STATUSES.map((s) => h("option", { value: s }, s || "any status")),
  );
  const inputs = {
    project: projectSelect,
    status: statusSelect,
    variant: h("input", { name: "variant", placeholder: "node=variant" }),
    batch: h("input", { name: "batch", placeholder: "batch id" }),
    q: h("input", { name: "q", type: "search", placeholder: "text in state" }),
  };
  const body = h("tbody");
  const pager = h("div", { class: "pager" });
  const notice = h("div", { class: "notice", hidden: true });
  const message = h("div");

  const reload = async () => {
    setQuery({ ...state, cursor });
    try {
      const params = { ...state, limit: 50, cursor };
      if (state.variant) params.variant = state.variant.split(",").map((v) => v.trim());
      const result = await api(v1("/executions"), { params });
      clear(message);
      rows.clear();
      clear(
        body,
        result.items.length
          ? result.items.map((item) => row(item, rows))
          : h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No executions match.")),
      );
      clear(
        pager,
        cursors.length > 1
          ? h("button", { onclick: () => { cursors.pop(); cursor = cursors[cursors.length - 1]; reload(); } }, "← Newer")
          : null,
        result.next_cursor
          ? h("button", { onclick: () => { cursors.push(result.next_cursor); cursor = result.next_cursor; reload(); } }, "Older →")
          : null,
      );
      notice.hidden = true;
    } catch (err) {
      clear(message, errorBox(err));
    }
  };
  const changed = () => {
    for (const key of FILTERS) state[key] = inputs[key].value.trim();
    cursors.splice(1);
    cursor = null;
    reload();
  };
  const typed = debounce(changed, 250);
  for (const [key, el] of Object.entries(inputs)) {
    el.addEventListener(el.tagName === "SELECT" ? "change" : "input", el.tagName === "SELECT" ? changed : typed);
    if (key !== "project") el.value = state[key];
  }

  clear(
    page,
    h("h1", {}, "Executions"),
    h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); changed(); } }, Object.values(inputs)),
    message,
    notice,
    h(
      "table",
      { class: "list", id: "executions" },
      h("thead", {}, h("tr", {}, ["Execution", "Project", "Status", "Variants", "Created", "Duration"].map((t) => h("th", {}, t)))),
      body,
    ),
    pager,
  );

  api(v1("/projects"))
    .then((projects) => {
      for (const p of projects) projectSelect.append(h("option", { value: p.name }, p.name));
      projectSelect.value = state.project;
    })
    .catch((err) => clear(message, errorBox(err)));
  await reload();

  // Live: a listed execution's row follows its status; new ones are announced.
  const refreshRow = debounce(async (id) => {
    const tr = rows.get(id);
    if (!tr) return;
    try {
      const item = await api(v1(`/executions/${encodeURIComponent(id)}`));
      tr.replaceWith(row(item, rows));
    } catch {
      /* deleted meanwhile: the next reload drops it */
    }
  }, 100);
  let fresh = 0;
  return live.subscribe(["*"], (event) => {
    if (!event.type.startsWith("execution_")) return;
    if (rows.has(event.execution_id)) refreshRow(event.execution_id);
    else if (event.type === "execution_started" && !cursor) {
      fresh += 1;
      clear(notice, h("a", { href: "#", onclick: (e) => { e.preventDefault(); fresh = 0; reload(); } }, `${fresh} new — show`));
      notice.hidden = false;
    }
  });
}

function row(item, rows) {
  const variants = Object.entries(item.variant_config || {}).map(([n, v]) => `${n}=${v}`);
  if (item.workflow_variant) variants.unshift(`_workflow=${item.workflow_variant}`);
  const tr = h(
    "tr",
    { dataset: { execution: item.execution_id, status: item.status } },
    h("td", {}, link(`#/executions/${encodeURIComponent(item.execution_id)}`, short(item.execution_id)), item.parent_execution_id ? h("span", { class: "muted" }, " fork") : null),
    h("td", {}, link(`#/projects/${encodeURIComponent(item.project)}`, item.project)),
    h("td", {}, badge(item.status)),
    h("td", {}, variants.join(", ") || h("span", { class: "muted" }, "default")),
    h("td", {}, when(item.created_at)),
    h("td", {}, ms(item.duration_ms)),
  );
  rows.set(item.execution_id, tr);
  return tr;
}

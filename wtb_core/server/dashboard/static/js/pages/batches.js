// Batches: the list, each with a progress bar the event stream moves.

import { api, live, v1 } from "../api.js";
import { setQuery } from "../app.js";
import { badge, clear, errorBox, h, link, short, when } from "../ui.js";

export function progress(done, failed, total) {
  const pct = total ? Math.round((100 * done) / total) : 0;
  return h(
    "div",
    { class: "progress", role: "progressbar", "aria-valuenow": done, "aria-valuemax": total, dataset: { done, failed, total } },
    h("div", { class: "bar", style: `width:${pct}%` }),
    h("span", {}, `${done}/${total}${failed ? ` · ${failed} failed` : ""}`),
  );
}

export async function render(page, query) {
  const project = query.get("project") || "";
  const body = h("tbody");
  const message = h("div");
  const bars = new Map(); // batch id -> its progress cell
  const statuses = new Map();
  const pending = new Set(); // unlisted batches whose events have asked for a reload
  clear(
    page,
    h("h1", {}, "Batches", project ? ` of ${project}` : ""),
    message,
    h(
      "table",
      { class: "list", id: "batches" },
      h("thead", {}, h("tr", {}, ["Batch", "Project", "Status", "Progress", "Combinations", "Created"].map((t) => h("th", {}, t)))),
      body,
    ),
  );
  const reload = async () => {
    setQuery({ project });
    try {
      const batches = await api(v1("/batches"), { params: { project } });
      bars.clear();
      clear(
        body,
        batches.length
          ? batches.map((b) => {
              const cell = h("td", {}, progress(b.finished_cells, b.failed_cells, b.total_cells));
              const status = h("td", {}, badge(b.status));
              bars.set(b.batch_id, cell);
              statuses.set(b.batch_id, status);
              return h(
                "tr",
                { dataset: { batch: b.batch_id } },
                h("td", {}, link(`#/batches/${encodeURIComponent(b.batch_id)}`, short(b.batch_id))),
                h("td", {}, b.project),
                status,
                cell,
                h("td", {}, b.combination_labels.join(", ")),
                h("td", {}, when(b.created_at)),
              );
            })
          : h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No batches yet.")),
      );
    } catch (err) {
      clear(message, errorBox(err));
    }
  };
  await reload();
  return live.subscribe([project ? `project:${project}` : "*"], (event) => {
    if (!event.type.startsWith("batch_")) return;
    const cell = bars.get(event.batch_id);
    if (!cell) {
      // a batch not listed yet (its start may have come before the socket subscribed)
      if (!pending.has(event.batch_id)) {
        pending.add(event.batch_id);
        reload().then(() => pending.delete(event.batch_id));
      }
      return;
    }
    const { done, failed, total, status } = event.data;
    clear(cell, progress(done, failed, total));
    if (event.type === "batch_finished") clear(statuses.get(event.batch_id), badge(status));
  });
}

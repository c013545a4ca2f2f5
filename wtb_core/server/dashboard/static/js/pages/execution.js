// One execution: its checkpoint tree, the selected checkpoint's state, changes, pending
// interrupts, audit entries and files, and the time-travel actions — live while it runs.

import { api, live, v1 } from "../api.js";
import { setQuery } from "../app.js";
import { timeline } from "../timeline.js";
import {
  badge,
  clear,
  confirmAction,
  debounce,
  errorBox,
  h,
  json,
  link,
  ms,
  parseJson,
  pretty,
  short,
  when,
} from "../ui.js";

export async function render(page, executionId, query) {
  const path = (p = "") => v1(`/executions/${encodeURIComponent(executionId)}${p}`);
  let selected = query.get("checkpoint");
  let execution = null;
  let checkpoints = [];
  let audit = [];
  let files = [];

  const header = h("section", { class: "header" });
  const actions = h("section", { class: "actions" });
  const message = h("div");
  const tree = h("section", { class: "tree" });
  const detail = h("section", { class: "detail" });
  clear(header, h("h1", {}, "Execution ", h("code", {}, executionId)), h("p", { class: "muted" }, "Loading…"));
  clear(page, header, message, actions, h("div", { class: "split" }, tree, detail));

  const show = (err) => clear(message, errorBox(err));

  async function load() {
    const [e, cps, trail, snaps, forks] = await Promise.all([
      api(path()),
      api(path("/checkpoints"), { params: { all_branches: true } }),
      api(path("/audit")),
      api(path("/files")),
      api(v1("/executions"), { params: { parent: executionId, limit: 100 } }),
    ]);
    execution = e;
    checkpoints = cps;
    audit = trail;
    files = snaps;
    if (!selected || !checkpoints.some((c) => c.checkpoint_id === selected)) {
      selected = execution.checkpoint_id || (checkpoints.at(-1) || {}).checkpoint_id || null;
    }
    drawHeader(forks.items);
    drawActions();
    drawTree();
    await drawDetail();
  }

  function drawHeader(forks) {
    const e = execution;
    const variants = Object.entries(e.variant_config || {}).map(([n, v]) => `${n}=${v}`);
    clear(
      header,
      h("h1", {}, "Execution ", h("code", {}, e.execution_id), " ", badge(e.status)),
      h(
        "p",
        { class: "meta" },
        "Project ",
        link(`#/projects/${encodeURIComponent(e.project)}`, e.project),
        e.project_version ? ` (version ${e.project_version})` : "",
        variants.length ? ` · variants ${variants.join(", ")}` : "",
        e.workflow_variant ? ` · workflow variant ${e.workflow_variant}` : "",
        ` · ${ms(e.duration_ms)} · created ${when(e.created_at)}`,
      ),
      e.parent_execution_id
        ? h("p", { class: "meta" }, "Forked from ", link(`#/executions/${encodeURIComponent(e.parent_execution_id)}`, short(e.parent_execution_id)))
        : null,
      forks.length
        ? h("p", { class: "meta forks" }, "Forks: ", forks.map((f, i) => [i ? ", " : "", link(`#/executions/${encodeURIComponent(f.execution_id)}`, short(f.execution_id))]))
        : null,
      e.error ? h("pre", { class: "error" }, e.error) : null,
    );
  }

  async function act(label, call, { navigate = false } = {}) {
    clear(message);
    try {
      const result = await call();
      if (navigate && result && result.execution_id !== executionId) {
        location.hash = `#/executions/${encodeURIComponent(result.execution_id)}`;
        return;
      }
      await load();
    } catch (err) {
      show(new Error(`${label} failed — ${err.message}`));
    }
  }

  function drawActions() {
    const e = execution;
    const running = e.status === "running";
    const resumable = ["paused", "failed", "cancelled", "pending"].includes(e.status);
    const buttons = h(
      "div",
      { class: "buttons" },
      h("button", { disabled: !running, onclick: async () => {
        if (await confirmAction(`Pause ${short(executionId)} at its next node boundary?`)) act("Pause", () => api(path("/pause"), { method: "POST" }));
      } }, "Pause"),
      h("button", { disabled: !running, onclick: async () => {
        if (await confirmAction(`Stop ${short(executionId)}? It ends as cancelled at its next node boundary.`)) act("Stop", () => api(path("/stop"), { method: "POST" }));
      } }, "Stop"),
      h("button", { disabled: running || !selected, onclick: async () => {
        if (await confirmAction(`Roll ${short(executionId)} back to checkpoint ${short(selected)}? State and tracked files return to it; the execution pauses there.`)) act("Roll back", () => api(path("/rollback"), { method: "POST", body: { checkpoint_id: selected } }));
      } }, "Roll back here"),
    );
    const resumeAnswer = h("textarea", { name: "resume", rows: 3, placeholder: e.interrupts.length ? "answer to the interrupt (JSON), e.g. \"yes\"" : "no interrupt waits" });
    const resumeUpdates = h("textarea", { name: "updates", rows: 3, placeholder: 'state edits (JSON object), e.g. {"query": "other"}' });
    const resumeForm = h(
      "form",
      { class: "resume", onsubmit: async (event) => {
        event.preventDefault();
        let body;
        try {
          body = { resume: parseJson(resumeAnswer.value, "The answer"), updates: parseJson(resumeUpdates.value, "The state edits", { object: true }) };
        } catch (err) {
          show(err);
          return;
        }
        const what = body.resume !== undefined ? `answer ${pretty(body.resume)}` : "no answer";
        if (await confirmAction(`Resume ${short(executionId)} with ${what}${body.updates ? ` and edits to ${Object.keys(body.updates).join(", ")}` : ""}?`)) {
          act("Resume", () => api(path("/resume"), { method: "POST", params: { wait: true }, body }));
        }
      } },
      h("h3", {}, "Resume"),
      e.interrupts.length ? h("ul", { class: "interrupts" }, e.interrupts.map((i) => h("li", {}, h("b", {}, i.node), ": ", h("code", {}, pretty(i.value))))) : null,
      resumeAnswer,
      resumeUpdates,
      h("button", { disabled: !resumable, class: "primary" }, "Resume"),
    );
    const forkUpdates = h("textarea", { name: "fork-updates", rows: 3, placeholder: "state edits for the fork (JSON object, optional)" });
    const forkForm = h(
      "form",
      { class: "fork", onsubmit: async (event) => {
        event.preventDefault();
        let updates;
        try {
          updates = parseJson(forkUpdates.value, "The fork's state edits", { object: true });
        } catch (err) {
          show(err);
          return;
        }
        if (await confirmAction(`Fork a new execution from checkpoint ${short(selected)}${updates ? ` with edits to ${Object.keys(updates).join(", ")}` : ""}?`)) {
          act("Fork", () => api(path("/fork"), { method: "POST", body: { checkpoint_id: selected, updates } }), { navigate: true });
        }
      } },
      h("h3", {}, "Fork from the selected checkpoint"),
      forkUpdates,
      h("button", { disabled: !selected }, "Fork"),
    );
    clear(actions, buttons, h("div", { class: "forms" }, resumeForm, forkForm));
  }

  function drawTree() {
    clear(tree, h("h2", {}, "Timeline"), timeline(checkpoints, execution.checkpoint_id, selected, select));
  }

  async function select(checkpointId) {
    selected = checkpointId;
    setQuery({ checkpoint: selected });
    drawActions();
    drawTree();
    await drawDetail();
  }

  async function drawDetail() {
    const c = checkpoints.find((x) => x.checkpoint_id === selected);
    if (!c) {
      clear(detail, h("p", { class: "muted" }, "No checkpoint yet."));
      return;
    }
    const changes = h("div", {}, h("p", { class: "muted" }, "Loading…"));
    const interrupts = h("div");
    const entries = audit.filter((a) => a.checkpoint_id === c.checkpoint_id);
    clear(
      detail,
      h("h2", {}, "Checkpoint ", h("code", {}, short(c.checkpoint_id))),
      h("p", { class: "meta" }, `step ${c.step} · ${c.source} · ${c.nodes.join(" ‖ ") || "no node"} · next ${c.next.join(", ") || "none"} · ${when(c.created_at)}`),
      h("h3", {}, "Changed keys"),
      changes,
      interrupts,
      h("h3", {}, "State"),
      json(c.values),
      h("h3", {}, "Audit"),
      entries.length
        ? h("ul", { class: "audit" }, entries.map((a) => h("li", { class: `sev-${a.severity}` }, `${when(a.timestamp)} ${a.event_type}${a.node ? ` ${a.node}` : ""} ${a.message || ""}`)))
        : h("p", { class: "muted" }, "No audit entries at this checkpoint."),
      filesPanel(c),
    );
    const parent = c.parent_checkpoint_id;
    if (parent && checkpoints.some((x) => x.checkpoint_id === parent)) {
      api(path("/diff"), { params: { from: parent, to: c.checkpoint_id } })
        .then((diff) => clear(changes, diffTable(diff.changes)))
        .catch((err) => clear(changes, errorBox(err)));
    } else clear(changes, h("p", { class: "muted" }, "The first checkpoint: nothing before it."));
    const pending = c.checkpoint_id === execution.checkpoint_id
      ? Promise.resolve(execution.interrupts)
      : api(`/threads/${encodeURIComponent(executionId)}/state/${encodeURIComponent(c.checkpoint_id)}`).then((s) =>
          (s.interrupts || []).map((i) => ({ node: (s.tasks.find((t) => (t.interrupts || []).some((x) => x.id === i.id)) || {}).name || "", value: i.value, id: i.id })),
        );
    pending
      .then((list) => list.length && clear(interrupts, h("h3", {}, "Pending interrupts"), h("ul", { class: "interrupts" }, list.map((i) => h("li", {}, h("b", {}, i.node), ": ", h("code", {}, pretty(i.value)))))))
      .catch((err) => clear(interrupts, errorBox(err)));
  }

  function filesPanel(c) {
    if (!files.length) return null;
    const snap = files.find((f) => f.checkpoint_id === c.checkpoint_id);
    const before = files.find((f) => f.checkpoint_id === c.parent_checkpoint_id);
    if (!snap) return h("div", {}, h("h3", {}, "Files"), h("p", { class: "muted" }, "No file snapshot at this checkpoint."));
    const rows = Object.keys({ ...snap.files, ...((before && before.files) || {}) })
      .sort()
      .map((p) => {
        const was = before ? before.files[p] : undefined;
        const now = snap.files[p];
        const change = !before ? "" : was === undefined ? "added" : now === undefined ? "removed" : was !== now ? "changed" : "";
        return h("tr", { class: change }, h("td", {}, p), h("td", {}, now ? now.slice(0, 12) : "–"), h("td", {}, change));
      });
    return h("div", {}, h("h3", {}, "Files"), h("table", { class: "files" }, h("thead", {}, h("tr", {}, h("th", {}, "Path"), h("th", {}, "SHA-256"), h("th", {}, "vs parent"))), h("tbody", {}, rows)));
  }

  try {
    await load();
  } catch (err) {
    clear(page, h("h1", {}, "Execution ", h("code", {}, executionId)), errorBox(err));
    return undefined;
  }
  const refresh = debounce(() => load().catch(show), 150);
  return live.subscribe([`execution:${executionId}`], refresh);
}

function diffTable(changes) {
  if (!changes.length) return h("p", { class: "muted" }, "No key changed.");
  return h(
    "table",
    { class: "diff" },
    h("thead", {}, h("tr", {}, h("th", {}, "Key"), h("th", {}, "Change"), h("th", {}, "Before"), h("th", {}, "After"))),
    h(
      "tbody",
      {},
      changes.map((c) =>
        h("tr", { class: c.change, dataset: { key: c.key } }, h("td", {}, c.key), h("td", {}, c.change), h("td", {}, h("pre", {}, c.change === "added" ? "" : pretty(c.before))), h("td", {}, h("pre", {}, c.change === "removed" ? "" : pretty(c.after)))),
      ),
    ),
  );
}

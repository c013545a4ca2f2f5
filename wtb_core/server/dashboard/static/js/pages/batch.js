// One batch: live progress, the comparison against a chosen baseline, the per-case grid
// (paged on the server) and two combinations' final states side by side.

import { api, live, v1 } from "../api.js";
import { setQuery } from "../app.js";
import { progress } from "./batches.js";
import { badge, clear, debounce, differingKeys, errorBox, h, json, link, ms, num, short } from "../ui.js";

const PAGE_CASES = 50;

export async function render(page, batchId, query) {
  const path = (p = "") => v1(`/batches/${encodeURIComponent(batchId)}${p}`);
  const state = {
    baseline: query.get("baseline") || "",
    failures: query.get("failures") === "1",
    metric: query.get("metric") || "",
    below: query.get("below") || "",
    combination: query.get("combination") || "",
    case: query.get("case") || "",
    offset: Number(query.get("offset") || 0),
    a: query.get("a") || "",
    b: query.get("b") || "",
  };
  let summary;
  try {
    summary = await api(path());
  } catch (err) {
    clear(page, h("h1", {}, "Batch ", h("code", {}, batchId)), errorBox(err));
    return undefined;
  }
  const labels = summary.combination_labels;
  const head = h("section", { class: "header" });
  const comparison = h("section", { id: "comparison" });
  const grid = h("section", { id: "grid" });
  const pairs = h("section", { id: "pairs" });
  const remember = () => setQuery({ ...state, failures: state.failures ? "1" : "", offset: state.offset || "" });

  const drawHead = () =>
    clear(
      head,
      h("h1", {}, "Batch ", h("code", {}, short(batchId)), " ", badge(summary.status)),
      h("p", { class: "meta" }, "Project ", link(`#/projects/${encodeURIComponent(summary.project)}`, summary.project), ` · ${labels.length} combinations · `, link(`#/executions?batch=${encodeURIComponent(batchId)}`, "its executions")),
      progress(summary.finished_cells, summary.failed_cells, summary.total_cells),
      summary.error ? h("pre", { class: "error" }, summary.error) : null,
    );

  const select = (name, value, options, onchange) => {
    const el = h("select", { name, onchange: (e) => onchange(e.target.value) }, options.map(([v, t]) => h("option", { value: v }, t)));
    el.value = value;
    return el;
  };

  let metrics = [];
  async function drawComparison() {
    try {
      const result = await api(path("/comparison"), { params: { baseline: state.baseline } });
      metrics = [...new Set(result.combinations.flatMap((c) => Object.keys(c.metrics)))].sort();
      const paired = new Map(result.paired.map((p) => [p.combination_index, p]));
      clear(
        comparison,
        h("h2", {}, "Comparison"),
        h("label", {}, "Baseline ", select("baseline", result.baseline_label || "", labels.map((l) => [l, l]), (v) => { state.baseline = v; remember(); drawComparison(); })),
        h(
          "table",
          { class: "list comparison" },
          h("thead", {}, h("tr", {}, ["Combination", "n", "Success", ...metrics.flatMap((m) => [`${m} mean [95% CI]`, `${m} Δ vs baseline`, `${m} p`]), "p50", "p95", "Flaky cases"].map((t) => h("th", {}, t)))),
          h(
            "tbody",
            {},
            result.combinations.map((c) => {
              const p = paired.get(c.combination_index);
              return h(
                "tr",
                { dataset: { combination: c.combination_label }, class: c.combination_label === result.baseline_label ? "baseline" : "" },
                h("td", {}, c.combination_label),
                h("td", { dataset: { field: "n" } }, c.n),
                h("td", { dataset: { field: "success" } }, num(c.success_rate)),
                metrics.flatMap((m) => {
                  const s = c.metrics[m];
                  const d = p && p.metrics[m];
                  return [
                    h("td", { dataset: { field: `${m}.mean` } }, s ? `${num(s.mean)}${s.ci ? ` [${num(s.ci[0])}, ${num(s.ci[1])}]` : ""}` : "–"),
                    h("td", { dataset: { field: `${m}.delta` } }, d ? num(d.delta) : "–"),
                    h("td", { dataset: { field: `${m}.p` } }, d ? num(d.p_value) : "–"),
                  ];
                }),
                h("td", {}, ms(c.latency_p50_ms)),
                h("td", {}, ms(c.latency_p95_ms)),
                h("td", {}, c.flaky_cases.map((f) => `${f.case} (${f.passes}/${f.runs})`).join(", ")),
              );
            }),
          ),
        ),
      );
    } catch (err) {
      clear(comparison, h("h2", {}, "Comparison"), errorBox(err));
    }
  }

  async function drawGrid() {
    const metricSelect = select("metric", "", [["", "any score"]], (v) => { state.metric = v; state.offset = 0; drawGrid(); });
    const filters = h(
      "form",
      { class: "filters", onsubmit: (e) => e.preventDefault() },
      h("label", {}, h("input", { type: "checkbox", name: "failures", checked: state.failures, onchange: (e) => { state.failures = e.target.checked; state.offset = 0; drawGrid(); } }), " failures only"),
      metricSelect,
      h("input", { name: "below", type: "number", step: "any", placeholder: "below", value: state.below, onchange: (e) => { state.below = e.target.value; state.offset = 0; drawGrid(); } }),
      select("combination", state.combination, [["", "every combination"], ...labels.map((l) => [l, l])], (v) => { state.combination = v; state.offset = 0; drawGrid(); }),
      h("input", { name: "case", type: "search", placeholder: "case name", value: state.case, onchange: (e) => { state.case = e.target.value.trim(); state.offset = 0; drawGrid(); } }),
    );
    const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
    clear(grid, h("h2", {}, "Cases × combinations"), filters, body);
    remember();
    const scored = state.metric && state.below !== "";
    const limit = Math.min(1000, PAGE_CASES * Math.max(1, labels.length));
    try {
      const page = await api(path("/rows"), {
        params: {
          order: "case",
          limit,
          offset: state.offset,
          status: state.failures ? "failed" : "",
          metric: scored ? state.metric : "",
          below: scored ? state.below : "",
          combination: state.combination,
          case: state.case,
        },
      });
      const names = new Set([...metrics, ...page.items.flatMap((r) => Object.keys(r.scores)), state.metric].filter(Boolean));
      for (const m of [...names].sort()) metricSelect.append(h("option", { value: m }, m));
      metricSelect.value = state.metric;
      const shown = state.combination ? [state.combination] : labels;
      const cases = new Map();
      for (const row of page.items) {
        if (!cases.has(row.case_index)) cases.set(row.case_index, { name: row.case, cells: new Map() });
        const cells = cases.get(row.case_index).cells;
        if (!cells.has(row.combination_label)) cells.set(row.combination_label, []);
        cells.get(row.combination_label).push(row);
      }
      clear(
        body,
        h("p", { class: "muted", id: "grid-total" }, `${page.total} rows match`),
        h(
          "table",
          { class: "grid" },
          h("thead", {}, h("tr", {}, h("th", {}, "Case"), shown.map((l) => h("th", {}, l)))),
          h(
            "tbody",
            {},
            [...cases.values()].map(({ name, cells }) =>
              h("tr", { dataset: { case: name } }, h("th", {}, name), shown.map((l) => h("td", {}, (cells.get(l) || []).map(cell)))),
            ),
          ),
        ),
        h(
          "div",
          { class: "pager" },
          state.offset > 0 ? h("button", { onclick: () => { state.offset = Math.max(0, state.offset - limit); drawGrid(); } }, "← Previous") : null,
          page.next_offset !== null ? h("button", { onclick: () => { state.offset = page.next_offset; drawGrid(); } }, "Next →") : null,
        ),
      );
    } catch (err) {
      clear(body, errorBox(err));
    }
  }

  async function drawPairs() {
    const pick = (name, value) => select(name, value, [["", "choose…"], ...labels.map((l) => [l, l])], (v) => { state[name] = v; remember(); drawPairs(); });
    const body = h("div");
    clear(pairs, h("h2", {}, "Two combinations, case by case"), h("p", {}, pick("a", state.a), " vs ", pick("b", state.b)), body);
    if (!state.a || !state.b) return;
    try {
      const fetchRows = (combination) => api(path("/rows"), { params: { combination, order: "case", limit: 200 } });
      const [left, right] = await Promise.all([fetchRows(state.a), fetchRows(state.b)]);
      const other = new Map(right.items.map((r) => [`${r.case_index}/${r.repetition}`, r]));
      clear(
        body,
        left.items.map((l) => {
          const r = other.get(`${l.case_index}/${l.repetition}`);
          const differs = differingKeys(l.state, r ? r.state : {});
          return h(
            "div",
            { class: "pair", dataset: { case: l.case, differs: [...differs].sort().join(",") } },
            h("h3", {}, l.case, l.repetition ? ` (repetition ${l.repetition})` : "", differs.size ? ` · ${differs.size} keys differ` : " · same"),
            h("div", { class: "side-by-side" }, h("div", {}, h("h4", {}, state.a), json(l.state, differs)), h("div", {}, h("h4", {}, state.b), r ? json(r.state, differs) : h("p", { class: "muted" }, "not run"))),
          );
        }),
      );
    } catch (err) {
      clear(body, errorBox(err));
    }
  }

  clear(page, head, comparison, grid, pairs);
  drawHead();
  await Promise.all([drawComparison(), drawGrid(), drawPairs()]);

  const refresh = debounce(async () => {
    try {
      summary = await api(path());
      drawHead();
      await drawComparison();
      await drawGrid();
    } catch {
      /* shown by the next successful refresh */
    }
  }, 500);
  return live.subscribe([`batch:${batchId}`], (event) => {
    if (!event.type.startsWith("batch_")) return;
    const { done, failed, total } = event.data;
    summary = { ...summary, finished_cells: done, failed_cells: failed, total_cells: total, status: event.data.status || summary.status };
    drawHead();
    if (event.type === "batch_finished") refresh();
  });
}

function cell(row) {
  const scores = Object.entries(row.scores).map(([m, v]) => `${m} ${num(v, 2)}`).join(" · ");
  const low = Object.values(row.scores).some((v) => v < 0.5);
  return h(
    "a",
    {
      class: `cell status-${row.status}${low ? " low" : ""}`,
      href: row.execution_id ? `#/executions/${encodeURIComponent(row.execution_id)}` : null,
      title: `${row.combination_label} · ${row.case}${row.repetition ? ` #${row.repetition}` : ""} · ${row.status}${row.error ? ` · ${row.error}` : ""}`,
      dataset: { status: row.status, combination: row.combination_label },
    },
    row.status === "completed" ? "✓" : "✗",
    scores ? h("small", {}, ` ${scores}`) : null,
  );
}

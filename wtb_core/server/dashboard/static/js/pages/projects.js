// Projects: the list, and one project's graph (Mermaid), variants and version history.

import { api, v1 } from "../api.js";
import { clear, errorBox, h, link, panel, when } from "../ui.js";

export async function renderList(page) {
  const body = h("div");
  clear(page, h("h1", {}, "Projects"), body);
  await panel(body, async () => {
    const projects = await api(v1("/projects"));
    if (!projects.length) return h("p", { class: "muted" }, "No project is registered.");
    return h(
      "table",
      { class: "list", id: "projects" },
      h("thead", {}, h("tr", {}, ["Project", "Nodes", "Version", "Description"].map((t) => h("th", {}, t)))),
      h(
        "tbody",
        {},
        projects.map((p) =>
          h(
            "tr",
            {},
            h("td", {}, link(`#/projects/${encodeURIComponent(p.name)}`, p.name)),
            h("td", {}, p.error ? h("span", { class: "error" }, p.error) : p.nodes.join(", ")),
            h("td", {}, p.current_version || ""),
            h("td", {}, p.description),
          ),
        ),
      ),
    );
  });
}

let mermaidLoading = null;

function loadMermaid() {
  // Loaded on first use only: the rest of the dashboard does without it.
  if (!mermaidLoading) {
    mermaidLoading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "/dashboard/vendor/mermaid/mermaid.min.js";
      script.onload = () => {
        window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral" });
        resolve(window.mermaid);
      };
      script.onerror = () => reject(new Error("the graph renderer (Mermaid) did not load"));
      document.head.append(script);
    });
  }
  return mermaidLoading;
}

export async function renderOne(page, name, query) {
  const graph = h("div", { class: "graph", id: "graph" });
  const info = h("div");
  const workflowVariant = query.get("workflow_variant");
  clear(page, h("h1", {}, "Project ", h("code", {}, name)), info, h("h2", {}, "Graph"), graph);
  let project;
  try {
    project = await api(v1(`/projects/${encodeURIComponent(name)}`));
  } catch (err) {
    clear(info, errorBox(err));
    clear(graph);
    return;
  }
  clear(
    info,
    project.description ? h("p", {}, project.description) : null,
    h("p", { class: "meta" }, `Current version ${project.current_version} · `, link(`#/executions?project=${encodeURIComponent(name)}`, "its executions"), " · ", link(`#/batches?project=${encodeURIComponent(name)}`, "its batches")),
    h("h2", {}, "Nodes and variants"),
    h(
      "table",
      { class: "list", id: "variants" },
      h("thead", {}, h("tr", {}, h("th", {}, "Node"), h("th", {}, "Variants"))),
      h("tbody", {}, project.nodes.map((n) => h("tr", {}, h("td", {}, n), h("td", {}, (project.variants[n] || ["default"]).join(", "))))),
    ),
    project.workflow_variants.length
      ? h("p", {}, "Workflow variants: ", project.workflow_variants.map((w, i) => [i ? ", " : "", link(`#/projects/${encodeURIComponent(name)}?workflow_variant=${encodeURIComponent(w)}`, w)]))
      : null,
    h("h2", {}, "Version history"),
    h(
      "table",
      { class: "list", id: "versions" },
      h("thead", {}, h("tr", {}, ["#", "Version", "Kind", "Node", "Reason", "When"].map((t) => h("th", {}, t)))),
      h(
        "tbody",
        {},
        project.versions.map((v) =>
          h("tr", {}, h("td", {}, v.number), h("td", {}, v.version), h("td", {}, v.kind), h("td", {}, v.node || ""), h("td", {}, v.reason || v.changelog), h("td", {}, when(v.created_at))),
        ),
      ),
    ),
  );
  try {
    const { mermaid: text } = await api(v1(`/projects/${encodeURIComponent(name)}/graph`), {
      params: { workflow_variant: workflowVariant },
    });
    const mermaid = await loadMermaid();
    const { svg } = await mermaid.render(`g${Date.now()}`, text);
    graph.innerHTML = svg; // Mermaid's own output, rendered with securityLevel "strict"
    graph.append(h("details", {}, h("summary", {}, "Mermaid text"), h("pre", {}, text)));
  } catch (err) {
    clear(graph, errorBox(err));
  }
}

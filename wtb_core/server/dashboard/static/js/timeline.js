// The checkpoint timeline as a tree: every branch rollbacks left, the head's line first.

import { h } from "./ui.js";

// Orders ``checkpoints`` (each with checkpoint_id, parent_checkpoint_id, created_at) depth
// first, the head's lineage on lane 0 and each other branch on a lane of its own.
// Returns [{checkpoint, lane, depth, branchStart}] and the number of branches (leaves).
export function layout(checkpoints, headId) {
  const byId = new Map(checkpoints.map((c) => [c.checkpoint_id, c]));
  const children = new Map();
  const roots = [];
  for (const c of checkpoints) {
    const parent = c.parent_checkpoint_id;
    if (parent && byId.has(parent)) {
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(c);
    } else roots.push(c);
  }
  const onHead = new Set();
  for (let c = byId.get(headId); c; c = byId.get(c.parent_checkpoint_id)) onHead.add(c.checkpoint_id);
  const order = (list) =>
    [...list].sort(
      (a, b) =>
        onHead.has(b.checkpoint_id) - onHead.has(a.checkpoint_id) ||
        String(a.created_at).localeCompare(String(b.created_at)),
    );

  const rows = [];
  let lanes = 0;
  let leaves = 0;
  // Iterative depth-first walk (a 500-checkpoint line must not blow the stack); a
  // branch's lane is numbered when the walk reaches it.
  const stack = order(roots)
    .reverse()
    .map((c) => ({ c, lane: null, depth: 0, start: false }));
  while (stack.length) {
    const item = stack.pop();
    const lane = item.lane === null ? lanes++ : item.lane;
    rows.push({ checkpoint: item.c, lane, depth: item.depth, branchStart: item.start });
    const kids = order(children.get(item.c.checkpoint_id) || []);
    if (!kids.length) leaves += 1;
    for (let i = kids.length - 1; i >= 0; i -= 1) {
      stack.push({ c: kids[i], lane: i === 0 ? lane : null, depth: item.depth + 1, start: i > 0 });
    }
  }
  return { rows, branches: leaves, lanes };
}

export function timeline(checkpoints, headId, selectedId, onSelect) {
  const { rows, branches } = layout(checkpoints, headId);
  const list = h(
    "ol",
    { class: "timeline", dataset: { checkpoints: rows.length, branches } },
    rows.map(({ checkpoint: c, lane, branchStart }) => {
      const nodes = c.nodes.length ? c.nodes : [c.source === "input" ? "input" : c.source];
      const item = h(
        "li",
        {
          class: [
            "cp",
            c.checkpoint_id === headId ? "head" : "",
            c.checkpoint_id === selectedId ? "selected" : "",
            branchStart ? "branch-start" : "",
            c.nodes.length > 1 ? "parallel" : "",
          ].join(" "),
          style: `--lane:${lane}`,
          tabindex: 0,
          dataset: { checkpoint: c.checkpoint_id, lane, step: c.step },
          onclick: () => onSelect(c.checkpoint_id),
          onkeydown: (e) => e.key === "Enter" && onSelect(c.checkpoint_id),
        },
        h("span", { class: "dot" }),
        h("span", { class: "step" }, `step ${c.step}`),
        h("span", { class: "nodes" }, nodes.join(" ‖ ")),
        c.checkpoint_id === headId ? h("span", { class: "tag" }, "head") : null,
        branchStart ? h("span", { class: "tag branch" }, "branch") : null,
        c.next.length ? h("span", { class: "muted" }, ` → ${c.next.join(", ")}`) : null,
      );
      return item;
    }),
  );
  return h(
    "div",
    {},
    h("p", { class: "muted summary" }, `${rows.length} checkpoints, ${branches} branch${branches === 1 ? "" : "es"}`),
    list,
  );
}

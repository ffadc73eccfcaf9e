// The side panel: a weight's or bias's chain rule (chainrule.explain, computed by the server),
// a neuron's incoming weights and ∂L/∂z, and the "show code" dialog.
//
// The names are explain's own (z before an activation, a after, W and b with the layer's
// index in Model.layers), the ones the drawing writes above its columns. Hovering a row of
// the chain lights the part of the drawing it passes through; "step" walks the chain from
// ∂L/∂z of the output back to the parameter, one local derivative at a time, with the
// numbers of one sample.

import { format } from "./network.js";

/** A list of numbers, a per-sample table (first sample shown) or one number, as text. */
function show(values) {
  if (values === null || values === undefined) return "";
  if (!Array.isArray(values)) return format(values);
  if (values.length && Array.isArray(values[0])) {
    const row = values[0];
    return `[${row.slice(0, 3).map(format).join(", ")}${row.length > 3 ? ", …" : ""}]`;
  }
  return values.slice(0, 3).map(format).join("   ") + (values.length > 3 ? "   …" : "");
}

/** One sample's value (a number or a vector) of a per-sample list, as text. */
function one(values, sample) {
  if (values === null || values === undefined) return "—";
  const value = Array.isArray(values) ? values[sample] : values;
  if (Array.isArray(value)) {
    return `[${value.slice(0, 4).map(format).join(", ")}${value.length > 4 ? ", …" : ""}]`;
  }
  return format(value);
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function row(table, step, symbol, quantity, numbers, rule) {
  const tr = element("tr");
  if (step !== null) tr.dataset.step = step;
  // The rule under its quantity: the panel may be narrow, and the numbers need the room.
  const what = element("td", undefined, "quantity");
  what.append(element("div", quantity));
  if (rule) what.append(element("div", rule, "rule"));
  tr.append(element("td", symbol, "op"), what, element("td", numbers, "numbers"));
  table.append(tr);
  return tr;
}

/**
 * What each step of the chain passes through in the drawing.
 * @returns {Array<Array<object>>}  per step, parts for NetworkPicture.light
 */
export function stepParts(e, network) {
  const dense = (m) => network.dense_layers.indexOf(m);
  // The Dense layer at or below model layer m (an activation belongs to the one below it).
  const below = (m) => network.dense_layers.filter((l) => l <= m).length - 1;
  const k = dense(e.layer);
  const column = e.index[1];
  const last = network.dense_layers.length - 1;
  // Up to the first layer above θ's that mixes its inputs, the chain follows one neuron.
  const sums = e.steps.filter((s) => s.kind === "sum").map((s) => s.layer);
  const nearest = sums.length ? Math.min(...sums) : Infinity;
  const parameter = e.param === "weights"
    ? [{ kind: "weight", dense: k, i: e.index[0], j: column }, { kind: "neuron", dense: k, j: column }]
    : [{ kind: "bias", dense: k, j: column }, { kind: "neuron", dense: k, j: column }];
  return e.steps.map((s) => {
    if (s.kind === "loss") {
      return [{ kind: "neuron", dense: last, j: nearest === Infinity ? column : undefined }];
    }
    if (s.kind === "sum") {
      const d = dense(s.layer);
      return [{ kind: "weight", dense: d, i: s.layer === nearest ? column : undefined },
              { kind: "neuron", dense: d }];
    }
    if (s.kind === "factor") {
      return [{ kind: "neuron", dense: below(s.layer), j: s.layer < nearest ? column : undefined }];
    }
    return parameter;
  });
}

/** The chain of local derivatives behind one gradient, step by step, then the check.
 *  @param {object} picture  the NetworkPicture, lit as the learner hovers or steps */
export function showExplanation(panel, e, picture) {
  panel.replaceChildren();
  // The parameter step names θ as explain does (W2[0, 7]: layers[2].weights[0, 7]).
  const target = e.steps.find((step) => step.kind === "parameter").result;
  panel.append(element("h3", `${target} at epoch ${e.epoch}`));
  panel.append(element("p", `θ = ${e.parameter} of ${e.layer_repr} · ${e.loss} · mean over `
    + `${e.n_samples} training points, at the current weights; vectors are sample 0. Hover a `
    + "row to see its path; "
    + "step through it below.", "context"));
  const parts = stepParts(e, picture.network);
  const table = element("table", undefined, "chain");
  e.steps.forEach((step, t) => {
    if (step.kind === "loss") {
      row(table, t, "", step.result, show(step.gradient), step.rule);
    } else if (step.kind === "regularization") {
      row(table, t, "+", step.quantity, show(step.gradient), step.rule);
    } else {
      row(table, t, "×", step.quantity, show(step.local), step.rule);
      const symbol = step.kind === "sum" ? "Σ" : "=";
      const note = step.kind === "parameter" ? "per sample" : "";
      row(table, t, symbol, step.result, show(step.gradient), note);
    }
  });
  // With a penalty, what backward stores is the samples' sum plus the penalty's gradient.
  const penalty = e.steps.some((step) => step.kind === "regularization");
  row(table, e.steps.length, "Σ", `${target}, summed over the ${e.n_samples} samples`
      + (penalty ? ", plus the penalty's gradient" : ""),
      format(e.value), "what backward stores in the layer's gradient");
  const walk = new Walk(panel, table, e, parts, picture);
  panel.append(table);
  for (const tr of table.querySelectorAll("tr")) {
    tr.addEventListener("mouseenter", () => picture.light(parts[Number(tr.dataset.step)] ?? []));
    tr.addEventListener("mouseleave", () => walk.show());
  }
  const check = element("p", undefined, "check");
  check.append(`backward: `, element("b", format(e.value)),
               ` · numerical (central difference, float64): ${format(e.numerical)} · `
               + "relative error ");
  const error = element("b", e.relative_error === null ? "—" : e.relative_error.toExponential(1),
                        "relative-error");
  error.dataset.value = e.relative_error;
  check.append(error);
  panel.append(check);
  const details = element("details");
  details.append(element("summary", "as text"), element("pre", e.text));
  panel.append(details);
}

/** The "step" control: one step of the chain at a time, for one sample. */
class Walk {
  constructor(panel, table, e, parts, picture) {
    Object.assign(this, { table, e, parts, picture, at: -1, sample: 0 });
    this.samples = Math.max(1, Math.min(e.n_samples, (e.steps[0].gradient ?? []).length));
    const bar = element("div", undefined, "walk");
    this.back = element("button", "◂ back");
    this.next = element("button", "step ▸");
    this.next.id = "chain-step";
    this.back.id = "chain-back";
    this.back.title = "the step before (towards the loss)";
    this.next.title = "the next local derivative, from the loss towards the parameter";
    const sample = element("select");
    sample.id = "chain-sample";
    for (let s = 0; s < this.samples; s++) sample.append(new Option(`sample ${s}`, s));
    sample.addEventListener("change", () => { this.sample = Number(sample.value); this.show(); });
    this.back.addEventListener("click", () => this.go(this.at - 1));
    this.next.addEventListener("click", () => this.go(this.at + 1));
    this.text = element("div", "Step through the chain: from ∂L/∂z of the output back to "
      + "the parameter, one local derivative at a time.", "walk-text");
    bar.append(this.back, this.next, sample);
    panel.append(bar, this.text);
    this.show();
  }

  /** Go to step t, kept within the chain: before its first step (-1) to its total. */
  go(t) {
    this.at = Math.max(-1, Math.min(this.e.steps.length, t));
    this.show();
  }

  show() {
    const { at, e, table, picture } = this;
    this.back.disabled = at < 0;
    this.next.disabled = at >= e.steps.length;
    for (const tr of table.querySelectorAll("tr")) {
      tr.classList.toggle("current", Number(tr.dataset.step) === at);
    }
    picture.light(at >= 0 && at < e.steps.length ? this.parts[at] : []);
    if (at >= 0) this.text.textContent = this.describe(at);
    this.text.dataset.step = at;
  }

  /** One step in words and the numbers of one sample. */
  describe(t) {
    const { e, sample: s } = this;
    const n = e.steps.length;
    const head = `step ${t + 1} of ${n + 1}, sample ${s}: `;
    if (t === n) {
      // The penalty's gradient is one number, added once (not per sample).
      const penalty = e.steps.find((step) => step.kind === "regularization");
      const plus = penalty ? ` + the penalty's gradient ${format(penalty.gradient)}` : "";
      return `${head}${e.steps.find((step) => step.kind === "parameter").result} = Σ over the `
        + `${e.n_samples} samples of the per-sample terms${plus} = ${format(e.value)} (each term `
        + `already carries the mean's 1/${e.n_samples})`;
    }
    const step = e.steps[t];
    const up = t > 0 ? e.steps[t - 1] : null;
    if (step.kind === "loss") {
      return `${head}${step.result} = ${one(step.gradient, s)} — ${step.rule}`;
    }
    if (step.kind === "regularization") {
      return `${head}+ ${step.quantity} = ${format(Array.isArray(step.gradient) ? null
        : step.gradient)}, the penalty's own gradient (the same for every sample)`;
    }
    const upstream = one(up.gradient, s);
    if (step.kind === "sum") {
      const local = step.local ? one(step.local, s) : "the weights W";
      return `${head}${step.result} = Σⱼ ${up.result}[j] · ${step.quantity.replace("/", "[j]/")} `
        + `= Σ ${upstream} · `
        + `${local} = ${one(step.gradient, s)} — ${step.rule}`;
    }
    return `${head}${step.result} = ${up.result} × ${step.quantity} = ${upstream} × `
      + `${one(step.local, s)} = ${one(step.gradient, s)} — ${step.rule}`;
  }
}

/** A neuron: where its inputs come from, their weights and gradients, and ∂L/∂z. */
export function showNeuron(panel, n, sources, activation) {
  panel.replaceChildren();
  const L = n.model_layer;
  const z = `z${L}[${n.neuron}]`;
  panel.append(element("h3", `neuron ${z} at epoch ${n.epoch}`));
  panel.append(element("p", `${z} = Σᵢ ${L === 0 ? "x" : `a${L - 1}`}[i]·W${L}[i, ${n.neuron}] `
    + `+ b${L}[${n.neuron}], then ${activation}. ∂L/∂${z} is one number per training point; `
    + "click a line or the small square for a weight's whole chain.", "context"));
  const table = element("table", undefined, "incoming");
  const head = element("tr");
  head.append(element("th", "from"), element("th", "weight"), element("th", "∂L/∂weight"));
  table.append(head);
  n.weights.forEach((w, i) => {
    const tr = element("tr");
    tr.append(element("td", sources[i] ?? `input ${i}`),
              element("td", `W${L}[${i}, ${n.neuron}] = ${format(w)}`),
              element("td", format(n.dweights[i])));
    table.append(tr);
  });
  const bias = element("tr");
  bias.append(element("td", "bias"), element("td", `b${L}[${n.neuron}] = ${format(n.bias)}`),
              element("td", format(n.dbias)));
  table.append(bias);
  panel.append(table);
  const dz = element("p", undefined, "dz");
  dz.append(`∂L/∂${z} summed over the ${n.n_samples} points: `,
            element("b", format(n.dz_sum)),
            ` (= ∂L/∂b${L}[${n.neuron}] without regularization) · mean |∂L/∂${z}|: `
            + `${format(n.dz_mean_abs)} · first points: ${n.dz_first.map(format).join(", ")}`);
  panel.append(dz);
}

/** The panel after the network changed: nothing of the old one stays. */
export function clearPanel(panel, why) {
  panel.replaceChildren(element("p", `${why} Click a weight (a line), a bias (the small square `
    + "by a neuron) or a neuron: its gradient appears here as the chain rule computes it, with "
    + "the numerical check beside it.", "context"));
}

export function showCode(dialog, code) {
  dialog.querySelector("#code-text").textContent = code;
  if (!dialog.open) dialog.showModal();
}

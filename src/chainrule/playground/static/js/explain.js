// The side panel: a weight's or bias's chain rule (chainrule.explain, computed by the server),
// a neuron's incoming weights and ∂L/∂z, and the "show code" dialog.

import { format } from "./network.js";

/** A list of numbers, a per-sample table (first sample shown) or one number, as text. */
function show(values) {
  if (values === null || values === undefined) return "";
  if (!Array.isArray(values)) return format(values);
  if (values.length && Array.isArray(values[0])) {
    const row = values[0];
    return `[${row.slice(0, 4).map(format).join(", ")}${row.length > 4 ? ", …" : ""}] (sample 0)`;
  }
  return values.slice(0, 3).map(format).join("   ") + (values.length > 3 ? "   …" : "");
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function row(table, symbol, quantity, numbers, rule) {
  const tr = element("tr");
  tr.append(element("td", symbol, "op"), element("td", quantity, "quantity"),
            element("td", numbers, "numbers"), element("td", rule ?? "", "rule"));
  table.append(tr);
}

/** The chain of local derivatives behind one gradient, step by step, then the check. */
export function showExplanation(panel, e) {
  panel.replaceChildren();
  // The parameter step names θ as explain does (W2[0, 7]: layers[2].weights[0, 7]).
  const target = e.steps.find((step) => step.kind === "parameter").result;
  panel.append(element("h3", `${target} at epoch ${e.epoch}`));
  panel.append(element("p", `${e.layer_repr} · ${e.loss} · mean over ${e.n_samples} `
    + "training points, at the current weights", "context"));
  const table = element("table", undefined, "chain");
  for (const step of e.steps) {
    if (step.kind === "loss") {
      row(table, "", step.result, show(step.gradient), step.rule);
    } else if (step.kind === "regularization") {
      row(table, "+", step.quantity, show(step.gradient), step.rule);
    } else {
      row(table, "×", step.quantity, show(step.local), step.rule);
      const symbol = step.kind === "sum" ? "Σ" : "=";
      const note = step.kind === "parameter" ? "per sample" : "";
      row(table, symbol, step.result, show(step.gradient), note);
    }
  }
  row(table, "Σ", `${target}, summed over the ${e.n_samples} samples`, format(e.value),
      "what backward stores in the layer's gradient");
  panel.append(table);
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

/** A neuron: where its inputs come from, their weights and gradients, and ∂L/∂z. */
export function showNeuron(panel, n, sources) {
  panel.replaceChildren();
  const z = `z${n.model_layer}[${n.neuron}]`;
  panel.append(element("h3", `neuron ${z} at epoch ${n.epoch}`));
  panel.append(element("p", `${z} = Σᵢ xᵢ·W${n.model_layer}[i, ${n.neuron}] + `
    + `b${n.model_layer}[${n.neuron}], then the activation. ∂L/∂${z} is one number per `
    + "training point; click a line or the small square for a weight's whole chain.", "context"));
  const table = element("table", undefined, "incoming");
  const head = element("tr");
  head.append(element("th", "from"), element("th", "weight"), element("th", "∂L/∂weight"));
  table.append(head);
  n.weights.forEach((w, i) => {
    const tr = element("tr");
    tr.append(element("td", sources[i] ?? `input ${i}`), element("td", format(w)),
              element("td", format(n.dweights[i])));
    table.append(tr);
  });
  const bias = element("tr");
  bias.append(element("td", "bias"), element("td", format(n.bias)), element("td", format(n.dbias)));
  table.append(bias);
  panel.append(table);
  const dz = element("p", undefined, "dz");
  dz.append(`∂L/∂${z} summed over the ${n.n_samples} points: `,
            element("b", format(n.dz_sum)),
            ` (= ∂L/∂b without regularization) · mean |∂L/∂${z}|: ${format(n.dz_mean_abs)} · `
            + `first points: ${n.dz_first.map(format).join(", ")}`);
  panel.append(dz);
}

export function showCode(dialog, code) {
  dialog.querySelector("#code-text").textContent = code;
  if (!dialog.open) dialog.showModal();
}

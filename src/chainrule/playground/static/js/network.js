// The network picture: feature, neuron and output nodes with their maps, and the weights
// between them as lines — blue positive, orange negative, as thick as they are large.
// Click a line (a weight), a small square (a bias) or a node (a neuron) to look inside.
//
// One notation, explain's: W2 and b2 are layers[2]'s parameters, z2 = a1·W2 + b2 its output
// before the activation, a3 = ReLU(z2) the activation layer's output (layers[3]), ŷ the
// network's output. Each column says its names above it.

import { diverging, drawNodeMap, rgb } from "./heatmap.js";

const SVG = "http://www.w3.org/2000/svg";
const NODE = 34;
const PITCH = 46;
const TOP = 78;
const LEFT = 58;
const ZOOM = 180;

export class NetworkPicture {
  /**
   * @param {HTMLElement} container  where the picture goes (position: relative)
   * @param {object} on  callbacks: weight(dense, i, j), bias(dense, j), neuron(dense, j),
   *                      feature(key), layers(sizes)
   */
  constructor(container, on) {
    this.container = container;
    this.on = on;
    this.zoom = document.getElementById("zoom");
    this.tooltip = document.getElementById("tooltip");
    this.hovered = null;
    this.selected = null;
    this.lit = [];
  }

  /** Lay the same network out again (the container's width changed); keeps the selection
   *  and the lit path (a step of the chain being walked). */
  relayout() {
    if (!this.network) return;
    const width = Math.max(this.container.clientWidth, 420);
    if (Math.abs(width - this.width) < 2) return;
    const { selected, frame, lit } = this;
    this.build(this.network, this.featureOptions);
    if (frame) this.update(frame);
    if (selected) this.select(selected);
    this.light(lit);
  }

  /** Lay out a new network (from the server's "network" message). */
  build(network, featureOptions) {
    this.network = network;
    this.featureOptions = featureOptions;
    this.selected = null;
    this.lit = [];
    this.frame = null;
    this.oneDimensional = network.task === "regression";
    const active = network.features.map((f) => f.key);
    const shown = Object.keys(featureOptions)
      .filter((key) => !this.oneDimensional || !key.includes("2"));
    this.columns = [
      shown.map((key) => ({ kind: "feature", key, label: featureOptions[key],
                            active: active.includes(key), map: active.indexOf(key) })),
      ...network.sizes.slice(1).map((size, c) => Array.from({ length: size }, (_, j) => ({
        kind: c === network.sizes.length - 2 ? "output" : "neuron", dense: c, index: j }))),
    ];
    this.container.replaceChildren();
    const width = Math.max(this.container.clientWidth, 420);
    this.width = width;
    const height = TOP + Math.max(...this.columns.map((col) => col.length)) * PITCH;
    this.container.style.height = `${height}px`;
    const step = (width - LEFT - NODE - 12) / (this.columns.length - 1);
    this.columns.forEach((column, c) => column.forEach((node, j) => {
      node.x = LEFT + c * step;
      node.y = TOP + j * PITCH;
    }));
    this.svg = document.createElementNS(SVG, "svg");
    this.svg.setAttribute("width", width);
    this.svg.setAttribute("height", height);
    this.container.append(this.svg);
    this.links = [];
    this.biases = [];
    this.drawLinks();
    this.columns.forEach((column, c) => column.forEach((node) => this.drawNode(node, c)));
    this.drawLayerControls(network.settings.layers, step);
    this.drawColumnNames(step);
  }

  /** Each column's names, as explain prints them: "W2 · b2" and "z2 → a3 = ReLU". Where the
   *  columns are close (many layers, the panel beside the drawing) the names lose their
   *  spaces and, if still wider than a column, get smaller: neighbours never overlap. */
  drawColumnNames(step) {
    const room = step - 6;
    const gap = step < 72 ? "" : " ";
    this.columns.forEach((column, c) => {
      const label = document.createElement("div");
      label.className = "column-name";
      label.style.left = `${LEFT + c * step - 14}px`;
      if (c === 0) {
        label.append(line("x", "the features: layers[0]'s input"), line("inputs"));
      } else {
        const dense = c - 1;
        const L = this.layerOf(dense);
        label.dataset.dense = dense;
        label.append(line(`W${L}${gap}·${gap}b${L}`,
                          `layers[${L}]: Dense, weights W${L} and biases b${L}`),
                     line(`z${L}${gap}→${gap}${this.activationName(dense)}`,
                          `z${L} = ${this.inputName(dense)}·W${L} + b${L}; `
                          + `${this.activationName(dense)} = ${this.network.activations[dense]}`
                          + `(z${L})`));
      }
      this.container.append(label);
      const widest = Math.max(...[...label.children].map(textWidth));
      if (widest > room) {
        const size = parseFloat(getComputedStyle(label).fontSize);
        label.style.fontSize = `${Math.max(7, Math.floor((size * room) / widest * 10) / 10)}px`;
      }
    });
  }

  /** What the dense-th Dense layer's activation outputs: a(L+1), or ŷ for the last. */
  activationName(dense) {
    const m = this.layerOf(dense) + 1;
    return m === this.network.n_layers - 1 ? "ŷ" : `a${m}`;
  }

  /** The dense-th Dense layer's input: the features x, or the layer below's output a. */
  inputName(dense, i) {
    const L = this.layerOf(dense);
    if (L === 0) return i === undefined ? "x" : this.network.features[i].label;
    return `a${L - 1}` + (i === undefined ? "" : `[${i}]`);
  }

  /** Mark the clicked weight, bias or neuron until another is chosen.
   *  @param {object} what  {kind: "weight"|"bias"|"neuron", dense, i, j} */
  select(what) {
    this.selected = what;
    for (const el of this.container.querySelectorAll(".selected")) el.classList.remove("selected");
    if (!what) return;
    for (const el of this.elements(what.kind, what.dense, what.i, what.j)) {
      el.classList.add("selected");
    }
  }

  /** Light up a path: parts = [{kind: "weight"|"bias"|"neuron", dense, i, j}], where an
   *  undefined i or j means every one. An empty list turns the light off. */
  light(parts) {
    // Kept, so that a new layout (relayout) lights the same path again.
    this.lit = parts;
    for (const el of this.container.querySelectorAll(".lit")) el.classList.remove("lit");
    for (const { kind, dense, i, j } of parts) {
      for (const el of this.elements(kind, dense, i, j)) el.classList.add("lit");
    }
  }

  elements(kind, dense, i, j) {
    const matches = (value, wanted) => wanted === undefined || wanted === null
      || Number(value) === wanted;
    if (kind === "weight") {
      return this.links.filter((l) => l.dense === dense && matches(l.i, i) && matches(l.j, j))
        .map((l) => l.line);
    }
    if (kind === "bias") {
      return this.biases.filter((b) => b.dense === dense && matches(b.j, j)).map((b) => b.rect);
    }
    return [...this.container.querySelectorAll(`.node[data-column="${dense + 1}"]`)]
      .filter((div) => matches(div.dataset.index, j));
  }

  drawLinks() {
    for (let c = 1; c < this.columns.length; c++) {
      const sources = this.columns[c - 1].filter((n) => n.kind !== "feature" || n.active);
      this.columns[c].forEach((dest, j) => sources.forEach((source, i) => {
        const d = `M${source.x + NODE},${source.y + NODE / 2} C${(source.x + dest.x + NODE) / 2},`
          + `${source.y + NODE / 2} ${(source.x + dest.x + NODE) / 2},${dest.y + NODE / 2} `
          + `${dest.x},${dest.y + NODE / 2}`;
        const line = this.path(d, "link", c - 1, i, j);
        const hit = this.path(d, "link-hit", c - 1, i, j);
        hit.addEventListener("click", () => this.on.weight(c - 1, i, j));
        hit.addEventListener("mouseenter", (e) => this.tip(e, () => {
          const L = this.layerOf(c - 1);
          return `W${L}[${i}, ${j}] = ${format(this.weight(c - 1, i, j))}: weighs `
            + `${this.inputName(c - 1, i)} in z${L}[${j}]; click for ∂L/∂W${L}[${i}, ${j}]`;
        }));
        hit.addEventListener("mouseleave", () => this.untip());
        this.links.push({ line, dense: c - 1, i, j });
      }));
    }
  }

  path(d, cls, dense, i, j) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    path.setAttribute("class", cls);
    Object.assign(path.dataset, { dense, i, j });
    this.svg.append(path);
    return path;
  }

  drawNode(node, c) {
    const div = document.createElement("div");
    div.className = `node ${node.kind}` + (node.kind === "feature" && !node.active
      ? " inactive" : "");
    Object.assign(div.style, { left: `${node.x}px`, top: `${node.y}px` });
    Object.assign(div.dataset, { column: c, index: node.index ?? node.key });
    const canvas = document.createElement("canvas");
    div.append(canvas);
    node.canvas = canvas;
    this.container.append(div);
    if (node.kind === "feature") {
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = node.label;
      div.append(label);
      div.title = node.active ? `${node.label}: click to remove` : `${node.label}: click to add`;
      div.addEventListener("click", () => this.on.feature(node.key));
      if (node.active) drawNodeMap(canvas, this.network.feature_maps, node.map, this.oneDimensional);
    } else {
      div.title = `z${this.layerOf(node.dense)}[${node.index}]: click for its incoming weights `
        + `and ∂L/∂z${this.layerOf(node.dense)}[${node.index}]`;
      div.addEventListener("click", () => this.on.neuron(node.dense, node.index));
      this.drawBias(node);
    }
    div.addEventListener("mouseenter", () => this.enlarge(node, div));
    div.addEventListener("mouseleave", () => this.shrink());
  }

  drawBias(node) {
    const rect = document.createElementNS(SVG, "rect");
    Object.entries({ x: node.x - 9, y: node.y + NODE - 7, width: 8, height: 8, class: "bias" })
      .forEach(([key, value]) => rect.setAttribute(key, value));
    Object.assign(rect.dataset, { dense: node.dense, j: node.index });
    rect.addEventListener("click", () => this.on.bias(node.dense, node.index));
    rect.addEventListener("mouseenter", (e) => this.tip(e, () => {
      const L = this.layerOf(node.dense);
      return `b${L}[${node.index}] = ${format(this.bias(node.dense, node.index))}: added to `
        + `z${L}[${node.index}]; click for ∂L/∂b${L}[${node.index}]`;
    }));
    rect.addEventListener("mouseleave", () => this.untip());
    this.svg.append(rect);
    this.biases.push({ rect, dense: node.dense, j: node.index });
  }

  drawLayerControls(layers, step) {
    const row = document.createElement("div");
    row.className = "layer-count";
    row.append(button("+", "add a hidden layer", layers.length < this.network.limits.max_layers,
      () => this.on.layers([...layers, 4])));
    row.append(button("−", "remove the last hidden layer", layers.length > 0,
      () => this.on.layers(layers.slice(0, -1))));
    row.append(` ${layers.length} hidden layer${layers.length === 1 ? "" : "s"}`);
    this.container.append(row);
    layers.forEach((size, h) => {
      const controls = document.createElement("div");
      controls.className = "neuron-count";
      controls.style.left = `${LEFT + (h + 1) * step - 14}px`;
      const change = (delta) => this.on.layers(layers.map((n, k) => (k === h ? n + delta : n)));
      controls.append(button("+", "add a neuron", size < this.network.limits.max_neurons,
        () => change(1)));
      controls.append(button("−", "remove a neuron", size > 1, () => change(-1)));
      const text = document.createElement("div");
      text.textContent = `${size} neuron${size === 1 ? "" : "s"}`;
      controls.append(text);
      this.container.append(controls);
    });
  }

  /** Colour and thickness from the frame's weights; every neuron's map. */
  update(frame) {
    this.frame = frame;
    for (const { line, dense, i, j } of this.links) {
      const w = frame.weights[dense][i][j] ?? 0;
      line.style.stroke = rgb(diverging(Math.sign(w)));
      line.style.strokeWidth = `${0.6 + Math.min(Math.abs(w), 3) * 2.5}px`;
    }
    for (const { rect, dense, j } of this.biases) {
      rect.style.fill = rgb(diverging(Math.tanh(frame.biases[dense][j] ?? 0)));
    }
    this.columns.slice(1).forEach((column) => column.forEach((node) =>
      drawNodeMap(node.canvas, frame.maps[node.dense], node.index, this.oneDimensional)));
    if (this.hovered) this.drawZoom(this.hovered);
  }

  /** The model's index of the ``dense``-th Dense layer: W2 is layers[2].weights. */
  layerOf(dense) { return this.network.dense_layers[dense]; }

  weight(dense, i, j) { return this.frame?.weights[dense][i][j]; }

  bias(dense, j) { return this.frame?.biases[dense][j]; }

  enlarge(node, div) {
    if (node.kind === "feature" && !node.active) return;
    this.hovered = node;
    const box = div.getBoundingClientRect();
    Object.assign(this.zoom.style, { display: "block", left: `${box.right + window.scrollX + 8}px`,
                                     top: `${box.top + window.scrollY - 60}px` });
    this.drawZoom(node);
  }

  drawZoom(node) {
    const canvas = this.zoom.querySelector("canvas");
    const caption = this.zoom.querySelector("figcaption");
    if (node.kind === "feature") {
      drawNodeMap(canvas, this.network.feature_maps, node.map, this.oneDimensional, ZOOM);
      caption.textContent = node.label;
      return;
    }
    const maps = this.frame?.maps[node.dense];
    if (!maps) return;
    drawNodeMap(canvas, maps, node.index, this.oneDimensional, ZOOM);
    const L = this.layerOf(node.dense);
    const name = this.activationName(node.dense);
    const f = this.network.activations[node.dense];
    const what = node.kind === "output"
      ? (this.oneDimensional ? `ŷ = z${L}[0], the output`
        : `ŷ[${node.index}] = ${f}(z${L})[${node.index}], class ${node.index}'s probability`)
      : `${name}[${node.index}] = ${f}(z${L}[${node.index}])`;
    caption.textContent = `${what} (largest |value| ${format(maps.scales[node.index])})`;
  }

  shrink() {
    this.hovered = null;
    this.zoom.style.display = "none";
  }

  tip(event, text) {
    this.tooltip.textContent = text();
    Object.assign(this.tooltip.style, { display: "block", left: `${event.pageX + 12}px`,
                                        top: `${event.pageY + 12}px` });
  }

  untip() { this.tooltip.style.display = "none"; }
}

/** The width of an element's text as laid out (not of its box). */
function textWidth(element) {
  const range = document.createRange();
  range.selectNodeContents(element);
  return range.getBoundingClientRect().width;
}

function line(text, title) {
  const div = document.createElement("div");
  div.textContent = text;
  if (title) div.title = title;
  return div;
}

function button(text, title, enabled, onClick) {
  const element = document.createElement("button");
  element.textContent = text;
  element.title = title;
  element.disabled = !enabled;
  element.addEventListener("click", onClick);
  return element;
}

export function format(value) {
  if (value === null || value === undefined) return "—";
  return Math.abs(value) >= 1e-3 || value === 0 ? value.toPrecision(4) : value.toExponential(3);
}

// The network picture: feature, neuron and output nodes with their maps, and the weights
// between them as lines — blue positive, orange negative, as thick as they are large.
// Click a line (a weight), a small square (a bias) or a node (a neuron) to look inside.

import { diverging, drawNodeMap, rgb } from "./heatmap.js";

const SVG = "http://www.w3.org/2000/svg";
const NODE = 34;
const PITCH = 46;
const TOP = 44;
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
  }

  /** Lay out a new network (from the server's "network" message). */
  build(network, featureOptions) {
    this.network = network;
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
        hit.addEventListener("mouseenter", (e) => this.tip(e, () =>
          `weight W${this.layerOf(c - 1)}[${i}, ${j}] = ${format(this.weight(c - 1, i, j))}`
          + " — click to explain"));
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
    rect.addEventListener("mouseenter", (e) => this.tip(e, () =>
      `bias b${this.layerOf(node.dense)}[${node.index}] = `
      + `${format(this.bias(node.dense, node.index))}`
      + " — click to explain"));
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
    const what = node.kind === "output"
      ? (this.oneDimensional ? "the output" : `class ${node.index}'s probability`)
      : `z${this.layerOf(node.dense)}[${node.index}], after its activation`;
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

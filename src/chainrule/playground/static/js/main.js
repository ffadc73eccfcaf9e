// The page: one WebSocket to this tab's session on the server. The server owns all math (it is
// chainrule); the page sends what the user does and draws what the server sends back.

import { LossChart } from "./chart.js";
import { clearPanel, showCode, showExplanation, showNeuron } from "./explain.js";
import { drawBoundary, drawFit, drawPoints } from "./heatmap.js";
import { NetworkPicture, format } from "./network.js";
import { readHash, writeHash } from "./state.js";

const $ = (id) => document.getElementById(id);
const state = {
  settings: null, page: null, hello: null, network: null, frame: null,
  playing: false, received: 0, drawing: false, download: null,
};

const picture = new NetworkPicture($("network"), {
  weight: (dense, i, j) => {
    picture.select({ kind: "weight", dense, i, j });
    send({ type: "explain", layer: dense, param: "weights", index: [i, j], network: shown() });
  },
  bias: (dense, j) => {
    picture.select({ kind: "bias", dense, j });
    send({ type: "explain", layer: dense, param: "biases", index: [0, j], network: shown() });
  },
  neuron: (dense, j) => {
    picture.select({ kind: "neuron", dense, j });
    send({ type: "neuron", layer: dense, neuron: j, network: shown() });
  },
  feature: (key) => {
    const features = state.settings.features.includes(key)
      ? state.settings.features.filter((k) => k !== key) : [...state.settings.features, key];
    changeSettings({ features });
  },
  layers: (layers) => changeSettings({ layers }),
});
const chart = new LossChart($("loss-chart"));
/** The network drawn now: a click asks about it, and the server answers only if it still is. */
const shown = () => state.network.id;

const socket = new WebSocket(`ws://${window.location.host}/ws`);
socket.binaryType = "arraybuffer";
socket.addEventListener("message", (event) => {
  if (typeof event.data !== "string") {
    saveDownload(event.data);
    return;
  }
  const message = JSON.parse(event.data);
  const handle = handlers[message.type];
  if (handle) handle(message);
});
socket.addEventListener("close", () => {
  state.playing = false;
  showMessage("The connection to the server is closed. Is chainrule playground still "
              + "running? Reload the page to start again.", "error");
});

function send(message) {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function changeSettings(changes) {
  send({ type: "settings", settings: changes });
}

const handlers = {
  hello(message) {
    state.hello = message;
    fillOptions(message.options);
    const { settings, page } = readHash(message.defaults);
    state.page = page;
    $("show_test").checked = page.show_test;
    $("discretize").checked = page.discretize;
    askFor(settings);
  },
  network(message) {
    const before = state.network;
    state.network = message;
    state.settings = message.settings;
    // A frame of the old network still waiting for its drawing is dropped (and answered).
    if (state.frame && state.frame.network !== message.id) {
      for (let i = 0; i < state.received; i++) send({ type: "ack" });
      state.received = 0;
      state.frame = null;
    }
    syncControls();
    document.body.dataset.task = message.task;
    document.body.dataset.network = message.id;
    showTask(message.task);
    if (before) inspect(false);
    picture.build({ ...message, limits: state.hello.limits }, state.hello.options.features);
    chart.clear();
    drawData();
    if (before) clearPanel($("explain-body"), changeOf(before, message));
  },
  settings(message) {
    state.settings = message.settings;
    syncControls();
  },
  frame(message) {
    if (message.network !== state.network?.id) {  // of a network this page no longer shows
      send({ type: "ack" });
      return;
    }
    state.frame = message;
    state.received += 1;
    if (!state.drawing) {
      state.drawing = true;
      requestAnimationFrame(drawFrame);
    }
  },
  status(message) {
    state.playing = message.playing;
    $("play").textContent = message.playing ? "❚❚ pause" : "▶ play";
    document.body.classList.toggle("playing", message.playing);
  },
  error(message) {
    showMessage(message.message, message.kind === "diverged" ? "diverged" : "error");
  },
  explanation(message) {
    if (message.network !== state.network.id) return;
    picture.select({ kind: message.param === "weights" ? "weight" : "bias",
                     dense: message.dense, i: message.index[0], j: message.index[1] });
    showExplanation($("explain-body"), message, picture);
    inspect(true);
  },
  neuron(message) {
    if (message.network !== state.network.id) return;
    picture.select({ kind: "neuron", dense: message.layer, j: message.neuron });
    picture.light([]);  // the path of a chain walked before is no longer in the panel
    // A Dense layer's inputs: the features, or the outputs a of the layer before it.
    const sources = message.layer === 0
      ? state.network.features.map((f) => f.label)
      : Array.from({ length: message.weights.length },
                   (_, i) => `a${message.model_layer - 1}[${i}]`);
    showNeuron($("explain-body"), message, sources, state.network.activations[message.layer]);
    inspect(true);
  },
  code(message) {
    showCode($("code-dialog"), message.code);
  },
  download(message) {
    state.download = message.filename;
  },
};

/** Draw the latest frame, then tell the server how many frames this drawing answers. */
function drawFrame() {
  state.drawing = false;
  const frame = state.frame;
  const answered = state.received;
  state.received = 0;
  for (let i = 0; i < answered; i++) send({ type: "ack" });
  // Dropped when a new network came between the frame and its drawing.
  if (!frame || frame.network !== state.network.id) return;
  picture.update(frame);
  if (state.network.task === "regression") {
    drawFit($("boundary"), frame.curve, state.network.domain);
  } else {
    const grid = Math.round(Math.sqrt(atob(frame.boundary.data).length / frame.boundary.classes));
    drawBoundary($("boundary"), frame.boundary, grid, state.page.discretize);
  }
  chart.add(frame);
  $("epoch").textContent = frame.epoch.toLocaleString("en");
  $("train-loss").textContent = format(frame.train_loss);
  $("test-loss").textContent = format(frame.test_loss);
  // The task's own figure: accuracy for classes, R² for a regression.
  const figure = state.network.task === "regression" ? "r2" : "accuracy";
  for (const set of ["train", "test"]) {
    const value = frame[`${set}_${figure}`];
    $(`${set}-figure`).textContent = value === null || value === undefined ? "—"
      : value.toFixed(3);
  }
  // For scripts and tests: what the server's optimizer used for this frame.
  document.body.dataset.epoch = frame.epoch;
  document.body.dataset.lr = frame.lr;
}

/** Labels that fit the task: classes and accuracy, or a target's MSE and R². */
function showTask(task) {
  const regression = task === "regression";
  $("samples-label").textContent = regression ? "points" : "points per class";
  $("classes").closest("label").style.display = regression ? "none" : "";
  $("loss-name").textContent = regression ? "MSE" : "cross-entropy";
  for (const set of ["train", "test"]) {
    $(`${set}-figure-name`).textContent = regression ? "R²" : "accuracy";
  }
}

/** What changed between two networks, for the cleared panel. */
function changeOf(before, after) {
  const a = before.settings;
  const b = after.settings;
  if (DATA_KEYS.some((key) => String(a[key]) !== String(b[key]))) return "New data, new network.";
  if (String(a.features) !== String(b.features)) return "New features, new network.";
  if (String(a.layers) !== String(b.layers)) return "New layers, new network.";
  return "A fresh network.";
}
const DATA_KEYS = ["dataset", "classes", "samples", "noise", "train_ratio", "seed"];

/** Whether the Inside panel holds an explanation: on a narrow screen it then takes the
 *  output's place beside the drawing, so that the chain is in view as soon as it comes. */
function inspect(on) {
  if (document.body.classList.contains("inspecting") !== on) {
    document.body.classList.toggle("inspecting", on);
    picture.relayout();
    chart.draw();
  }
  if (on) {
    // Its top and its end in view: on a short screen (1280×720) the header leaves the panel
    // too little room, so the page scrolls by what is missing (the panel is sticky, as tall
    // as the window at most), never past the panel's top.
    const box = $("explain").getBoundingClientRect();
    const margin = 8;
    const below = box.bottom - (window.innerHeight - margin);
    if (box.top < 0 || below > 0) {
      window.scrollBy({ top: Math.min(box.top - margin, Math.max(below, 0)),
                        behavior: "instant" });
    }
  }
}

// A new width: the drawing is laid out again, and the chart drawn at its new width (its
// canvas keeps its old pixels otherwise, and the axes' text comes out stretched).
window.addEventListener("resize", () => {
  picture.relayout();
  chart.draw();
});

function drawData() {
  const { network, page } = state;
  if (network.task === "regression") {
    $("boundary").width = 300;
    $("boundary").height = 300;
  }
  drawPoints($("points"), network, network.domain, page.show_test);
}

function fillOptions(options) {
  for (const key of ["dataset", "activation", "optimizer", "regularization"]) {
    $(key).replaceChildren(...options[key].map((value) => new Option(value, value)));
  }
}

function syncControls() {
  for (const control of document.querySelectorAll("[data-setting]")) {
    const value = state.settings[control.dataset.setting];
    control.value = String(value);
    const shown = $(`${control.id}-value`);
    if (shown) shown.textContent = String(value);
  }
  const fixed = !["spiral", "vertical"].includes(state.settings.dataset);
  $("classes").disabled = fixed;
  writeHash(state.settings, state.page);
}

function readControl(control) {
  const text = control.value;
  if (control.dataset.type === "string") return text;
  // Whatever was typed goes to the server as a number (or null): the server says what is wrong.
  const value = text.trim() === "" ? null : Number(text);
  return Number.isFinite(value) ? value : null;
}

for (const control of document.querySelectorAll("[data-setting]")) {
  control.addEventListener("change", () => {
    changeSettings({ [control.dataset.setting]: readControl(control) });
  });
  if (control.type === "range") {
    control.addEventListener("input", () => {
      $(`${control.id}-value`).textContent = control.value;
    });
  }
}

for (const key of ["show_test", "discretize"]) {
  $(key).addEventListener("change", () => {
    state.page[key] = $(key).checked;
    writeHash(state.settings, state.page);
    drawData();
    if (state.frame) requestAnimationFrame(() => { state.received = 0; drawFrameOnly(); });
  });
}

function drawFrameOnly() {
  if (!state.frame || state.network.task === "regression") return;
  const { boundary } = state.frame;
  const grid = Math.round(Math.sqrt(atob(boundary.data).length / boundary.classes));
  drawBoundary($("boundary"), boundary, grid, state.page.discretize);
}

// A hash edited by hand (or a shared link opened in this tab) asks for its settings.
window.addEventListener("hashchange", () => {
  if (!state.hello) return;
  const { settings, page } = readHash(state.hello.defaults);
  state.page = page;
  $("show_test").checked = page.show_test;
  $("discretize").checked = page.discretize;
  askFor(settings);
});

/** Settings from a URL: the known ones together, any others apart (so that the server's
 *  error about them leaves the rest of a shared link working). */
function askFor(settings) {
  const known = {};
  const unknown = {};
  for (const [key, value] of Object.entries(settings)) {
    (key in state.hello.defaults ? known : unknown)[key] = value;
  }
  if (Object.keys(known).length) changeSettings(known);
  if (Object.keys(unknown).length) changeSettings(unknown);
}

$("play").addEventListener("click", () => send({ type: state.playing ? "pause" : "play" }));
$("step").addEventListener("click", () => send({ type: "step" }));
$("reset").addEventListener("click", () => send({ type: "reset" }));
$("regenerate").addEventListener("click", () => send({ type: "regenerate" }));
$("show-code").addEventListener("click", () => send({ type: "code" }));
$("download").addEventListener("click", () => send({ type: "download" }));
$("close-code").addEventListener("click", () => $("code-dialog").close());
$("copy-code").addEventListener("click", () => {
  const text = $("code-text").textContent;
  if (navigator.clipboard) navigator.clipboard.writeText(text);
});
$("explain-close").addEventListener("click", () => {
  picture.select(null);
  picture.light([]);
  clearPanel($("explain-body"), "");
  inspect(false);
});
$("message-close").addEventListener("click", () => { $("message").hidden = true; });

function showMessage(text, kind) {
  $("message-text").textContent = text;
  $("message").className = kind;
  $("message").hidden = false;
}

function saveDownload(data) {
  const url = URL.createObjectURL(new Blob([data], { type: "application/octet-stream" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = state.download ?? "playground.chainrule";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

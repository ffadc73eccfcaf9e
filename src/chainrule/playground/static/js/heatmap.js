// Heatmaps: the decision boundary (or the regression fit), neuron maps, and data points.
// Everything here draws numbers the server computed; nothing is computed about the network.

// Class colours: blue and orange as in TensorFlow Playground, then three more.
export const CLASS_COLORS = [
  [8, 119, 189], [245, 147, 34], [46, 160, 67], [148, 103, 189], [214, 39, 40],
];
const NEGATIVE = [245, 147, 34];
const POSITIVE = [8, 119, 189];
const NEUTRAL = [232, 234, 235];

/** Bytes from a base64 string, as a typed array of the given type. */
export function decode(base64, Type = Uint8Array) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return new Type(bytes.buffer);
}

/** A colour for v in [-1, 1]: orange for negative, grey at 0, blue for positive. */
export function diverging(v) {
  const t = Math.max(-1, Math.min(1, v));
  const end = t < 0 ? NEGATIVE : POSITIVE;
  const a = Math.abs(t);
  return NEUTRAL.map((c, i) => Math.round(c + (end[i] - c) * a));
}

export function rgb(color, alpha = 1) {
  return `rgba(${color[0]}, ${color[1]}, ${color[2]}, ${alpha})`;
}

/**
 * The boundary: each cell coloured by its class probabilities (uint8, p·255).
 * Confident cells take their class's colour; uncertain ones fade to white.
 */
export function drawBoundary(canvas, boundary, grid, discretize) {
  const k = boundary.classes;
  const probabilities = decode(boundary.data);
  sizeCanvas(canvas, grid, grid);
  const context = canvas.getContext("2d");
  const image = context.createImageData(grid, grid);
  for (let cell = 0; cell < grid * grid; cell++) {
    let best = 0;
    let r = 0;
    let g = 0;
    let b = 0;
    for (let c = 0; c < k; c++) {
      const p = probabilities[cell * k + c] / 255;
      if (probabilities[cell * k + c] > probabilities[cell * k + best]) best = c;
      r += p * CLASS_COLORS[c][0];
      g += p * CLASS_COLORS[c][1];
      b += p * CLASS_COLORS[c][2];
    }
    const top = probabilities[cell * k + best] / 255;
    const confidence = discretize ? 0.7 : Math.max(0, (top - 1 / k) / (1 - 1 / k)) * 0.85;
    const color = discretize ? CLASS_COLORS[best] : [r, g, b];
    for (let i = 0; i < 3; i++) {
      image.data[cell * 4 + i] = Math.round(255 + (color[i] - 255) * confidence);
    }
    image.data[cell * 4 + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

/** One node's map (int8, value/scale·127): a square image, or a curve for 1-D data. */
export function drawNodeMap(canvas, maps, node, oneDimensional, curveSize = 64) {
  const size = maps.size;
  const values = decode(maps.data, Int8Array);
  const offset = node * (oneDimensional ? size : size * size);
  if (oneDimensional) {
    drawCurveMap(canvas, values.subarray(offset, offset + size), curveSize);
    return;
  }
  sizeCanvas(canvas, size, size);
  const context = canvas.getContext("2d");
  const image = context.createImageData(size, size);
  for (let cell = 0; cell < size * size; cell++) {
    const color = diverging(values[offset + cell] / 127);
    image.data.set([...color, 255], cell * 4);
  }
  context.putImageData(image, 0, 0);
}

function drawCurveMap(canvas, values, width) {
  const height = width;
  sizeCanvas(canvas, width, height);
  const context = canvas.getContext("2d");
  context.fillStyle = rgb(NEUTRAL);
  context.fillRect(0, 0, width, height);
  context.strokeStyle = "#888";
  context.beginPath();
  context.moveTo(0, height / 2);
  context.lineTo(width, height / 2);
  context.stroke();
  context.strokeStyle = rgb(POSITIVE);
  context.lineWidth = 2;
  context.beginPath();
  values.forEach((v, i) => {
    const x = (i / (values.length - 1)) * width;
    const y = height / 2 - (v / 127) * (height / 2 - 3);
    if (i === 0) context.moveTo(x, y); else context.lineTo(x, y);
  });
  context.stroke();
}

/** Data points over the boundary: train with a white ring, test with a dark one. */
export function drawPoints(canvas, data, domain, showTest) {
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const toX = (x) => ((x - domain[0]) / (domain[1] - domain[0])) * width;
  const toY = (y) => height - ((y - domain[2]) / (domain[3] - domain[2])) * height;
  const sets = showTest ? [[data.train, "#fff"], [data.test, "#222"]] : [[data.train, "#fff"]];
  for (const [points, ring] of sets) {
    for (let i = 0; i < points.x.length; i++) {
      context.beginPath();
      context.arc(toX(points.x[i]), toY(points.y[i]), 3, 0, 2 * Math.PI);
      context.fillStyle = points.label ? rgb(CLASS_COLORS[points.label[i]]) : "#555";
      context.fill();
      context.lineWidth = 1;
      context.strokeStyle = ring;
      context.stroke();
    }
  }
}

/** A regression fit: the points (x, target) and the network's curve through them. */
export function drawFit(canvas, curve, domain) {
  const { width, height } = canvas;
  const context = canvas.getContext("2d");
  context.fillStyle = "#fafafa";
  context.fillRect(0, 0, width, height);
  const toY = (y) => height - ((y - domain[2]) / (domain[3] - domain[2])) * height;
  context.strokeStyle = "#ccc";
  context.beginPath();
  context.moveTo(0, toY(0));
  context.lineTo(width, toY(0));
  context.stroke();
  context.strokeStyle = rgb(POSITIVE);
  context.lineWidth = 3;
  context.beginPath();
  curve.forEach((v, i) => {
    const x = (i / (curve.length - 1)) * width;
    const y = toY(v ?? 0);
    if (i === 0) context.moveTo(x, y); else context.lineTo(x, y);
  });
  context.stroke();
}

function sizeCanvas(canvas, width, height) {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
}

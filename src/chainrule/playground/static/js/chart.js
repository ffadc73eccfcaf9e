// The loss chart: training and test loss against epochs, redrawn each frame. It reads
// alone: the axes say what they measure (epoch, loss) and a legend says which line is which.

const MAX_POINTS = 2000;
export const SERIES = [
  { key: "train", label: "training", color: "#888", dash: [5, 3] },
  { key: "test", label: "test", color: "#111", dash: [] },
];
// Room for the axes' numbers and names, in canvas pixels.
const MARGIN = { left: 44, right: 8, top: 18, bottom: 28 };

export class LossChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.clear();
  }

  clear() {
    this.points = [];
    this.draw();
  }

  add(frame) {
    const last = this.points[this.points.length - 1];
    if (last && frame.epoch <= last.epoch) {
      // The same or an earlier epoch (a reset): start over from here.
      if (frame.epoch < last.epoch) this.points = [];
      else this.points.pop();
    }
    this.points.push({ epoch: frame.epoch, train: frame.train_loss, test: frame.test_loss });
    if (this.points.length > MAX_POINTS) {
      // Keep every other point of the older half: the shape stays, the cost stays bounded.
      const half = Math.floor(this.points.length / 2);
      this.points = [...this.points.slice(0, half).filter((_, i) => i % 2 === 0),
                     ...this.points.slice(half)];
    }
    this.draw();
  }

  draw() {
    const { canvas } = this;
    // As many canvas pixels as it shows, so that its text is not stretched.
    if (canvas.clientWidth && canvas.width !== canvas.clientWidth) canvas.width = canvas.clientWidth;
    const context = canvas.getContext("2d");
    const { width, height } = canvas;
    const plot = { x: MARGIN.left, y: MARGIN.top, w: width - MARGIN.left - MARGIN.right,
                   h: height - MARGIN.top - MARGIN.bottom };
    context.clearRect(0, 0, width, height);
    context.font = "10px sans-serif";
    const finite = this.points.flatMap((p) => [p.train, p.test]).filter(Number.isFinite);
    const top = (finite.length ? Math.max(...finite) * 1.05 : 1) || 1;
    const first = this.points.length ? this.points[0].epoch : 0;
    const lastEpoch = this.points.length ? this.points[this.points.length - 1].epoch : 1;
    const span = Math.max(lastEpoch - first, 1);
    const toX = (epoch) => plot.x + ((epoch - first) / span) * plot.w;
    const toY = (loss) => plot.y + plot.h - (loss / top) * plot.h;
    this.axes(context, plot, first, first + span, top);
    this.legend(context, plot);
    if (this.points.length < 2 || !finite.length) return;
    for (const { key, color, dash } of SERIES) {
      context.strokeStyle = color;
      context.setLineDash(dash);
      context.lineWidth = 1.5;
      context.beginPath();
      let started = false;
      for (const point of this.points) {
        if (!Number.isFinite(point[key])) continue;
        if (started) context.lineTo(toX(point.epoch), toY(point[key]));
        else context.moveTo(toX(point.epoch), toY(point[key]));
        started = true;
      }
      context.stroke();
    }
    context.setLineDash([]);
  }

  /** The two axes with their ends numbered and named: epoch below, loss on the left. */
  axes(context, plot, from, to, top) {
    context.strokeStyle = "#bbb";
    context.lineWidth = 1;
    context.beginPath();
    context.moveTo(plot.x + 0.5, plot.y);
    context.lineTo(plot.x + 0.5, plot.y + plot.h + 0.5);
    context.lineTo(plot.x + plot.w, plot.y + plot.h + 0.5);
    context.stroke();
    context.fillStyle = "#666";
    context.textBaseline = "middle";
    context.textAlign = "right";
    context.fillText(top.toPrecision(2), plot.x - 4, plot.y + 4);
    context.fillText("0", plot.x - 4, plot.y + plot.h);
    context.textAlign = "center";
    context.textBaseline = "top";
    context.fillText(String(from), plot.x + 4, plot.y + plot.h + 3);
    context.fillText(String(to), plot.x + plot.w - 8, plot.y + plot.h + 3);
    context.fillText("epoch", plot.x + plot.w / 2, plot.y + plot.h + 14);
    context.save();
    context.translate(10, plot.y + plot.h / 2);
    context.rotate(-Math.PI / 2);
    context.textBaseline = "middle";
    context.fillText("loss", 0, 0);
    context.restore();
  }

  /** A short line of each series' colour and its name, above the plot on the right. */
  legend(context, plot) {
    context.textAlign = "left";
    context.textBaseline = "middle";
    let x = plot.x + plot.w - 118;
    for (const { label, color, dash } of SERIES) {
      context.strokeStyle = color;
      context.setLineDash(dash);
      context.lineWidth = 2;
      context.beginPath();
      context.moveTo(x, 8);
      context.lineTo(x + 16, 8);
      context.stroke();
      context.fillStyle = "#444";
      context.fillText(label, x + 20, 8);
      x += 24 + context.measureText(label).width + 14;
    }
    context.setLineDash([]);
  }
}

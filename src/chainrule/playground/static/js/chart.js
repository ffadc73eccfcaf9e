// The loss chart: train and test loss against epochs, redrawn each frame.

const MAX_POINTS = 2000;

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
    const context = canvas.getContext("2d");
    const width = canvas.width;
    const height = canvas.height;
    context.clearRect(0, 0, width, height);
    context.strokeStyle = "#ddd";
    context.strokeRect(0.5, 0.5, width - 1, height - 1);
    const finite = this.points.flatMap((p) => [p.train, p.test]).filter(Number.isFinite);
    if (this.points.length < 2 || !finite.length) return;
    const top = Math.max(...finite) * 1.05 || 1;
    const first = this.points[0].epoch;
    const span = Math.max(this.points[this.points.length - 1].epoch - first, 1);
    const toX = (epoch) => 2 + ((epoch - first) / span) * (width - 4);
    const toY = (loss) => height - 2 - (loss / top) * (height - 4);
    for (const [key, color] of [["train", "#999"], ["test", "#111"]]) {
      context.strokeStyle = color;
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
    context.fillStyle = "#666";
    context.font = "10px sans-serif";
    context.fillText(top.toPrecision(2), 4, 11);
  }
}

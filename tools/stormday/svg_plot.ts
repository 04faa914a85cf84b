/**
 * A time-series line plot as inline SVG (no script, no external file: the report stays one
 * self-contained HTML file), with vertical markers at incident times. Pure.
 */
export interface Series {
  name: string;
  color: string;
  /** [x (s), y] pairs. */
  points: ReadonlyArray<readonly [number, number]>;
}

export interface Marker {
  x: number;
  label: string;
}

export interface PlotOptions {
  title: string;
  yLabel: string;
  series: readonly Series[];
  markers: readonly Marker[];
  /** A horizontal line (an SLO target). */
  target?: { y: number; label: string };
  width?: number;
  height?: number;
}

const PAD = { l: 64, r: 16, t: 28, b: 36 };

export function linePlot(o: PlotOptions): string {
  const w = o.width ?? 880;
  const h = o.height ?? 240;
  const xs = o.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = o.series.flatMap((s) => s.points.map((p) => p[1]));
  const xMax = Math.max(1, ...xs, ...o.markers.map((m) => m.x));
  const yMax = niceMax(Math.max(1e-9, ...ys, o.target ? o.target.y * 1.1 : 0));
  const x = (v: number) => PAD.l + (v / xMax) * (w - PAD.l - PAD.r);
  const y = (v: number) => h - PAD.b - (v / yMax) * (h - PAD.t - PAD.b);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${esc(o.title)}">`,
    `<text x="${PAD.l}" y="16" font-size="13" font-weight="bold">${esc(o.title)}</text>`,
    `<rect x="${PAD.l}" y="${PAD.t}" width="${w - PAD.l - PAD.r}" height="${h - PAD.t - PAD.b}" fill="none" stroke="#ccc"/>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const v = (yMax * k) / 4;
    out.push(`<text x="${PAD.l - 6}" y="${y(v) + 4}" font-size="10" text-anchor="end">${fmt(v)}</text>`);
    if (k > 0) out.push(`<line x1="${PAD.l}" x2="${w - PAD.r}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`);
  }
  const step = niceMax(xMax / 8);
  for (let v = 0; v <= xMax; v += step) out.push(`<text x="${x(v)}" y="${h - PAD.b + 14}" font-size="10" text-anchor="middle">${fmt(v)}</text>`);
  out.push(`<text x="${w - PAD.r}" y="${h - 4}" font-size="10" text-anchor="end">seconds since the first connection</text>`);
  out.push(`<text x="12" y="${PAD.t + (h - PAD.t - PAD.b) / 2}" font-size="10" transform="rotate(-90 12 ${PAD.t + (h - PAD.t - PAD.b) / 2})" text-anchor="middle">${esc(o.yLabel)}</text>`);
  for (const m of o.markers) {
    out.push(`<line x1="${x(m.x)}" x2="${x(m.x)}" y1="${PAD.t}" y2="${h - PAD.b}" stroke="#c00" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${x(m.x) + 3}" y="${PAD.t + 10}" font-size="10" fill="#c00">${esc(m.label)}</text>`);
  }
  if (o.target) {
    out.push(`<line x1="${PAD.l}" x2="${w - PAD.r}" y1="${y(o.target.y)}" y2="${y(o.target.y)}" stroke="#888" stroke-dasharray="2 2"/>`);
    out.push(`<text x="${w - PAD.r - 4}" y="${y(o.target.y) - 3}" font-size="10" fill="#666" text-anchor="end">${esc(o.target.label)}</text>`);
  }
  o.series.forEach((s, k) => {
    if (s.points.length > 0) {
      const d = s.points.map((p, i) => `${i === 0 ? "M" : "L"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join("");
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`);
    }
    out.push(`<rect x="${PAD.l + 8 + k * 150}" y="${PAD.t + 18}" width="10" height="3" fill="${s.color}"/>`);
    out.push(`<text x="${PAD.l + 22 + k * 150}" y="${PAD.t + 22}" font-size="10">${esc(s.name)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n");
}

/** 1, 2 or 5 times a power of ten, at least `v`. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(v < 10 ? 2 : 0)}`;
}

export function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

// Where an indicator's values fall on a small chart: x by date (first to last point), y from the
// lowest to the highest of the values, baseline and target, with a margin. Geometry only: the
// series (and which value is the latest) comes from the core.

import type { IndicatorSeries } from "../bindings";

export interface Dot {
  key: string;
  x: number;
  y: number;
  label: string;
}

export interface Chart {
  width: number;
  height: number;
  /** SVG polyline points ("x,y x,y"), empty when there are no values. */
  path: string;
  dots: Dot[];
  /** Where the baseline and target lines are, if the indicator has them. */
  baseline: number | null;
  target: number | null;
}

const PAD = 6;

function days(date: string): number {
  const t = Date.parse(`${date}T00:00:00Z`);
  return Number.isNaN(t) ? 0 : t / 86_400_000;
}

export function chart(s: Pick<IndicatorSeries, "points" | "baseline" | "target">, width: number, height: number): Chart {
  const values = s.points.map((p) => p.value);
  const all = [...values, ...(s.baseline === null ? [] : [s.baseline]), ...(s.target === null ? [] : [s.target])];
  if (all.length === 0) return { width, height, path: "", dots: [], baseline: null, target: null };
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (hi === lo) {
    lo -= 1;
    hi += 1;
  }
  const y = (v: number) => PAD + (height - 2 * PAD) * (1 - (v - lo) / (hi - lo));
  const first = s.points.length > 0 ? days(s.points[0]!.date) : 0;
  const last = s.points.length > 0 ? days(s.points[s.points.length - 1]!.date) : 0;
  const span = last - first;
  const x = (date: string, i: number) =>
    span > 0
      ? PAD + ((width - 2 * PAD) * (days(date) - first)) / span
      : PAD + ((width - 2 * PAD) * (s.points.length > 1 ? i / (s.points.length - 1) : 0.5));
  const round = (n: number) => Math.round(n * 10) / 10;
  const dots = s.points.map((p, i) => ({
    key: `${p.id ?? "own"}-${i}`,
    x: round(x(p.date, i)),
    y: round(y(p.value)),
    label: `${p.date}: ${p.value}${p.note ? ` (${p.note})` : ""}`,
  }));
  return {
    width,
    height,
    path: dots.map((d) => `${d.x},${d.y}`).join(" "),
    dots,
    baseline: s.baseline === null ? null : round(y(s.baseline)),
    target: s.target === null ? null : round(y(s.target)),
  };
}

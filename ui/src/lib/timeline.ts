// Where things dated YYYY-MM-DD sit on a horizontal time axis: a layout computation only (which
// milestone is late is the core's).

export interface Placed<T> {
  item: T;
  /** 0 (the axis start) to 1 (its end). */
  at: number;
}

export interface Axis<T> {
  placed: Placed<T>[];
  /** Where `today` falls, when it is within the axis. */
  today: number | null;
  /** The first and last day of the axis, YYYY-MM-DD. */
  from: string;
  to: string;
}

const dayOf = (iso: string): number | null => {
  const t = Date.parse(`${iso}T00:00:00Z`);
  return Number.isNaN(t) ? null : t / 86_400_000;
};

/** Places the dated items between the earliest and the latest of their dates and `today`;
 * items without a (valid) date are left out. Null when nothing is dated. */
export function axis<T>(items: T[], dateOf: (item: T) => string | null | undefined, today: string): Axis<T> | null {
  const dated = items.flatMap((item) => {
    const d = dateOf(item);
    const n = d ? dayOf(d) : null;
    return n === null ? [] : [{ item, n }];
  });
  if (dated.length === 0) return null;
  const now = dayOf(today);
  const all = dated.map((x) => x.n).concat(now === null ? [] : [now]);
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const span = hi - lo;
  const at = (n: number) => (span === 0 ? 0.5 : (n - lo) / span);
  const iso = (n: number) => new Date(n * 86_400_000).toISOString().slice(0, 10);
  return {
    placed: dated.map(({ item, n }) => ({ item, at: at(n) })),
    today: now === null ? null : at(now),
    from: iso(lo),
    to: iso(hi),
  };
}

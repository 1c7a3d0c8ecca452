// Which rows of a long list to put in the DOM: the ones in view plus a margin, so a list of
// 100,000 records keeps a few dozen elements whatever the scroll position.

export interface Window {
  /** First row rendered. */
  start: number;
  /** One past the last row rendered. */
  end: number;
  /** Pixels above the first rendered row. */
  offset: number;
}

export function visibleRows(
  scrollTop: number,
  viewport: number,
  rowHeight: number,
  total: number,
  overscan = 8,
): Window {
  if (total <= 0 || rowHeight <= 0) return { start: 0, end: 0, offset: 0 };
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const start = Math.max(0, Math.min(total - 1, first) - overscan);
  const shown = Math.ceil(Math.max(0, viewport) / rowHeight) + 1;
  const end = Math.min(total, first + shown + overscan);
  return { start, end, offset: start * rowHeight };
}

/** The scroll position that brings row `index` into view, or null when it is already. */
export function scrollToShow(
  index: number,
  scrollTop: number,
  viewport: number,
  rowHeight: number,
): number | null {
  const top = index * rowHeight;
  if (top < scrollTop) return top;
  if (top + rowHeight > scrollTop + viewport) return top + rowHeight - viewport;
  return null;
}

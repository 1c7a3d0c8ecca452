/**
 * "Painted" marks: once a view has put its data on screen and the browser has painted it, the
 * view says so. Benchmarks (scripts/bench-app) and end-to-end tests wait for these marks instead
 * of guessing with timers.
 *
 * - `window` receives a `desk-painted` event whose detail is `{ view, key, at }` (`at` from
 *   `performance.now()`), so a keystroke or click can be timed to the frame that shows its result.
 * - `<html data-painted="view:key">` holds the last mark.
 * - `<html data-interactive="ms since the epoch">` is set once, by the first view painted with
 *   its data after start: the app is interactive (mounted, handlers attached, data shown).
 */
export interface Painted {
  view: string;
  key: string;
  at: number;
}

/** Calls `then` after the next paint: the second animation frame comes after the first is shown. */
export function afterPaint(then: () => void): void {
  requestAnimationFrame(() => requestAnimationFrame(then));
}

export function painted(view: string, key = ""): void {
  afterPaint(() => {
    const root = document.documentElement;
    const detail: Painted = { view, key, at: performance.now() };
    root.dataset["painted"] = `${view}:${key}`;
    if (root.dataset["interactive"] === undefined) root.dataset["interactive"] = String(Date.now());
    window.dispatchEvent(new CustomEvent<Painted>("desk-painted", { detail }));
  });
}

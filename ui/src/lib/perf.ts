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
  /** Optional `performance.now()` marks of the steps that led here (e.g. when the core
   * answered), for benchmarks to say where the time went. */
  steps?: Record<string, number>;
}

/** Calls `then` just after the next frame is painted: an animation frame runs right before the
 * frame is drawn, and a message posted from it is handled as soon as the drawing is done (a
 * second animation frame would wait a whole frame more, 16 ms at 60 Hz). */
export function afterPaint(then: (frame: number) => void): void {
  requestAnimationFrame((frame) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      then(frame);
    };
    channel.port2.postMessage(null);
  });
}

let onInteractive: (epochMs: number) => void = () => {};

/** What to do, once, when the app first becomes interactive (main.ts tells the shell). */
export function whenInteractive(f: (epochMs: number) => void): void {
  onInteractive = f;
}

export function painted(view: string, key = "", steps?: Record<string, number>): void {
  afterPaint((frame) => {
    const root = document.documentElement;
    // With steps: also when the frame that shows them began (before its style, layout, paint).
    const detail: Painted = { view, key, at: performance.now(), ...(steps ? { steps: { ...steps, frame } } : {}) };
    root.dataset["painted"] = `${view}:${key}`;
    if (root.dataset["interactive"] === undefined) {
      const now = Date.now();
      root.dataset["interactive"] = String(now);
      onInteractive(now);
    }
    window.dispatchEvent(new CustomEvent<Painted>("desk-painted", { detail }));
  });
}

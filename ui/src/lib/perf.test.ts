import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { painted, whenInteractive, type Painted } from "./perf";

describe("painted marks", () => {
  let frames: FrameRequestCallback[] = [];
  let dataset: Record<string, string>;
  beforeEach(() => {
    frames = [];
    dataset = {};
    // The page's globals, as far as the marks use them (the tests run in Node).
    vi.stubGlobal("requestAnimationFrame", (f: FrameRequestCallback) => frames.push(f));
    vi.stubGlobal("document", { documentElement: { dataset } });
    vi.stubGlobal("window", new EventTarget());
  });
  afterEach(() => vi.unstubAllGlobals());

  const frame = () => {
    const now = frames;
    frames = [];
    now.forEach((f) => f(0));
  };

  // The next mark, whenever it comes (its message is delivered by the event loop).
  const next = () =>
    new Promise<Painted>((r) => window.addEventListener("desk-painted", (e) => r((e as CustomEvent<Painted>).detail), { once: true }));
  // One turn of the event loop: what is not marked by then was waiting for a frame.
  const turn = () => new Promise((r) => setTimeout(r, 0));

  it("marks only once the frame after the change is drawn, and the first view makes the app interactive", async () => {
    const told: number[] = [];
    whenInteractive((at) => told.push(at));
    const seen: Painted[] = [];
    const on = (e: Event) => seen.push((e as CustomEvent<Painted>).detail);
    window.addEventListener("desk-painted", on);
    painted("home");
    await turn();
    expect(seen).toHaveLength(0);
    expect(dataset["interactive"]).toBeUndefined();
    const home = next();
    frame();
    expect((await home).view).toBe("home");
    expect(seen.map((p) => p.view)).toEqual(["home"]);
    const first = dataset["interactive"];
    expect(Number(first)).toBeGreaterThan(0);

    painted("palette", "so");
    const palette = next();
    frame();
    await palette;
    expect(seen.map((p) => `${p.view}:${p.key}`)).toEqual(["home:", "palette:so"]);
    expect(dataset["painted"]).toBe("palette:so");
    expect(dataset["interactive"]).toBe(first);
    // The shell is told once, with the same time.
    expect(told).toEqual([Number(first)]);
    window.removeEventListener("desk-painted", on);
  });
});

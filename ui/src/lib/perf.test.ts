import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { painted, type Painted } from "./perf";

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

  it("marks only after the second frame, and the first view makes the app interactive", () => {
    const seen: Painted[] = [];
    const on = (e: Event) => seen.push((e as CustomEvent<Painted>).detail);
    window.addEventListener("desk-painted", on);
    painted("home");
    frame();
    expect(seen).toHaveLength(0);
    expect(dataset["interactive"]).toBeUndefined();
    frame();
    expect(seen.map((p) => p.view)).toEqual(["home"]);
    const first = dataset["interactive"];
    expect(Number(first)).toBeGreaterThan(0);

    painted("palette", "so");
    frame();
    frame();
    expect(seen.map((p) => `${p.view}:${p.key}`)).toEqual(["home:", "palette:so"]);
    expect(dataset["painted"]).toBe("palette:so");
    expect(dataset["interactive"]).toBe(first);
    window.removeEventListener("desk-painted", on);
  });
});

import { describe, expect, it } from "vitest";
import { scrollToShow, visibleRows } from "./virtual";

describe("visibleRows", () => {
  it("renders the rows in view and a margin, not the whole list", () => {
    const w = visibleRows(0, 400, 40, 100_000, 5);
    expect(w.start).toBe(0);
    expect(w.end).toBe(16); // 10 in view + 1 partial + 5 margin
    expect(w.offset).toBe(0);
  });

  it("follows the scroll position deep into a long list", () => {
    const w = visibleRows(40 * 50_000, 400, 40, 100_000, 5);
    expect(w.start).toBe(49_995);
    expect(w.end).toBe(50_016);
    expect(w.offset).toBe(49_995 * 40);
  });

  it("stops at the end of the list", () => {
    const w = visibleRows(40 * 99_995, 400, 40, 100_000, 5);
    expect(w.end).toBe(100_000);
    expect(w.start).toBeLessThan(w.end);
  });

  it("renders nothing for an empty list or a zero row height", () => {
    expect(visibleRows(0, 400, 40, 0)).toEqual({ start: 0, end: 0, offset: 0 });
    expect(visibleRows(0, 400, 0, 10)).toEqual({ start: 0, end: 0, offset: 0 });
  });

  it("treats a negative scroll (elastic overscroll) as the top", () => {
    expect(visibleRows(-120, 400, 40, 1000, 0).start).toBe(0);
  });
});

describe("scrollToShow", () => {
  it("scrolls up to a row above the view and down to one below it", () => {
    expect(scrollToShow(2, 400, 200, 40)).toBe(80);
    expect(scrollToShow(20, 400, 200, 40)).toBe(20 * 40 + 40 - 200);
  });
  it("leaves the scroll alone when the row is in view", () => {
    expect(scrollToShow(11, 400, 200, 40)).toBeNull();
  });
});

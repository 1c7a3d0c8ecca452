import { describe, expect, it } from "vitest";
import { PagedRows } from "./pages";

// A list of `n` numbered rows served by keyset pages, as the core's `page` does.
function serve(n: number, size: number) {
  const asked: (string | null)[] = [];
  const page = (after: string | null) => {
    asked.push(after);
    const from = after === null ? 0 : Number(after) + 1;
    const rows = Array.from({ length: Math.max(0, Math.min(size, n - from)) }, (_, i) => from + i);
    const last = rows.at(-1);
    return { rows, next: last !== undefined && last < n - 1 ? String(last) : null };
  };
  return { page, asked };
}

// Loads what rows [start, end) need, page by page, as the list does.
function fill(p: PagedRows<number>, s: ReturnType<typeof serve>, start: number, end: number) {
  for (let w = p.want(start, end); w !== null; w = p.want(start, end)) {
    const { rows, next } = s.page(w.after);
    p.put(w.page, rows, next, start, end);
  }
}

describe("paged rows", () => {
  it("walks to the end by cursors and holds only the pages near the window", () => {
    const s = serve(100_000, 1000);
    const p = new PagedRows<number>(1000, 2);
    fill(p, s, 0, 20);
    expect(s.asked).toEqual([null]);
    expect(p.row(0)).toBe(0);
    fill(p, s, 99_990, 100_000);
    expect(s.asked).toHaveLength(100);
    expect(p.row(99_999)).toBe(99_999);
    expect(p.row(0)).toBeUndefined();
    expect(p.held()).toBeLessThanOrEqual(3);
    expect(p.want(99_990, 100_000)).toBeNull();
  });

  it("asks again for a dropped page by its cursor, not from the start", () => {
    const s = serve(10_000, 100);
    const p = new PagedRows<number>(100, 1);
    fill(p, s, 9_900, 10_000);
    s.asked.length = 0;
    fill(p, s, 5_000, 5_010);
    expect(s.asked).toEqual(["4999"]);
    expect(p.row(5_005)).toBe(5_005);
  });

  it("stops at the end of a short list and needs nothing past it", () => {
    const s = serve(150, 100);
    const p = new PagedRows<number>(100);
    fill(p, s, 0, 400);
    expect(s.asked).toEqual([null, "99"]);
    expect(p.row(149)).toBe(149);
    expect(p.row(150)).toBeUndefined();
    expect(p.want(0, 400)).toBeNull();
  });
});

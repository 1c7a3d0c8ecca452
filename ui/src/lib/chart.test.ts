import { describe, expect, it } from "vitest";
import { chart } from "./chart";

const point = (date: string, value: number) => ({ id: null, date, value, note: null });

describe("chart", () => {
  it("places points by date between the lowest and highest of values, baseline and target", () => {
    const c = chart({ baseline: 0, target: 100, points: [point("2026-01-01", 20), point("2026-01-11", 40), point("2026-01-21", 90)] }, 206, 112);
    expect(c.dots.map((d) => d.x)).toEqual([6, 103, 200]);
    // 0 at the bottom (112 - 6), 100 at the top (6).
    expect(c.baseline).toBe(106);
    expect(c.target).toBe(6);
    expect(c.dots[0]!.y).toBe(86);
    expect(c.path).toBe("6,86 103,66 200,16");
    expect(c.dots[2]!.label).toBe("2026-01-21: 90");
  });

  it("has no line without values, and a flat series still fits", () => {
    expect(chart({ baseline: null, target: null, points: [] }, 100, 50).path).toBe("");
    const one = chart({ baseline: null, target: null, points: [point("2026-01-01", 5)] }, 112, 62);
    expect(one.dots[0]).toMatchObject({ x: 56, y: 31 });
    expect(one.target).toBeNull();
  });
});

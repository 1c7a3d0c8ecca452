import { describe, expect, it } from "vitest";
import { axis } from "./timeline";

const ms = [
  { t: "Design", d: "2026-01-01" },
  { t: "Works", d: "2026-12-31" },
  { t: "Handover", d: null },
  { t: "Tender", d: "2026-07-02" },
];

describe("axis", () => {
  it("places dated items between the earliest and latest day, leaving undated ones out", () => {
    const a = axis(ms, (m) => m.d, "2026-06-01");
    expect(a?.placed.map((p) => p.item.t)).toEqual(["Design", "Works", "Tender"]);
    expect(a?.placed[0]?.at).toBe(0);
    expect(a?.placed[1]?.at).toBe(1);
    expect(a?.placed[2]?.at).toBeCloseTo(182 / 364, 5);
    expect(a?.today).toBeCloseTo(151 / 364, 5);
    expect([a?.from, a?.to]).toEqual(["2026-01-01", "2026-12-31"]);
  });
  it("stretches the axis to today", () => {
    const a = axis(ms, (m) => m.d, "2027-12-31");
    expect(a?.today).toBe(1);
    expect(a?.to).toBe("2027-12-31");
  });
  it("puts one lone day in the middle, and has nothing without dates", () => {
    expect(axis([{ d: "2026-03-03" }], (m) => m.d, "2026-03-03")?.placed[0]?.at).toBe(0.5);
    expect(axis([{ d: null }, { d: "not a date" }], (m) => m.d, "2026-03-03")).toBeNull();
  });
});

import { describe, expect, it } from "vitest";
import { forget, parseRecent, recentFirst, remember, type Recent } from "./recent";

const r = (id: string): Recent => ({ entity: "contact", id, title: id, subtitle: "" });

describe("recent records", () => {
  it("puts the latest first, once, and keeps at most max", () => {
    let list: Recent[] = [];
    for (const id of ["a", "b", "c", "a"]) list = remember(list, r(id), 3);
    expect(list.map((x) => x.id)).toEqual(["a", "c", "b"]);
    list = remember(list, r("d"), 3);
    expect(list.map((x) => x.id)).toEqual(["d", "a", "c"]);
  });

  it("forgets a deleted record", () => {
    expect(forget([r("a"), r("b")], "contact", "a").map((x) => x.id)).toEqual(["b"]);
  });

  it("ranks recently opened hits first, in the order opened, and keeps the rest in order", () => {
    const hits = ["x", "b", "y", "a"].map((id) => ({ entity: "contact", id }));
    const out = recentFirst(hits, [r("a"), r("b")]);
    expect(out.map((h) => h.id)).toEqual(["a", "b", "x", "y"]);
  });

  it("reads back what it stored and ignores anything else", () => {
    expect(parseRecent(JSON.stringify([r("a")]))).toEqual([r("a")]);
    expect(parseRecent("not json")).toEqual([]);
    expect(parseRecent(JSON.stringify([{ id: 3 }]))).toEqual([]);
    expect(parseRecent(null)).toEqual([]);
  });
});

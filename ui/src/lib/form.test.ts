import { describe, expect, it } from "vitest";
import { fieldsToSend, splitChips, toForm, toJson } from "./form";
import type { KindSchema } from "./types";

const text: KindSchema = { type: "text", max: 200 };
const int: KindSchema = { type: "int", min: 0, max: 10 };
const list: KindSchema = { type: "list" };
const long: KindSchema = { type: "long_text" };

describe("toForm / toJson", () => {
  it("round-trips text, numbers and lists", () => {
    expect(toJson(text, toForm(text, "Bùi Thanh Sơn"))).toBe("Bùi Thanh Sơn");
    expect(toJson(int, toForm(int, 7))).toBe(7);
    expect(toJson(list, toForm(list, ["en", "th"]))).toEqual(["en", "th"]);
  });
  it("clears an emptied field", () => {
    expect(toJson(text, "   ")).toBeNull();
    expect(toForm(text, null)).toBe("");
  });
  it("sends what is not a number as typed, for the core to name", () => {
    expect(toJson(int, "seven")).toBe("seven");
  });
  it("keeps long text as written, inner spaces and new lines included", () => {
    expect(toJson(long, "  Point one\n  Point two")).toBe("  Point one\n  Point two");
  });
});

describe("fieldsToSend", () => {
  const fields = [
    { name: "name", kind: text },
    { name: "rank", kind: int },
    { name: "tags", kind: list },
  ];
  it("sends only filled fields for a new record", () => {
    expect(fieldsToSend(fields, { name: "ក្រសួង", rank: "", tags: [] }, null)).toEqual({ name: "ក្រសួង" });
  });
  it("sends only what changed in an edit, and a clearing as null", () => {
    const original = { name: "A", rank: 3, tags: ["x"] };
    expect(fieldsToSend(fields, { name: "A", rank: "", tags: ["x", "y"] }, original)).toEqual({
      rank: null,
      tags: ["x", "y"],
    });
    expect(fieldsToSend(fields, { name: "A", rank: "3", tags: ["x"] }, original)).toEqual({});
  });
});

describe("splitChips", () => {
  it("splits pasted lists on commas, semicolons and new lines", () => {
    expect(splitChips("en, th;km\n lo ,")).toEqual(["en", "th", "km", "lo"]);
  });
});

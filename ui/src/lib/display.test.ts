import { describe, expect, it } from "vitest";
import { count, counted, localTime, money, words } from "./display";

describe("display", () => {
  it("says one thing and many things", () => {
    expect(counted(1, "change")).toBe("1 change");
    expect(counted(0, "file")).toBe("0 files");
    expect(counted(1200, "audit event")).toBe("1,200 audit events");
    expect(counted(2, "delegation", "delegations")).toBe("2 delegations");
  });

  it("reads enum values as words", () => {
    expect(words("head_of_delegation")).toBe("head of delegation");
    expect(words("confirmed")).toBe("confirmed");
  });
  it("shows times to the minute in local time, and leaves what is not a time alone", () => {
    const iso = "2026-12-06T16:02:54.718Z";
    const d = new Date(iso);
    expect(localTime(iso)).toBe(
      `${d.getFullYear()}-12-${String(d.getDate()).padStart(2, "0")} ${String(d.getHours()).padStart(2, "0")}:02`,
    );
    expect(localTime("yesterday")).toBe("yesterday");
  });
  it("groups thousands in counts", () => {
    expect(count(0)).toBe("0");
    expect(count(999)).toBe("999");
    expect(count(1000)).toBe("1,000");
    expect(count(100037)).toBe("100,037");
    expect(count(213800)).toBe("213,800");
    expect(count(-1234567)).toBe("-1,234,567");
  });
});

describe("money", () => {
  it("shows whole units grouped, with the currency", () => {
    expect(money(12000000.4, "USD")).toBe("USD 12,000,000");
    expect(money(950, null)).toBe("950");
  });
  it("shows a dash for no amount", () => {
    expect(money(null, "USD")).toBe("—");
    expect(money(undefined, "THB")).toBe("—");
  });
});

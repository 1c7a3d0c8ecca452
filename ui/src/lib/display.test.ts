import { describe, expect, it } from "vitest";
import { localTime, words } from "./display";

describe("display", () => {
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
});

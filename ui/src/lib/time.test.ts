import { describe, expect, it } from "vitest";
import { ago } from "./time";

describe("ago", () => {
  const now = 1_800_000_000_000;
  it("reads as people say it", () => {
    expect(ago(now - 10_000, now)).toBe("just now");
    expect(ago(now - 5 * 60_000, now)).toBe("5 min ago");
    expect(ago(now - 3 * 3_600_000, now)).toBe("3 h ago");
    expect(ago(now - 26 * 3_600_000, now)).toBe("yesterday");
    expect(ago(now - 9 * 86_400_000, now)).toBe("9 days ago");
  });
  it("never says a moment is in the future", () => {
    expect(ago(now + 60_000, now)).toBe("just now");
  });
});

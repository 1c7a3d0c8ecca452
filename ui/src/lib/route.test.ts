import { describe, expect, it } from "vitest";
import { HOME, parseRoute, sameRoute } from "./route";

describe("parseRoute", () => {
  const entities = ["contact", "meeting"];
  it("restores a saved list or record view", () => {
    expect(parseRoute(JSON.stringify({ view: "list", entity: "contact" }), entities)).toEqual({
      view: "list",
      entity: "contact",
    });
    expect(parseRoute(JSON.stringify({ view: "record", entity: "meeting", id: "m1" }), entities)).toEqual({
      view: "record",
      entity: "meeting",
      id: "m1",
    });
  });
  it("restores the tracker, portfolio, conflicts and settings screens", () => {
    for (const view of ["tracker", "portfolio", "conflicts", "settings"]) {
      expect(parseRoute(JSON.stringify({ view }), entities)).toEqual({ view });
    }
    expect(parseRoute(JSON.stringify({ view: "spaceship" }), entities)).toEqual(HOME);
  });
  it("falls back to home for anything it cannot use", () => {
    expect(parseRoute(null, entities)).toEqual(HOME);
    expect(parseRoute("{", entities)).toEqual(HOME);
    expect(parseRoute(JSON.stringify({ view: "list", entity: "spaceship" }), entities)).toEqual(HOME);
    expect(parseRoute(JSON.stringify({ view: "record", entity: "contact" }), entities)).toEqual(HOME);
  });
  it("compares routes by value", () => {
    expect(sameRoute({ view: "list", entity: "contact" }, { view: "list", entity: "contact" })).toBe(true);
    expect(sameRoute(HOME, { view: "list", entity: "contact" })).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { label, matches, typingIn } from "./keys";

const press = (key: string, mods: Partial<Record<"ctrlKey" | "metaKey" | "altKey" | "shiftKey", boolean>> = {}) => ({
  key,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  shiftKey: false,
  ...mods,
});

describe("matches", () => {
  it("takes Ctrl as Mod off a Mac and Cmd on one", () => {
    expect(matches(press("k", { ctrlKey: true }), "Mod+K")).toBe(true);
    expect(matches(press("k", { metaKey: true }), "Mod+K", true)).toBe(true);
    expect(matches(press("k", { ctrlKey: true }), "Mod+K", true)).toBe(false);
  });
  it("needs exactly the modifiers named", () => {
    expect(matches(press("z", { ctrlKey: true, shiftKey: true }), "Mod+Z")).toBe(false);
    expect(matches(press("Z", { ctrlKey: true, shiftKey: true }), "Mod+Shift+Z")).toBe(true);
    expect(matches(press("k"), "Mod+K")).toBe(false);
  });
  it("compares named keys exactly", () => {
    expect(matches(press("ArrowLeft", { altKey: true }), "Alt+ArrowLeft")).toBe(true);
    expect(matches(press("Delete"), "Delete")).toBe(true);
    expect(matches(press("Escape"), "Delete")).toBe(false);
  });
});

describe("typingIn", () => {
  it("knows text fields from buttons", () => {
    expect(typingIn({ tagName: "INPUT", type: "text" } as unknown as EventTarget)).toBe(true);
    expect(typingIn({ tagName: "TEXTAREA" } as unknown as EventTarget)).toBe(true);
    expect(typingIn({ tagName: "INPUT", type: "checkbox" } as unknown as EventTarget)).toBe(false);
    expect(typingIn({ tagName: "BUTTON" } as unknown as EventTarget)).toBe(false);
    expect(typingIn(null)).toBe(false);
  });
});

describe("label", () => {
  it("names shortcuts as each platform does", () => {
    expect(label("Mod+K")).toBe("Ctrl+K");
    expect(label("Mod+K", true)).toBe("⌘K");
    expect(label("Alt+ArrowUp")).toBe("Alt+Up");
  });
});

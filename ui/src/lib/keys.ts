// Keyboard shortcuts, written as "Mod+K", "Alt+ArrowLeft", "Delete": Mod is Ctrl (Cmd on a Mac).

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
}

export function matches(e: KeyLike, shortcut: string, mac = false): boolean {
  const parts = shortcut.split("+");
  const key = parts.pop() ?? "";
  const want = new Set(parts.map((p) => p.toLowerCase()));
  const mod = mac ? e.metaKey : e.ctrlKey;
  if (want.has("mod") !== mod) return false;
  if (want.has("alt") !== e.altKey) return false;
  if (want.has("shift") !== e.shiftKey) return false;
  if (!mac && e.metaKey) return false;
  return e.key.length === 1 ? e.key.toLowerCase() === key.toLowerCase() : e.key === key;
}

/** Whether a key press belongs to a text field (its own undo, its own arrows), not to the app. */
export function typingIn(target: EventTarget | null): boolean {
  if (!target || typeof (target as HTMLElement).tagName !== "string") return false;
  const el = target as HTMLElement;
  const tag = el.tagName.toLowerCase();
  if (tag === "textarea" || tag === "select" || el.isContentEditable) return true;
  if (tag !== "input") return false;
  const type = (el as HTMLInputElement).type;
  return !["button", "checkbox", "radio", "submit", "reset"].includes(type);
}

/** How a shortcut is shown on a button or in help text. */
export function label(shortcut: string, mac = false): string {
  return shortcut
    .split("+")
    .map((p) => (p === "Mod" ? (mac ? "⌘" : "Ctrl") : p.replace("Arrow", "")))
    .join(mac ? "" : "+");
}

/** Whether a key press happened inside a dialog (the pack dialog, a form): page shortcuts
 *  behind it stay quiet. */
export function inDialog(target: EventTarget | null): boolean {
  const el = target as Element | null;
  return typeof el?.closest === "function" && el.closest("dialog") !== null;
}

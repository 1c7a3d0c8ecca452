// The app's shared state: the entity descriptors from the core, where the user is, a revision
// number that views reload on (bumped after every write, undo and arriving sync), toasts, the
// records opened lately, and the dialogs that float over every view.

import { call, commands, DeskError, messageOf } from "./api";
import { forget, parseRecent, remember, type Recent } from "./recent";
import { HOME, parseRoute, sameRoute, type Route } from "./route";
import type { EntitySchema, LockPolicy, RecordView } from "./types";

export interface Toast {
  id: number;
  text: string;
  tone: "info" | "error";
  /** Offer "Undo" (the core's undo of the last local change). */
  undo: boolean;
}

export interface Editing {
  entity: string;
  /** The record edited; null for a new one. */
  record: RecordView | null;
  /** Fields given in advance for a new record (its parent, say). */
  preset: Record<string, string>;
}

// Saved per replica (by its device id): another replica on this computer has other records.
let scope = "";
const routeKey = () => `desk.route.${scope}`;
const recentKey = () => `desk.recent.${scope}`;

function load(key: string): string | null {
  try {
    return globalThis.localStorage?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

function save(key: string, value: string): void {
  try {
    globalThis.localStorage?.setItem(key, value);
  } catch {
    // Storage full or unavailable: the app works on, it only forgets.
  }
}

class Desk {
  schema = $state<EntitySchema[]>([]);
  route = $state<Route>(HOME);
  revision = $state(0);
  toasts = $state<Toast[]>([]);
  recent = $state<Recent[]>([]);
  paletteOpen = $state(false);
  editing = $state<Editing | null>(null);
  /** The app lock's policy (a PIN set? the idle minutes), from the core. */
  lock = $state.raw<LockPolicy | null>(null);
  private history: Route[] = [];
  private nextToast = 1;

  entity(name: string): EntitySchema | undefined {
    return this.schema.find((s) => s.name === name);
  }

  /** The options of an enum field, as the core describes them (none for other fields). */
  options(entity: string, field: string): string[] {
    const f = this.entity(entity)?.fields.find((x) => x.name === field);
    return f?.kind.type === "enum" ? f.kind.options : [];
  }

  /** The entities whose parent is `name` (a meeting's agenda items, participants…). */
  children(name: string): EntitySchema[] {
    return this.schema.filter((s) => s.parent?.entity === name);
  }

  /** Loads the descriptors, and the view and recent records saved for this replica. */
  async start(): Promise<void> {
    const summary = await call(commands.summary());
    scope = summary.device;
    this.schema = await commands.describe();
    this.lock = await call(commands.lockPolicy());
    this.recent = parseRecent(load(recentKey()));
    this.route = parseRoute(
      load(routeKey()),
      this.schema.map((s) => s.name),
    );
  }

  go(route: Route): void {
    if (sameRoute(route, this.route)) return;
    this.history.push(this.route);
    if (this.history.length > 100) this.history.shift();
    this.route = route;
    save(routeKey(), JSON.stringify(route));
  }

  back(): void {
    const prev = this.history.pop();
    if (prev) {
      this.route = prev;
      save(routeKey(), JSON.stringify(prev));
    }
  }

  open(entity: string, id: string, title: string, subtitle = ""): void {
    this.recent = remember(this.recent, { entity, id, title, subtitle });
    save(recentKey(), JSON.stringify(this.recent));
    this.go({ view: "record", entity, id });
  }

  forgetRecent(entity: string, id: string): void {
    this.recent = forget(this.recent, entity, id);
    save(recentKey(), JSON.stringify(this.recent));
  }

  /** Something in the replica changed: views reload. */
  changed(): void {
    this.revision += 1;
  }

  toast(text: string, options: { undo?: boolean; tone?: Toast["tone"] } = {}): void {
    const t: Toast = { id: this.nextToast++, text, tone: options.tone ?? "info", undo: options.undo ?? false };
    this.toasts = [...this.toasts.slice(-1), t];
    setTimeout(() => this.dismiss(t.id), t.undo ? 10_000 : 6_000);
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id);
  }

  error(e: unknown): void {
    this.toast(messageOf(e), { tone: "error" });
  }

  /** The core's undo of the last local change (Ctrl+Z, or Undo on a toast). */
  async undo(): Promise<void> {
    try {
      const report = await call(commands.undo());
      if (report === null) {
        this.toast("Nothing to undo");
        return;
      }
      const n = report.records.length;
      const kept = report.kept_newer.length;
      this.toast(
        `Undone: ${n} record${n === 1 ? "" : "s"} put back` +
          (kept > 0 ? `; ${kept} field${kept === 1 ? "" : "s"} changed since were kept` : ""),
      );
      this.changed();
    } catch (e) {
      this.error(e);
    }
  }

  /**
   * Locks the app (Ctrl+L, idle, "Lock now"): the shell closes the replica, then the page
   * starts again from nothing, so no record stays in its memory or on screen. Without a PIN the
   * shell refuses, and Settings › App lock opens to choose one.
   */
  async lockNow(): Promise<void> {
    try {
      await call(commands.lockNow());
      globalThis.location.reload();
    } catch (e) {
      this.error(e);
      if (e instanceof DeskError && e.field === "pin") this.go({ view: "settings" });
    }
  }

  edit(entity: string, record: RecordView | null, preset: Record<string, string> = {}): void {
    this.editing = { entity, record, preset };
  }
}

export const desk = new Desk();
export { DeskError };

// Calls into the Rust shell go through the generated `commands` (../bindings.ts); this turns
// their Result into a value or a thrown DeskError that keeps the core's kind and field.

import type { CommandError, Result } from "../bindings";

export { commands } from "../bindings";

export class DeskError extends Error {
  readonly kind: CommandError["kind"];
  readonly field: string | null;
  constructor(e: CommandError) {
    super(e.message);
    this.kind = e.kind;
    this.field = e.field;
  }
}

/** Called when a command says the offline lease ran out while the app was open (the shell
 *  has closed the replica): the app starts again at the lease screen. Set once the app is in. */
let leaseEnded: (() => void) | null = null;
export function onLeaseEnded(f: (() => void) | null): void {
  leaseEnded = f;
}

export async function call<T>(p: Promise<Result<T, CommandError>>): Promise<T> {
  const r = await p;
  if (r.status === "ok") return r.data;
  if (r.error.field === "lease") leaseEnded?.();
  throw new DeskError(r.error);
}

export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

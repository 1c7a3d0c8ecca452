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

export async function call<T>(p: Promise<Result<T, CommandError>>): Promise<T> {
  const r = await p;
  if (r.status === "ok") return r.data;
  throw new DeskError(r.error);
}

export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

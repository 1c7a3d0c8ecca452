import { describe, expect, it } from "vitest";
import { phaseOf } from "./syncphase";
import type { SyncEvent, SyncStatus } from "./types";

const idle: SyncEvent = { state: "idle", pushed: 2, pulled: 5, purged: 0, kept_for_review: 0, restamped: 0 };

function status(pending: number, last: SyncEvent | null, signed_in = true): SyncStatus {
  return {
    signed_in,
    server: "http://127.0.0.1:8730",
    user: "som",
    running: true,
    last,
    pending,
    last_success_ms: 1_800_000_000_000,
    lease: { state: "none" },
  };
}

describe("the sync bar's phase", () => {
  it("says up to date only when nothing waits to be sent", () => {
    expect(phaseOf(status(0, idle), null).text).toBe("Online, up to date");
    const after = phaseOf(status(3, idle), null);
    expect(after.key).toBe("online");
    expect(after.text).not.toContain("up to date");
    expect(after.text).toContain("next round");
  });
  it("prefers the live event to the one the shell kept", () => {
    const p = phaseOf(status(0, idle), { state: "syncing", pushed: 1200, pulled: 0 });
    expect(p.key).toBe("syncing");
    expect(p.text).toContain("sent");
  });
  it("is local when not signed in, whatever the loop last said", () => {
    expect(phaseOf(status(4, idle, false), idle).key).toBe("local");
    expect(phaseOf(null, null).key).toBe("local");
  });
  it("names the retry and the reason when offline or stopped", () => {
    const off = phaseOf(status(1, null), { state: "offline", message: "server unreachable", retry_in_secs: 8 });
    expect(off).toEqual({ key: "offline", text: "Offline: server unreachable (next try in 8 s)" });
    const stop = phaseOf(status(0, { state: "stopped", code: "revoked", message: "this device was revoked" }), null);
    expect(stop.key).toBe("stopped");
  });
});

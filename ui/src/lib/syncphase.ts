import { count } from "./display";
import type { SyncEvent, SyncStatus } from "./types";

export type Phase = { key: "local" | "idle" | "syncing" | "online" | "offline" | "stopped"; text: string };

/** What the sync bar says: the loop's latest event (`live`, else the last one the shell kept),
 * read together with the replica's count of edits not yet accepted by the server — a round
 * that ended up to date says nothing about edits made since, which wait for the next one. */
export function phaseOf(status: SyncStatus | null, live: SyncEvent | null): Phase {
  if (!status?.signed_in) return { key: "local", text: "Not signed in: working on this computer only" };
  const event = live ?? status.last ?? null;
  if (!event) return { key: "idle", text: "Signed in" };
  switch (event.state) {
    case "syncing":
      return { key: "syncing", text: `Syncing… ${count(event.pushed)} sent, ${count(event.pulled)} received` };
    case "idle":
      return status.pending > 0
        ? { key: "online", text: "Online: your latest changes go with the next round" }
        : { key: "online", text: "Online, up to date" };
    case "offline":
      return { key: "offline", text: `Offline: ${event.message} (next try in ${event.retry_in_secs} s)` };
    case "stopped":
      return { key: "stopped", text: `Sync stopped: ${event.message}` };
  }
}

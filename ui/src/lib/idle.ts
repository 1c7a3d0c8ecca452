// The app lock's idle timer: the app locks itself after the minutes the core's lock policy
// gives without a key press, click, pointer move or scroll. The timer is the UI's own (only the
// page sees the user's activity); locking itself is the shell's (`lock_now`).

/** Events that count as use of the app. */
export const ACTIVITY = ["keydown", "pointerdown", "pointermove", "wheel", "touchstart"] as const;

export interface Clock {
  now(): number;
  /** Calls `f` after `ms`; returns a cancel. */
  after(ms: number, f: () => void): () => void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  after: (ms, f) => {
    const t = setTimeout(f, ms);
    return () => clearTimeout(t);
  },
};

/**
 * Calls `onIdle` once when `minutes` pass with no `touch()`. Activity only records the time (no
 * timer is reset per pointer move); the one timer, when it fires early, waits out the rest.
 */
export class IdleTimer {
  private last: number;
  private cancel: (() => void) | null = null;
  private fired = false;

  constructor(
    private readonly minutes: number,
    private readonly onIdle: () => void,
    private readonly clock: Clock = realClock,
  ) {
    this.last = clock.now();
    this.arm(this.limit());
  }

  private limit(): number {
    return Math.max(1, this.minutes) * 60_000;
  }

  private arm(ms: number): void {
    this.cancel = this.clock.after(ms, () => this.check());
  }

  private check(): void {
    const quiet = this.clock.now() - this.last;
    if (quiet >= this.limit()) {
      this.fired = true;
      this.cancel = null;
      this.onIdle();
    } else {
      this.arm(this.limit() - quiet);
    }
  }

  /** The user did something. */
  touch(): void {
    if (!this.fired) this.last = this.clock.now();
  }

  stop(): void {
    this.cancel?.();
    this.cancel = null;
    this.fired = true;
  }
}

import { describe, expect, it } from "vitest";
import { IdleTimer, type Clock } from "./idle";

/** A clock the test moves by hand. */
function fakeClock() {
  let now = 0;
  let timers: { at: number; f: () => void; id: number }[] = [];
  let next = 0;
  const clock: Clock = {
    now: () => now,
    after(ms, f) {
      const id = next++;
      timers.push({ at: now + ms, f, id });
      return () => {
        timers = timers.filter((t) => t.id !== id);
      };
    },
  };
  const advance = (ms: number) => {
    const until = now + ms;
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const t = timers[0];
      if (!t || t.at > until) break;
      timers.shift();
      now = t.at;
      t.f();
    }
    now = until;
  };
  return { clock, advance, pending: () => timers.length };
}

describe("the idle timer", () => {
  it("fires once after the minutes without use", () => {
    const c = fakeClock();
    let fired = 0;
    new IdleTimer(10, () => fired++, c.clock);
    c.advance(9 * 60_000 + 59_000);
    expect(fired).toBe(0);
    c.advance(1_000);
    expect(fired).toBe(1);
    c.advance(60 * 60_000);
    expect(fired).toBe(1);
  });

  it("counts from the last use, with one timer whatever the activity", () => {
    const c = fakeClock();
    let fired = 0;
    const t = new IdleTimer(5, () => fired++, c.clock);
    for (let i = 0; i < 100; i++) {
      c.advance(3_000);
      t.touch();
    }
    expect(c.pending()).toBe(1);
    // 300 s of use, then 4 minutes 59 quiet: still open.
    c.advance(5 * 60_000 - 1_000);
    expect(fired).toBe(0);
    c.advance(1_000);
    expect(fired).toBe(1);
  });

  it("stops for good", () => {
    const c = fakeClock();
    let fired = 0;
    const t = new IdleTimer(1, () => fired++, c.clock);
    t.stop();
    c.advance(10 * 60_000);
    expect(fired).toBe(0);
    expect(c.pending()).toBe(0);
  });
});

//! Hybrid logical clocks and field versions.
//!
//! An [`Hlc`] is 64 bits: the upper 48 are milliseconds since the Unix epoch, the lower 16 a
//! logical counter. It never goes backwards on one replica, even if the wall clock does, and it
//! moves past every clock it observes, so a causally later edit always carries a larger clock.
//! A [`Version`] pairs a clock with the device that made it; versions are totally ordered by
//! `(hlc, device)`, which is the one merge rule ("highest version wins") used everywhere.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Hlc(pub u64);

const LOGICAL_BITS: u32 = 16;
const LOGICAL_MASK: u64 = (1 << LOGICAL_BITS) - 1;

impl Hlc {
    pub const ZERO: Hlc = Hlc(0);

    pub fn new(millis: u64, logical: u16) -> Hlc {
        Hlc((millis << LOGICAL_BITS) | u64::from(logical))
    }
    pub fn millis(self) -> u64 {
        self.0 >> LOGICAL_BITS
    }
    pub fn logical(self) -> u16 {
        (self.0 & LOGICAL_MASK) as u16
    }
    /// The wall-clock time this clock stands for, as RFC 3339 (UTC, milliseconds).
    pub fn to_rfc3339(self) -> String {
        let ms = i64::try_from(self.millis()).unwrap_or(i64::MAX);
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default()
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.millis(), self.logical())
    }
}

/// A replica's clock. `tick` stamps a local event; `observe` merges a clock seen from elsewhere.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    last: Hlc,
}

impl Clock {
    pub fn starting_at(last: Hlc) -> Clock {
        Clock { last }
    }
    pub fn last(&self) -> Hlc {
        self.last
    }
    /// A fresh clock for a local event at wall time `now_ms`, greater than every clock so far.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        let candidate = Hlc::new(now_ms, 0);
        self.last = if candidate > self.last {
            candidate
        } else {
            Hlc(self.last.0 + 1)
        };
        self.last
    }
    /// Moves past a clock received from another replica.
    pub fn observe(&mut self, seen: Hlc) {
        if seen > self.last {
            self.last = seen;
        }
    }
}

/// The version of one field: who wrote it, and when by the hybrid clock. Ordered by clock,
/// then by device id, so every replica picks the same winner whatever order edits arrive in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version {
    pub hlc: Hlc,
    pub device: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tick_is_monotonic_when_the_wall_clock_goes_back() {
        let mut c = Clock::starting_at(Hlc::ZERO);
        let a = c.tick(1_000);
        let b = c.tick(900);
        let d = c.tick(1_000);
        assert!(a < b && b < d);
        assert_eq!(b.millis(), 1_000);
        assert_eq!(b.logical(), 1);
    }

    #[test]
    fn observe_moves_past_a_remote_clock() {
        let mut c = Clock::starting_at(Hlc::new(5, 0));
        c.observe(Hlc::new(50, 3));
        assert!(c.tick(10) > Hlc::new(50, 3));
    }

    #[test]
    fn version_ties_break_on_device() {
        let a = Version {
            hlc: Hlc::new(1, 0),
            device: "a".into(),
        };
        let b = Version {
            hlc: Hlc::new(1, 0),
            device: "b".into(),
        };
        assert!(a < b);
    }

    proptest! {
        /// Whatever the wall clock does, successive ticks strictly increase.
        #[test]
        fn ticks_strictly_increase(times in proptest::collection::vec(0u64..1_000_000, 1..50)) {
            let mut c = Clock::starting_at(Hlc::ZERO);
            let mut prev = Hlc::ZERO;
            for t in times {
                let h = c.tick(t);
                prop_assert!(h > prev);
                prev = h;
            }
        }
    }
}

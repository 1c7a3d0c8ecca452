//! The merge rule, per field: the highest version `(hlc, device)` wins, whatever the order in
//! which writes arrive. Because versions are totally ordered, merging is a join on a total
//! order: commutative, associative and idempotent (property-tested below), so every replica
//! that has seen the same writes holds the same value.
//!
//! Not every losing write is harmless: when a write was made without having seen the value it
//! replaces (its base is older than the current version) and the two values differ, the edits
//! were concurrent. The rule still picks one winner, and [`is_conflict`] tells the caller to keep
//! the loser for a person to review (the sync issue's conflict inbox).

use crate::hlc::{Hlc, Version};
use serde::{Deserialize, Serialize};

/// One field's value and the version that wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Register<V> {
    pub value: V,
    pub version: Version,
}

/// Whether a write with version `incoming` replaces a field whose current version is
/// `current`. Equal versions are the same write (idempotence): replacing is harmless.
pub fn wins(incoming: &Version, current: &Version) -> bool {
    incoming >= current
}

/// The merge of two states of one field: the one with the higher version.
pub fn merge<V: Clone>(a: &Register<V>, b: &Register<V>) -> Register<V> {
    if wins(&b.version, &a.version) {
        b.clone()
    } else {
        a.clone()
    }
}

/// Whether an incoming write and the current state were concurrent edits that disagree: the
/// writer had not seen the current version (`base` older than it), and the values differ.
pub fn is_conflict<V: PartialEq>(base: Hlc, incoming: &V, current: &Register<V>) -> bool {
    base < current.version.hlc && *incoming != current.value
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reg() -> impl Strategy<Value = Register<u8>> {
        (0u64..20, 0u8..3, any::<u8>()).prop_map(|(h, d, v)| Register {
            value: v,
            version: Version {
                hlc: Hlc(h),
                device: format!("device-{d}"),
            },
        })
    }

    /// Distinct versions carry one value each (a version is one write).
    fn consistent(regs: &[&Register<u8>]) -> bool {
        regs.iter().all(|a| {
            regs.iter()
                .all(|b| a.version != b.version || a.value == b.value)
        })
    }

    proptest! {
        /// merge(a, b) = merge(b, a)
        #[test]
        fn commutative(a in reg(), b in reg()) {
            prop_assume!(consistent(&[&a, &b]));
            prop_assert_eq!(merge(&a, &b), merge(&b, &a));
        }

        /// merge(merge(a, b), c) = merge(a, merge(b, c))
        #[test]
        fn associative(a in reg(), b in reg(), c in reg()) {
            prop_assume!(consistent(&[&a, &b, &c]));
            prop_assert_eq!(merge(&merge(&a, &b), &c), merge(&a, &merge(&b, &c)));
        }

        /// merge(a, a) = a
        #[test]
        fn idempotent(a in reg()) {
            prop_assert_eq!(merge(&a, &a), a);
        }

        /// Any arrival order of the same writes ends in the same state, the highest version.
        #[test]
        fn order_independent(mut writes in proptest::collection::vec(reg(), 1..12), seed in any::<u64>()) {
            let refs: Vec<&Register<u8>> = writes.iter().collect();
            prop_assume!(consistent(&refs));
            let fold = |ws: &[Register<u8>]| ws[1..].iter().fold(ws[0].clone(), |acc, w| merge(&acc, w));
            let first = fold(&writes);
            let mut s = seed | 1;
            for i in (1..writes.len()).rev() {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                writes.swap(i, (s % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(fold(&writes), first.clone());
            let max = writes.iter().map(|w| &w.version).max();
            prop_assert_eq!(Some(&first.version), max);
        }
    }

    #[test]
    fn concurrent_disagreeing_edits_are_conflicts() {
        let current = Register {
            value: "Counsellor",
            version: Version {
                hlc: Hlc(10),
                device: "b".into(),
            },
        };
        // Seen the current version: an ordinary later edit.
        assert!(!is_conflict(Hlc(10), &"Minister", &current));
        // Not seen it, different value: a conflict to review.
        assert!(is_conflict(Hlc(5), &"Minister", &current));
        // Not seen it, same value: nothing to review.
        assert!(!is_conflict(Hlc(5), &"Counsellor", &current));
    }
}

//! The sync protocol: hybrid logical clocks, field versions, the merge rule every replica and
//! the server apply in the same way, the wire types a client and the server exchange
//! ([`v1`]: changes, push, pull, sign-in, checksum, the error body) and their compact binary
//! codec ([`wire`]), the one-time unlock codes of the offline lease ([`unlock`]) and the
//! sealed files of sync by hand-carried file ([`bundle`]).
//!
//! What it is not: it does no I/O (the codec works on bytes in memory) and knows no database,
//! no HTTP and no entity rules. The client engine (crates/sync) and the server (crates/server)
//! move changes and check them; this says what a change is, how it travels and what it does.

pub mod bundle;
pub mod hlc;
pub mod merge;
pub mod unlock;
pub mod v1;
pub mod wire;

pub use hlc::{Clock, Hlc, Version};

#[cfg(test)]
mod round_trip;

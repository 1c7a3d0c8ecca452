//! The sync protocol's shared rules: hybrid logical clocks, field versions, and the merge rule
//! every replica and the server apply in the same way. Serde only: no I/O, no database, no HTTP.
//!
//! What it is not: the client engine (crates/sync) or the server (crates/server); those move
//! changes, this decides what a change does.

pub mod hlc;
pub mod merge;

pub use hlc::{Clock, Hlc, Version};

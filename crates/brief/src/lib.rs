//! Briefing packs. Two steps, kept apart so each can be tested on its own:
//! - [`compose`]: replica → [`model::Pack`], a document model (sections of headings,
//!   paragraphs, field lists and tables). Pure given the replica; deterministic; snapshot-tested.
//! - render (with the briefing-pack issue): model → PDF bytes with printpdf and shaped text.
//!
//! What it is not: no I/O of its own, no UI.

pub mod compose;
pub mod fonts;
pub mod model;
pub mod shape;

pub use compose::{compose, Options, Paper};
pub use model::{Block, Cell, Pack, Section, SectionKind};

//! Briefing packs. Three steps, kept apart so each can be tested on its own:
//! - [`compose`]: replica → [`model::Pack`], a document model (sections of headings,
//!   paragraphs, field lists and tables). Pure given the replica; deterministic; snapshot-tested.
//! - [`layout`]: pack → pages of positioned, shaped lines ([`shape`], [`fonts`]).
//! - [`pdf`]: pages → PDF bytes with printpdf (glyph ids, ActualText, subset fonts).
//!
//! [`brief`] runs all three. What it is not: no file I/O of its own, no UI.

pub mod compose;
pub mod fonts;
pub mod layout;
pub mod model;
pub mod pdf;
pub mod shape;

pub use compose::{compose, Options, Paper};
pub use layout::{layout, ContentsEntry, Layout};
pub use model::{Block, Cell, Pack, Section, SectionKind};

/// A finished pack.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub pdf: Vec<u8>,
    pub pages: usize,
    /// The contents page's entries with the page each really starts on.
    pub contents: Vec<ContentsEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Replica(#[from] desk_core::Error),
    #[error(transparent)]
    Pdf(#[from] pdf::PdfError),
}

/// Lays out and writes a composed pack.
pub fn render(pack: &Pack, paper: Paper) -> Result<Rendered, Error> {
    let l = layout(pack, paper);
    let bytes = pdf::write(pack, &l)?;
    Ok(Rendered {
        pdf: bytes,
        pages: l.pages.len(),
        contents: l.contents,
    })
}

/// The briefing pack of one meeting, from the replica to PDF bytes.
pub fn brief(
    replica: &desk_core::Replica,
    meeting_id: &str,
    opts: &Options,
) -> Result<Rendered, Error> {
    let pack = compose(replica, meeting_id, opts)?;
    render(&pack, opts.paper)
}

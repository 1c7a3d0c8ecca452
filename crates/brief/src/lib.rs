//! Briefing packs. Three steps, kept apart so each can be tested on its own:
//! - [`compose`]: replica → [`model::Pack`], a document model (sections of headings,
//!   paragraphs, field lists and tables). Pure given the replica; deterministic; snapshot-tested.
//! - [`layout`]: pack → pages of positioned, shaped lines ([`shape`], [`fonts`]).
//! - [`pdf`]: pages → PDF bytes with printpdf (glyph ids, ActualText, subset fonts).
//!
//! - [`print`]: options from names ([`Choices`]), the pack's file name, and the one file it
//!   writes: [`write_file`], atomically (a temporary file renamed over the target).
//!
//! [`brief`] runs the first three. What it is not: no UI, no prompts, no choice of folder (the
//! front end says where), and it never changes the replica (composing only reads).

pub mod compose;
pub mod fonts;
pub mod layout;
pub mod model;
pub mod pdf;
pub mod print;
pub mod shape;

pub use compose::{compose, Options, Paper};
pub use layout::{layout, ContentsEntry, Layout};
pub use model::{Block, Cell, Pack, Section, SectionKind};
pub use print::{pack_file_name, write_file, Choices};

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
    /// An option named something that is not one of its choices.
    #[error("no {what} called {given:?}: the choices are {}", .choices.join(", "))]
    Option {
        /// The option: `paper` or `sections`.
        option: &'static str,
        what: &'static str,
        given: String,
        choices: Vec<&'static str>,
    },
    /// The PDF could not be written (nothing was left at the path but what was there before).
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn unknown(option: &'static str, given: &str, choices: &[&'static str]) -> Error {
        Error::Option {
            option,
            what: if option == "sections" {
                "section"
            } else {
                option
            },
            given: given.to_string(),
            choices: choices.to_vec(),
        }
    }

    /// The option an [`Error::Option`] is about (for a UI to point at it).
    pub fn option(&self) -> Option<&'static str> {
        match self {
            Error::Option { option, .. } => Some(option),
            _ => None,
        }
    }
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

/// Records in the replica, for the server's audit log, that `pack` (of meeting `meeting_id`)
/// was made into `file`: the meeting, the pages and sections, the marking, whom it was
/// prepared for. The server adds who and on which device when the replica next syncs.
pub fn record_made(
    replica: &mut desk_core::Replica,
    meeting_id: &str,
    pack: &Pack,
    rendered: &Rendered,
    file: &std::path::Path,
) -> Result<(), Error> {
    let sections: Vec<&str> = pack.sections.iter().map(|s| s.title.as_str()).collect();
    let marked = if pack.classification.is_empty() {
        "unmarked".to_string()
    } else {
        format!("marked {}", pack.classification)
    };
    let reader = if pack.prepared_for.is_empty() {
        "for no named reader".to_string()
    } else {
        pack.prepared_for.clone()
    };
    let detail = format!(
        "briefing pack of {} ({meeting_id}): {} pages, {} section(s): {}; {marked}; {reader}; saved as {}",
        pack.title,
        rendered.pages,
        sections.len(),
        sections.join(", "),
        file.display()
    );
    replica.record_audit("pack", &detail)?;
    Ok(())
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

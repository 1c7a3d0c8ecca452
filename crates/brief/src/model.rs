//! The composed briefing pack: what goes on the pages, before any layout.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pack {
    pub framework: String,
    pub title: String,
    /// Header line of every page.
    pub short_title: String,
    /// "8–9 December 2026" (with the Buddhist Era year when asked for).
    pub dates: String,
    pub venue: String,
    /// The marking printed on every page ("RESTRICTED", …).
    pub classification: String,
    /// "Data as of …", from the latest change in the replica (not the time of printing).
    pub data_as_of: String,
    /// The same instant in seconds since 1970 (the PDF's creation date: never the print time).
    pub as_of_unix: i64,
    /// "Prepared for NAME, DATE" on every page, or empty.
    pub prepared_for: String,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    Agenda,
    Briefs,
    Delegations,
    Bios,
    Projects,
    FollowUp,
    TalkingPoints,
    Documents,
}

impl SectionKind {
    pub const ALL: [SectionKind; 8] = [
        SectionKind::Agenda,
        SectionKind::Briefs,
        SectionKind::Delegations,
        SectionKind::Bios,
        SectionKind::Projects,
        SectionKind::FollowUp,
        SectionKind::TalkingPoints,
        SectionKind::Documents,
    ];

    pub fn title(self) -> &'static str {
        match self {
            SectionKind::Agenda => "Annotated agenda",
            SectionKind::Briefs => "Briefs by agenda item",
            SectionKind::Delegations => "Delegations and participants",
            SectionKind::Bios => "Heads of delegation",
            SectionKind::Projects => "Background: Prioritized Projects",
            SectionKind::FollowUp => "Previous decisions and follow-up",
            SectionKind::TalkingPoints => "Talking points",
            SectionKind::Documents => "List of documents",
        }
    }

    /// The section called `s`, if any (see [`SectionKind::named`] for an error naming the
    /// choices).
    pub fn parse(s: &str) -> Option<SectionKind> {
        SectionKind::named(s).ok()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    pub kind: SectionKind,
    pub title: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "block", rename_all = "snake_case")]
pub enum Block {
    Heading {
        level: u8,
        text: String,
    },
    Paragraph {
        text: String,
    },
    /// Label–value pairs (purpose, action requested, budget …).
    Fields {
        rows: Vec<(String, String)>,
    },
    /// A table whose header row repeats on every page it spans.
    Table {
        columns: Vec<String>,
        rows: Vec<Vec<Cell>>,
    },
}

/// The field label whose value starts with RED, AMBER or GREEN (a project's rating): printed
/// with a coloured marker.
pub const RATING_LABEL: &str = "Rating";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    pub text: String,
    /// Marked for attention: overdue, red rating.
    pub alert: bool,
}

impl Cell {
    pub fn new(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            alert: false,
        }
    }
    pub fn alert(text: impl Into<String>, alert: bool) -> Cell {
        Cell {
            text: text.into(),
            alert,
        }
    }
}

impl Pack {
    /// A plain-text outline of the pack, for snapshots and quick review.
    pub fn outline(&self) -> String {
        let mut o = String::new();
        o.push_str(&format!(
            "{}\n{}\n{}\n{}\n[{}] {}\n",
            self.framework,
            self.title,
            self.dates,
            self.venue,
            self.classification,
            self.data_as_of
        ));
        for s in &self.sections {
            o.push_str(&format!("\n# {}\n", s.title));
            for b in &s.blocks {
                match b {
                    Block::Heading { level, text } => {
                        o.push_str(&format!("{} {text}\n", "#".repeat(usize::from(*level) + 1)))
                    }
                    Block::Paragraph { text } => o.push_str(&format!("{text}\n")),
                    Block::Fields { rows } => {
                        for (k, v) in rows {
                            o.push_str(&format!("  {k}: {v}\n"));
                        }
                    }
                    Block::Table { columns, rows } => {
                        o.push_str(&format!("  | {} |\n", columns.join(" | ")));
                        for r in rows {
                            let cells: Vec<String> = r
                                .iter()
                                .map(|c| {
                                    if c.alert {
                                        format!("!{}", c.text)
                                    } else {
                                        c.text.clone()
                                    }
                                })
                                .collect();
                            o.push_str(&format!("  | {} |\n", cells.join(" | ")));
                        }
                    }
                }
            }
        }
        o
    }
}

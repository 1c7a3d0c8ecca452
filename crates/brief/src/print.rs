//! What printing a pack takes besides the pack itself, the same for every front end: options
//! given by name (`--paper letter`, the app's section list) checked against the choices, the
//! file name a pack is saved under, and writing the PDF in one step, so that a failed print
//! never leaves half a file (nor harms an older one of the same name).

use crate::compose::{Options, Paper};
use crate::model::SectionKind;
use crate::Error;
use std::io::Write;
use std::path::{Path, PathBuf};

impl SectionKind {
    /// The name of each section, in pack order (as front ends spell it).
    pub const NAMES: [&'static str; 8] = [
        "agenda",
        "briefs",
        "delegations",
        "bios",
        "projects",
        "follow_up",
        "talking_points",
        "documents",
    ];

    pub fn name(self) -> &'static str {
        match self {
            SectionKind::Agenda => "agenda",
            SectionKind::Briefs => "briefs",
            SectionKind::Delegations => "delegations",
            SectionKind::Bios => "bios",
            SectionKind::Projects => "projects",
            SectionKind::FollowUp => "follow_up",
            SectionKind::TalkingPoints => "talking_points",
            SectionKind::Documents => "documents",
        }
    }

    /// The section called `name`; an unknown name is an [`Error::Option`] listing the choices.
    pub fn named(name: &str) -> Result<SectionKind, Error> {
        SectionKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| Error::unknown("sections", name, &SectionKind::NAMES))
    }
}

impl Paper {
    pub const ALL: [Paper; 2] = [Paper::A4, Paper::Letter];
    pub const NAMES: [&'static str; 2] = ["a4", "letter"];

    pub fn name(self) -> &'static str {
        match self {
            Paper::A4 => "a4",
            Paper::Letter => "letter",
        }
    }

    /// The paper called `name`; an unknown name is an [`Error::Option`] listing the choices.
    pub fn named(name: &str) -> Result<Paper, Error> {
        Paper::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| Error::unknown("paper", name, &Paper::NAMES))
    }
}

/// Options as a front end receives them: names and plain values, each optional (absent: the
/// default).
#[derive(Debug, Clone, Default)]
pub struct Choices {
    /// `a4` (default) or `letter`.
    pub paper: Option<String>,
    /// Names of [`SectionKind::NAMES`]; absent: every section that has data.
    pub sections: Option<Vec<String>>,
    /// A marking for every page; absent or blank: the meeting's own.
    pub classification: Option<String>,
    pub buddhist_era: bool,
    /// How many previous meetings of the framework have their decisions reprinted (default 3).
    pub previous_meetings: Option<usize>,
    /// "Prepared for NAME" on every page: a name; blank for none; absent: the rule (for a
    /// restricted meeting, `reader`).
    pub prepared_for: Option<String>,
    /// Who is printing: the signed-in user, else the computer's user.
    pub reader: Option<String>,
}

impl Choices {
    /// The options these name; the first unknown name is refused ([`Error::Option`]).
    pub fn options(&self) -> Result<Options, Error> {
        let mut opts = Options {
            classification: self.classification.clone().filter(|c| !c.trim().is_empty()),
            buddhist_era: self.buddhist_era,
            prepared_for: self.prepared_for.clone(),
            reader: self.reader.clone(),
            ..Options::default()
        };
        if let Some(p) = &self.paper {
            opts.paper = Paper::named(p)?;
        }
        if let Some(list) = &self.sections {
            opts.sections = list
                .iter()
                .map(|s| SectionKind::named(s))
                .collect::<Result<_, _>>()?;
        }
        if let Some(n) = self.previous_meetings {
            opts.previous_meetings = n;
        }
        Ok(opts)
    }
}

/// The file name a meeting's pack is saved under, from its (short) title: letters, digits,
/// spaces and hyphens kept, anything else a space, at most 80 characters, e.g.
/// "ACMECS SOM 2026 briefing pack.pdf".
pub fn pack_file_name(title: &str) -> String {
    let base: String = title
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == ' ' || c == '-' {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let base = if base.is_empty() {
        "Meeting".to_string()
    } else {
        base
    };
    format!(
        "{} briefing pack.pdf",
        base.chars().take(80).collect::<String>()
    )
}

/// Writes `bytes` (a pack's PDF, or a document's file the CLI saves) to `path` in one step:
/// into a temporary file beside it, flushed to disk, then renamed over it. On any failure the
/// temporary file is removed and whatever was at `path` before is left as it was.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| Error::Write {
        path: path.display().to_string(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
    })?;
    let tmp = dir.join(format!(".{}.partial", name.to_string_lossy()));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&tmp, path));
    renamed.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        Error::Write {
            path: path.display().to_string(),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serialised_names() {
        for (k, name) in SectionKind::ALL.into_iter().zip(SectionKind::NAMES) {
            assert_eq!(k.name(), name);
            assert_eq!(serde_json::to_value(k).ok(), Some(serde_json::json!(name)));
        }
    }

    #[test]
    fn options_come_from_names_and_unknown_names_list_the_choices() {
        let opts = Choices {
            paper: Some("letter".into()),
            sections: Some(vec!["agenda".into(), "talking_points".into()]),
            classification: Some("  ".into()),
            ..Choices::default()
        }
        .options()
        .expect("options");
        assert_eq!(opts.paper, Paper::Letter);
        assert_eq!(
            opts.sections,
            [SectionKind::Agenda, SectionKind::TalkingPoints]
        );
        assert_eq!(opts.classification, None);
        for k in SectionKind::ALL {
            assert_eq!(SectionKind::named(k.name()).ok(), Some(k));
        }
        let e = Choices {
            sections: Some(vec!["agenda".into(), "minutes".into()]),
            ..Choices::default()
        }
        .options()
        .expect_err("unknown section");
        let text = e.to_string();
        assert!(
            text.contains("minutes") && text.contains("talking_points"),
            "{text}"
        );
        assert_eq!(e.option(), Some("sections"));
        let e = Paper::named("A3").expect_err("unknown paper");
        assert_eq!(e.option(), Some("paper"));
    }

    #[test]
    fn file_names_keep_letters_of_any_script() {
        assert_eq!(
            pack_file_name("ACMECS SOM 2026"),
            "ACMECS SOM 2026 briefing pack.pdf"
        );
        assert_eq!(
            pack_file_name("ประชุม / SOM: 2026?"),
            "ประชุม SOM 2026 briefing pack.pdf"
        );
        assert_eq!(pack_file_name("///"), "Meeting briefing pack.pdf");
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_partial_one() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("pack.pdf");
        write_file(&path, b"%PDF-old").expect("first");
        write_file(&path, b"%PDF-new").expect("replaced");
        assert_eq!(std::fs::read(&path).expect("read"), b"%PDF-new");
        let missing = dir.path().join("no/such/dir/pack.pdf");
        let e = write_file(&missing, b"%PDF-").expect_err("no folder");
        assert!(e.to_string().starts_with("cannot write"), "{e}");
        // A folder in the way of the rename: the temporary file is cleaned up.
        std::fs::create_dir(dir.path().join("taken.pdf")).expect("dir");
        write_file(&dir.path().join("taken.pdf"), b"%PDF-").expect_err("a folder");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.ends_with(".partial")), "{names:?}");
    }
}

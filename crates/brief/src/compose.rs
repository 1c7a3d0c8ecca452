//! Replica → briefing pack model. Everything printed comes from the replica; nothing from the
//! clock of the machine printing it (the "data as of" stamp is the latest change held), so the
//! same replica and options always compose the same pack.

use crate::model::{Block, Cell, Pack, Section, SectionKind};
use chrono::{Datelike, NaiveDate};
use desk_core::precedence::Delegation;
use desk_core::schema::country;
use desk_core::{display_value, Entity, ListQuery, Record, Replica, Result};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paper {
    #[default]
    A4,
    Letter,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub paper: Paper,
    /// Sections to include, in pack order; empty sections are left out regardless.
    pub sections: Vec<SectionKind>,
    /// Overrides the meeting's own classification marking.
    pub classification: Option<String>,
    /// Also show years in the Thai Buddhist Era (B.E. = C.E. + 543).
    pub buddhist_era: bool,
    /// How many previous meetings of the framework have their decisions reprinted.
    pub previous_meetings: usize,
    /// At most this many open action items in the follow-up matrix (a note says how many more).
    pub max_actions: usize,
    /// Every page says "Prepared for NAME, DATE" (a pack that leaves the room says whose it
    /// was): `Some(name)` for that name, `Some("")` for no such line; `None` for the rule, a
    /// line for restricted meetings naming `reader`.
    pub prepared_for: Option<String>,
    /// Who is printing (the signed-in user, else the computer's), for the rule above.
    pub reader: Option<String>,
    /// The day of printing, for that line.
    pub printed_on: Option<NaiveDate>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            paper: Paper::A4,
            sections: SectionKind::ALL.to_vec(),
            classification: None,
            buddhist_era: false,
            previous_meetings: 3,
            max_actions: 500,
            prepared_for: None,
            reader: None,
            printed_on: None,
        }
    }
}

fn s(rec: &Record, f: &str) -> String {
    rec.fields.get(f).map(display_value).unwrap_or_default()
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// "8–9 December 2026", "30 November – 2 December 2026", "8 December 2026 (B.E. 2569)".
pub fn format_dates(start: &str, end: Option<&str>, buddhist_era: bool) -> String {
    let Some(a) = date(start) else {
        return start.to_string();
    };
    let b = end.and_then(date).filter(|b| *b > a);
    let text = match b {
        None => a.format("%-d %B %Y").to_string(),
        Some(b) if a.year() != b.year() => {
            format!("{} – {}", a.format("%-d %B %Y"), b.format("%-d %B %Y"))
        }
        Some(b) if a.month() != b.month() => {
            format!("{} – {}", a.format("%-d %B"), b.format("%-d %B %Y"))
        }
        Some(b) => format!("{}–{}", a.format("%-d"), b.format("%-d %B %Y")),
    };
    if buddhist_era {
        let last = b.unwrap_or(a);
        format!("{text} (B.E. {})", last.year() + 543)
    } else {
        text
    }
}

fn money(currency: &str, amount: f64) -> String {
    let whole = amount.round() as i64;
    let digits = whole.abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{currency} {}{grouped}", if whole < 0 { "-" } else { "" })
}

/// A measured value as people write it: "5,000", "2.5", "0.75" (not "5000.0").
fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        money("", v).trim().to_string()
    } else {
        let t = format!("{v:.2}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn country_name(code: &str) -> String {
    country(code).map_or(code.to_string(), |c| c.name.to_string())
}

/// A meeting's or project's parts, long text shown with any unsettled second version.
fn children(r: &Replica, e: Entity, parent: &str) -> Result<Vec<Record>> {
    r.list(
        e,
        &ListQuery {
            parent: Some(parent.to_string()),
            ..Default::default()
        },
    )?
    .into_iter()
    .map(|rec| r.with_unsettled(rec))
    .collect()
}

/// Composes the briefing pack of one meeting.
pub fn compose(r: &Replica, meeting_id: &str, opts: &Options) -> Result<Pack> {
    let m = r.with_unsettled(r.get(Entity::Meeting, meeting_id)?)?;
    if m.deleted {
        return Err(desk_core::Error::Deleted {
            entity: "meeting",
            id: m.id,
        });
    }
    let as_of_hlc = r.data_as_of()?;
    let as_of = as_of_hlc.map(|h| h.to_rfc3339()).unwrap_or_default();
    let as_of_date = as_of.get(..10).unwrap_or_default().to_string();
    let start = s(&m, "start_date");
    let dates = format_dates(&start, m.str("end_date"), opts.buddhist_era);
    // Venue, city (unless the venue already names it), host country.
    let mut venue_parts: Vec<String> = Vec::new();
    for part in [
        s(&m, "venue"),
        s(&m, "city"),
        m.str("host_country").map(country_name).unwrap_or_default(),
    ] {
        if !part.is_empty() && !venue_parts.iter().any(|v| v.contains(&part)) {
            venue_parts.push(part);
        }
    }
    let venue = venue_parts.join(", ");
    let classification = opts
        .classification
        .clone()
        .unwrap_or_else(|| s(&m, "classification"))
        .to_uppercase();
    // "Prepared for": as asked, else for a restricted meeting the one printing it.
    let name = match &opts.prepared_for {
        Some(n) => n.trim().to_string(),
        None if s(&m, "classification") == "restricted" => {
            opts.reader.clone().unwrap_or_default().trim().to_string()
        }
        None => String::new(),
    };
    let prepared_for = if name.is_empty() {
        String::new()
    } else {
        let on = opts
            .printed_on
            .unwrap_or_else(|| chrono::Local::now().date_naive());
        format!(
            "Prepared for {name}, {}",
            format_dates(&on.format("%Y-%m-%d").to_string(), None, false)
        )
    };
    let agenda = children(r, Entity::AgendaItem, &m.id)?;
    // The numbers the app shows: typed, or following the order.
    let numbers = r.display_numbers(Entity::AgendaItem, &m.id)?;

    let mut sections = Vec::new();
    for kind in &opts.sections {
        let blocks = match kind {
            SectionKind::Agenda => agenda_blocks(r, &agenda, &numbers)?,
            SectionKind::Briefs => brief_blocks(&agenda, &numbers),
            SectionKind::Delegations => delegation_blocks(&r.delegations(&m.id)?),
            SectionKind::Bios => bio_blocks(r, &r.delegations(&m.id)?)?,
            SectionKind::Projects => project_blocks(r, &agenda)?,
            SectionKind::FollowUp => follow_up_blocks(r, &m, &as_of_date, opts)?,
            SectionKind::TalkingPoints => talking_point_blocks(
                &agenda,
                &numbers,
                &children(r, Entity::TalkingPoint, &m.id)?,
            ),
            SectionKind::Documents => document_blocks(r, &m.id)?,
        };
        if !blocks.is_empty() {
            sections.push(Section {
                kind: *kind,
                title: kind.title().to_string(),
                blocks,
            });
        }
    }
    Ok(Pack {
        framework: s(&m, "framework"),
        title: s(&m, "title"),
        short_title: m
            .str("short_title")
            .map(str::to_string)
            .unwrap_or_else(|| s(&m, "title")),
        dates,
        venue,
        classification,
        data_as_of: format!(
            "Data as of {} UTC",
            as_of.get(..16).unwrap_or_default().replace('T', " ")
        ),
        as_of_unix: as_of_hlc.map_or(0, |h| (h.millis() / 1000) as i64),
        prepared_for,
        sections,
    })
}

/// The item's number as the app shows it ([`Replica::display_numbers`]), then its title.
fn item_heading(a: &Record, numbers: &Numbers) -> String {
    match numbers.get(&a.id).map(String::as_str).or(a.str("number")) {
        Some(n) => format!("{n}. {}", s(a, "title")),
        None => s(a, "title"),
    }
}

/// Shown numbers by record id.
type Numbers = std::collections::HashMap<String, String>;

fn agenda_blocks(r: &Replica, agenda: &[Record], numbers: &Numbers) -> Result<Vec<Block>> {
    let mut out = Vec::new();
    for a in agenda {
        out.push(Block::Heading {
            level: 1,
            text: item_heading(a, numbers),
        });
        let mut rows = Vec::new();
        for (label, field) in [
            ("Purpose", "purpose"),
            ("Action requested", "action_requested"),
        ] {
            if let Some(v) = a.str(field) {
                rows.push((label.to_string(), v.to_string()));
            }
        }
        if let Some(c) = a.str("lead_country") {
            rows.push(("Lead country".into(), country_name(c)));
        }
        if let Some(p) = a
            .str("presenter")
            .and_then(|id| r.get(Entity::Contact, id).ok())
        {
            let person = desk_core::precedence::PersonName::from_contact(&p);
            rows.push(("Presenter".into(), person.formal()));
        }
        if !rows.is_empty() {
            out.push(Block::Fields { rows });
        }
        if let Some(t) = a.str("annotation") {
            out.push(Block::Paragraph {
                text: t.to_string(),
            });
        }
    }
    Ok(out)
}

const BRIEF_PARTS: [(&str, &str); 6] = [
    ("Objectives", "objectives"),
    ("Points to make", "points_to_make"),
    ("Their objectives", "their_objectives"),
    ("Our response", "our_response"),
    ("Press line", "press_line"),
    ("Background", "background"),
];

fn brief_blocks(agenda: &[Record], numbers: &Numbers) -> Vec<Block> {
    let mut out = Vec::new();
    for a in agenda {
        let parts: Vec<(&str, &str)> = BRIEF_PARTS
            .iter()
            .filter_map(|(label, f)| a.str(f).map(|v| (*label, v)))
            .collect();
        if parts.is_empty() {
            continue;
        }
        out.push(Block::Heading {
            level: 1,
            text: item_heading(a, numbers),
        });
        for (label, text) in parts {
            out.push(Block::Heading {
                level: 2,
                text: label.to_string(),
            });
            out.push(Block::Paragraph {
                text: text.to_string(),
            });
        }
    }
    out
}

fn delegation_blocks(dels: &[Delegation]) -> Vec<Block> {
    if dels.is_empty() {
        return Vec::new();
    }
    let mut rows = Vec::new();
    for d in dels {
        for (i, p) in d.members.iter().enumerate() {
            rows.push(vec![
                Cell::new(if i == 0 {
                    d.label.clone()
                } else {
                    String::new()
                }),
                Cell::new(p.formal_name.clone()),
                Cell::new(p.native_name.clone().unwrap_or_default()),
                Cell::new(p.title.clone().unwrap_or_default()),
                Cell::new(p.role.replace('_', " ")),
            ]);
        }
    }
    vec![Block::Table {
        columns: [
            "Delegation",
            "Name",
            "Name (native script)",
            "Position",
            "Role",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    }]
}

fn bio_blocks(r: &Replica, dels: &[Delegation]) -> Result<Vec<Block>> {
    let mut out = Vec::new();
    for d in dels {
        for p in d.members.iter().filter(|p| p.role == "head_of_delegation") {
            let c = r.get(Entity::Contact, &p.contact_id)?;
            out.push(Block::Heading {
                level: 1,
                text: format!("{} — {}", p.formal_name, d.label),
            });
            let mut rows = Vec::new();
            if let Some(n) = &p.native_name {
                rows.push(("Name".to_string(), n.clone()));
            }
            rows.push(("Address as".to_string(), p.salutation.clone()));
            if let Some(t) = &p.title {
                rows.push(("Position".to_string(), t.clone()));
            }
            if let Some(org) = c
                .str("org")
                .and_then(|o| r.get(Entity::Organisation, o).ok())
            {
                rows.push(("Organisation".to_string(), r.label(&org)));
            }
            out.push(Block::Fields { rows });
            if let Some(n) = c.str("notes") {
                out.push(Block::Paragraph {
                    text: n.to_string(),
                });
            }
        }
    }
    Ok(out)
}

fn project_blocks(r: &Replica, agenda: &[Record]) -> Result<Vec<Block>> {
    let mut ids: Vec<String> = Vec::new();
    for a in agenda {
        if let Some(Value::Array(ps)) = a.fields.get("projects") {
            for p in ps.iter().filter_map(Value::as_str) {
                if !ids.iter().any(|i| i == p) {
                    ids.push(p.to_string());
                }
            }
        }
    }
    let mut out = Vec::new();
    for id in ids {
        let p = r.with_unsettled(r.get(Entity::Project, &id)?)?;
        if p.deleted {
            continue;
        }
        out.push(Block::Heading {
            level: 1,
            text: format!("{} {}", s(&p, "code"), s(&p, "title")),
        });
        let update = children(r, Entity::Update, &p.id)?.into_iter().next();
        let mut rows = vec![
            ("Pillar".to_string(), s(&p, "pillar").replace('_', " ")),
            ("Status".to_string(), s(&p, "status")),
        ];
        if let Some(u) = &update {
            rows.push((
                crate::model::RATING_LABEL.to_string(),
                format!(
                    "{} (as of {})",
                    s(u, "rag").to_uppercase(),
                    s(u, "period_end")
                ),
            ));
        }
        if let Some(c) = p.str("lead_country") {
            rows.push(("Lead country".into(), country_name(c)));
        }
        if let Some(Value::Array(cs)) = p.fields.get("countries") {
            let names: Vec<String> = cs
                .iter()
                .filter_map(Value::as_str)
                .map(country_name)
                .collect();
            rows.push(("Countries".into(), names.join(", ")));
        }
        let currency = p.str("currency").unwrap_or("USD");
        let budget = p.fields.get("budget").and_then(Value::as_f64);
        if let Some(b) = budget {
            rows.push(("Budget".into(), money(currency, b)));
        }
        if let Some(f) = p.fields.get("funding_secured").and_then(Value::as_f64) {
            let share = budget
                .filter(|b| *b > 0.0)
                .map(|b| format!(" ({:.0}%)", 100.0 * f / b))
                .unwrap_or_default();
            rows.push((
                "Funding secured".into(),
                format!("{}{share}", money(currency, f)),
            ));
        }
        if let (Some(a), Some(b)) = (p.str("start_date"), p.str("end_date")) {
            rows.push(("Period".into(), format!("{a} to {b}")));
        }
        out.push(Block::Fields { rows });
        if let Some(u) = &update {
            if let Some(n) = u.str("narrative") {
                out.push(Block::Paragraph {
                    text: n.to_string(),
                });
            }
        }
        let milestones = children(r, Entity::Milestone, &p.id)?;
        if !milestones.is_empty() {
            out.push(Block::Table {
                columns: ["Milestone", "Due", "Status", "Achieved"]
                    .map(String::from)
                    .to_vec(),
                rows: milestones
                    .iter()
                    .map(|ms| {
                        vec![
                            Cell::new(s(ms, "title")),
                            Cell::new(s(ms, "due_date")),
                            Cell::alert(
                                s(ms, "status").replace('_', " "),
                                ms.str("status") == Some("delayed"),
                            ),
                            Cell::new(s(ms, "completed_date")),
                        ]
                    })
                    .collect(),
            });
        }
        // Each indicator's latest value (by date, then the last written), as the app's chart
        // ends.
        let indicators = r.project_indicators(&p.id)?;
        if !indicators.is_empty() {
            out.push(Block::Table {
                columns: ["Indicator", "Unit", "Baseline", "Target", "Actual", "As of"]
                    .map(String::from)
                    .to_vec(),
                rows: indicators
                    .iter()
                    .map(|i| {
                        let opt = |v: Option<f64>| v.map(format_number).unwrap_or_default();
                        vec![
                            Cell::new(i.name.clone()),
                            Cell::new(i.unit.clone().unwrap_or_default()),
                            Cell::new(opt(i.baseline)),
                            Cell::new(opt(i.target)),
                            Cell::new(opt(i.latest.as_ref().map(|l| l.value))),
                            Cell::new(
                                i.latest
                                    .as_ref()
                                    .map(|l| l.date.clone())
                                    .unwrap_or_default(),
                            ),
                        ]
                    })
                    .collect(),
            });
        }
    }
    Ok(out)
}

fn follow_up_blocks(
    r: &Replica,
    m: &Record,
    as_of_date: &str,
    opts: &Options,
) -> Result<Vec<Block>> {
    let framework = s(m, "framework");
    let start = s(m, "start_date");
    // Meetings are listed newest first.
    let previous: Vec<Record> = r
        .list(
            Entity::Meeting,
            &ListQuery {
                filters: vec![
                    desk_core::Filter::eq("framework", framework.clone()),
                    desk_core::Filter::lt("start_date", start.clone()),
                ],
                ..Default::default()
            },
        )?
        .into_iter()
        .filter(|p| p.id != m.id && !framework.is_empty())
        .collect();
    let mut out = Vec::new();
    for p in previous.iter().take(opts.previous_meetings) {
        let decisions = children(r, Entity::Decision, &p.id)?;
        if decisions.is_empty() {
            continue;
        }
        out.push(Block::Heading {
            level: 1,
            text: format!(
                "{} ({})",
                s(p, "title"),
                format_dates(&s(p, "start_date"), p.str("end_date"), opts.buddhist_era)
            ),
        });
        let numbers = r.display_numbers(Entity::Decision, &p.id)?;
        for d in decisions {
            let n = numbers
                .get(&d.id)
                .map(String::as_str)
                .or(d.str("number"))
                .map(|n| format!("{n}. "))
                .unwrap_or_default();
            out.push(Block::Paragraph {
                text: format!("{n}{}", s(&d, "text")),
            });
        }
    }
    // Open action items of every earlier meeting of the framework: the app's follow-up
    // tracker, same rows, same order, same due states.
    let open = if framework.is_empty() {
        Vec::new()
    } else {
        r.followup(&desk_core::FollowupQuery {
            framework: framework.clone(),
            due: desk_core::DueFilter::Pending,
            as_of: if as_of_date.is_empty() {
                start.clone()
            } else {
                as_of_date.to_string()
            },
            before: Some(start.clone()),
            ..Default::default()
        })?
    };
    if !open.is_empty() {
        let total = open.len();
        out.push(Block::Heading {
            level: 1,
            text: "Open action items".to_string(),
        });
        let rows = open
            .iter()
            .take(opts.max_actions)
            .map(|a| {
                let due = a.due_date.clone().unwrap_or_default();
                // Overdue as the app says it: one rule, in the core.
                let overdue = a.due == desk_core::DueState::Overdue;
                vec![
                    Cell::new(a.title.clone()),
                    Cell::new(a.meeting.label.clone()),
                    Cell::new(a.responsible.clone()),
                    Cell::alert(
                        if overdue {
                            format!("{due} (overdue)")
                        } else {
                            due
                        },
                        overdue,
                    ),
                    Cell::new(a.status.replace('_', " ")),
                ]
            })
            .collect();
        out.push(Block::Table {
            columns: ["Action", "Agreed at", "Responsible", "Due", "Status"]
                .map(String::from)
                .to_vec(),
            rows,
        });
        if total > opts.max_actions {
            out.push(Block::Paragraph {
                text: format!(
                    "{} further open action items are not printed here; the full follow-up matrix is in the replica.",
                    total - opts.max_actions
                ),
            });
        }
    }
    Ok(out)
}

fn talking_point_blocks(agenda: &[Record], numbers: &Numbers, points: &[Record]) -> Vec<Block> {
    let mut out = Vec::new();
    let general: Vec<&Record> = points
        .iter()
        .filter(|p| p.str("agenda_item").is_none())
        .collect();
    for (i, p) in general.iter().enumerate() {
        out.push(Block::Paragraph {
            text: format!("{}. {}", i + 1, s(p, "text")),
        });
    }
    for a in agenda {
        let mine: Vec<&Record> = points
            .iter()
            .filter(|p| p.str("agenda_item") == Some(a.id.as_str()))
            .collect();
        if mine.is_empty() {
            continue;
        }
        out.push(Block::Heading {
            level: 1,
            text: item_heading(a, numbers),
        });
        for (i, p) in mine.iter().enumerate() {
            out.push(Block::Paragraph {
                text: format!("{}. {}", i + 1, s(p, "text")),
            });
        }
    }
    out
}

fn document_blocks(r: &Replica, meeting_id: &str) -> Result<Vec<Block>> {
    let docs: Vec<Record> = r
        .list(Entity::Document, &ListQuery::default())?
        .into_iter()
        .filter(|d| d.str("meeting") == Some(meeting_id))
        .collect();
    if docs.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![Block::Table {
        columns: ["Symbol", "Title", "Status"].map(String::from).to_vec(),
        rows: docs
            .iter()
            .map(|d| {
                vec![
                    Cell::new(s(d, "symbol")),
                    Cell::new(s(d, "title")),
                    Cell::new(s(d, "status")),
                ]
            })
            .collect(),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_ranges_read_as_people_write_them() {
        assert_eq!(
            format_dates("2026-12-08", Some("2026-12-09"), false),
            "8–9 December 2026"
        );
        assert_eq!(
            format_dates("2026-11-30", Some("2026-12-02"), false),
            "30 November – 2 December 2026"
        );
        assert_eq!(
            format_dates("2026-12-31", Some("2027-01-01"), false),
            "31 December 2026 – 1 January 2027"
        );
        assert_eq!(
            format_dates("2026-12-08", None, true),
            "8 December 2026 (B.E. 2569)"
        );
        assert_eq!(
            format_dates("2026-12-08", Some("2026-12-08"), false),
            "8 December 2026"
        );
    }

    #[test]
    fn measured_values_read_as_written() {
        assert_eq!(format_number(5000.0), "5,000");
        assert_eq!(format_number(0.0), "0");
        assert_eq!(format_number(2.5), "2.5");
        assert_eq!(format_number(0.126), "0.13");
        assert_eq!(format_number(-1200.0), "-1,200");
    }

    #[test]
    fn money_is_grouped() {
        assert_eq!(money("USD", 1_500_000.0), "USD 1,500,000");
        assert_eq!(money("THB", 999.4), "THB 999");
    }
}

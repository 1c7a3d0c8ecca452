//! The spreadsheets the back office sends to Senior Officials (XLSX, see [`crate::xlsx`]): the
//! follow-up matrix of a framework's action items, a meeting's participants by delegation in
//! protocol order, and the project portfolio. Every figure, state and order is the core's
//! (`followup`, `delegations`, `portfolio`): these only lay them out, with typed cells (dates as
//! dates, money as numbers), a frozen header, filters, and the rows that need attention marked.

use crate::export::{guard_restricted, ExportError};
use crate::xlsx::{Cell, Column, ColumnKind, Row, Sheet, Workbook};
use chrono::NaiveDate;
use desk_core::{DueFilter, DueState, Entity, FollowupQuery, ListQuery, Replica};

/// `seamless_connectivity` → `Seamless connectivity`.
fn words(s: &str) -> String {
    let s = s.replace('_', " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => s,
    }
}

fn date(s: Option<&str>) -> Cell {
    match s.and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()) {
        Some(d) => Cell::Date(d),
        None => Cell::Empty,
    }
}

fn text(s: Option<&str>) -> Cell {
    match s {
        Some(t) if !t.is_empty() => Cell::Text(t.to_string()),
        _ => Cell::Empty,
    }
}

fn due_words(d: DueState) -> &'static str {
    match d {
        DueState::Overdue => "Overdue",
        DueState::DueSoon => "Due soon",
        DueState::Open => "Open",
        DueState::Done => "Done",
    }
}

/// The follow-up matrix of `framework`'s action items on `as_of`: one row per action item in
/// the tracker's order, overdue ones marked.
pub fn followup(
    r: &Replica,
    framework: &str,
    as_of: NaiveDate,
    include_restricted: bool,
) -> Result<Workbook, ExportError> {
    let meetings = crate::export::framework_meetings(r, framework)?;
    guard_restricted(
        &meetings,
        &format!("{framework} meetings"),
        include_restricted,
    )?;
    let rows = r.followup(&FollowupQuery {
        framework: framework.to_string(),
        due: DueFilter::Any,
        owner_country: None,
        status: None,
        as_of: as_of.format("%Y-%m-%d").to_string(),
        before: None,
    })?;
    let mut sheet = Sheet::new(
        "Follow-up",
        vec![
            Column::new("Meeting", ColumnKind::Text).with_max_width(40.0),
            Column::new("Meeting date", ColumnKind::Date),
            Column::new("Decision", ColumnKind::WrapText),
            Column::new("Action", ColumnKind::WrapText),
            Column::new("Responsible", ColumnKind::Text).with_max_width(36.0),
            Column::new("Country", ColumnKind::Text),
            Column::new("Due", ColumnKind::Date),
            Column::new("Status", ColumnKind::Text),
            Column::new("Where it stands", ColumnKind::Text),
            Column::new("Evidence", ColumnKind::WrapText),
            Column::new("Last reported at", ColumnKind::Text).with_max_width(40.0),
        ],
    );
    for row in rows {
        let decision = row.decision.as_ref().map(|d| match &d.number {
            Some(n) => format!("{n}. {}", d.text),
            None => d.text.clone(),
        });
        let cells = vec![
            Cell::Text(row.meeting.label.clone()),
            date(row.meeting.date.as_deref()),
            text(decision.as_deref()),
            Cell::Text(row.title.clone()),
            text(Some(&row.responsible)),
            text(
                row.owner_country
                    .as_deref()
                    .and_then(desk_core::schema::country)
                    .map(|c| c.name),
            ),
            date(row.due_date.as_deref()),
            Cell::Text(words(&row.status)),
            Cell::Text(due_words(row.due).to_string()),
            text(row.evidence.as_deref()),
            text(row.reported_at.as_ref().map(|m| m.label.as_str())),
        ];
        sheet.rows.push(if row.due == DueState::Overdue {
            Row::marked(cells)
        } else {
            Row::new(cells)
        });
    }
    Ok(Workbook {
        sheets: vec![sheet],
    })
}

/// A meeting's participants by delegation, in the protocol order the briefing pack prints.
pub fn participants(
    r: &Replica,
    meeting: &str,
    include_restricted: bool,
) -> Result<Workbook, ExportError> {
    let m = r.get(Entity::Meeting, meeting)?;
    guard_restricted([&m], "meeting", include_restricted)?;
    let mut sheet = Sheet::new(
        "Participants",
        vec![
            Column::new("No.", ColumnKind::Number),
            Column::new("Delegation", ColumnKind::Text).with_max_width(40.0),
            Column::new("Name", ColumnKind::Text),
            Column::new("Native name", ColumnKind::Text),
            Column::new("Position", ColumnKind::WrapText),
            Column::new("Organisation", ColumnKind::Text).with_max_width(40.0),
            Column::new("Role", ColumnKind::Text),
            Column::new("Attendance", ColumnKind::Text),
            Column::new("E-mail", ColumnKind::Text),
        ],
    );
    let mut n = 0.0;
    for d in r.delegations(&m.id)? {
        for p in d.members {
            n += 1.0;
            let contact = r.get(Entity::Contact, &p.contact_id).ok();
            let org = contact
                .as_ref()
                .and_then(|c| c.str("org"))
                .and_then(|o| r.get(Entity::Organisation, o).ok())
                .map(|o| r.label(&o));
            sheet.rows.push(Row::new(vec![
                Cell::Number(n),
                Cell::Text(d.label.clone()),
                Cell::Text(p.formal_name.clone()),
                text(p.native_name.as_deref()),
                text(p.title.as_deref()),
                text(org.as_deref()),
                Cell::Text(words(&p.role)),
                Cell::Text(words(&p.attendance)),
                text(contact.as_ref().and_then(|c| c.str("email"))),
            ]));
        }
    }
    let name = m.str("short_title").or(m.str("title")).unwrap_or("Meeting");
    sheet.name = format!("Participants {name}");
    Ok(Workbook {
        sheets: vec![sheet],
    })
}

/// The project portfolio on `as_of`, projects needing attention marked.
pub fn portfolio(
    r: &Replica,
    as_of: NaiveDate,
    include_restricted: bool,
) -> Result<Workbook, ExportError> {
    let projects = r.list(Entity::Project, &ListQuery::default())?;
    guard_restricted(&projects, "projects", include_restricted)?;
    let mut sheet = Sheet::new(
        "Portfolio",
        vec![
            Column::new("Code", ColumnKind::Text),
            Column::new("Title", ColumnKind::WrapText),
            Column::new("Pillar", ColumnKind::Text),
            Column::new("Status", ColumnKind::Text),
            Column::new("Lead country", ColumnKind::Text),
            Column::new("Latest RAG", ColumnKind::Text),
            Column::new("Last update", ColumnKind::Date),
            Column::new("Currency", ColumnKind::Text),
            Column::new("Budget", ColumnKind::Money),
            Column::new("Funding secured", ColumnKind::Money),
            Column::new("Funded", ColumnKind::Percent),
            Column::new("Indicators", ColumnKind::Number),
            Column::new("Indicator progress", ColumnKind::Percent),
            Column::new("Milestones done", ColumnKind::Number),
            Column::new("Milestones", ColumnKind::Number),
            Column::new("Needs attention", ColumnKind::Text),
        ],
    );
    let num = |v: Option<f64>| v.map_or(Cell::Empty, Cell::Number);
    for p in r.portfolio(as_of)? {
        let attention = p.attention.map(|a| {
            words(
                serde_json::to_value(a)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
                    .as_str(),
            )
        });
        let cells = vec![
            Cell::Text(p.code.clone()),
            Cell::Text(p.title.clone()),
            text(p.pillar.as_deref().map(words).as_deref()),
            Cell::Text(words(&p.status)),
            text(p.lead_country_name.as_deref()),
            text(p.rag.as_deref().map(words).as_deref()),
            date(p.last_update.as_deref()),
            text(p.currency.as_deref()),
            num(p.budget),
            num(p.funding_secured),
            num(p.funded_percent.map(|v| v / 100.0)),
            Cell::Number(f64::from(p.indicators)),
            num(p.indicator_progress.map(|v| v / 100.0)),
            Cell::Number(f64::from(p.milestones_done)),
            Cell::Number(f64::from(p.milestones)),
            text(attention.as_deref()),
        ];
        sheet.rows.push(if attention.is_some() {
            Row::marked(cells)
        } else {
            Row::new(cells)
        });
    }
    Ok(Workbook {
        sheets: vec![sheet],
    })
}

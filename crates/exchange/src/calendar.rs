//! Meetings as an iCalendar file: one meeting, the meetings of a date range, or a framework's
//! meetings as one subscribable calendar (see [`crate::ical`] for the format).
//!
//! Each meeting is one event whose UID is its record id (`<id>@secretariat-desk`), so a calendar
//! that imports a later export updates the event instead of adding another; its SEQUENCE is the
//! number of edits the meeting's record has had (the changes logged for it, less the create).
//! A meeting with an opening time is a timed event in its venue's time zone (the file carries
//! the zone); one without is an all-day event over its days. The description is the agenda in
//! the order and numbering the briefing pack prints, the attendees are the participants in
//! protocol order with their replies.

use crate::export::{guard_restricted, ExportError};
use crate::ical::{self, Attendee, AttendeeRole, Calendar, Event, EventStatus, PartStat, When};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use desk_core::{Entity, ListQuery, Record, Replica};
use std::path::Path;

/// Which meetings to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// One meeting (its id).
    Meeting(String),
    /// Meetings with a day in `from..=to`.
    Range { from: NaiveDate, to: NaiveDate },
    /// Every meeting of a framework (ACMECS, Mekong-U.S. Partnership, …).
    Framework(String),
}

/// The meetings `sel` names, by start date.
fn meetings(r: &Replica, sel: &Selection) -> Result<Vec<Record>, ExportError> {
    let mut out = match sel {
        Selection::Meeting(id) => {
            let m = r.get(Entity::Meeting, id)?;
            if m.deleted {
                return Err(desk_core::Error::Deleted {
                    entity: "meeting",
                    id: id.clone(),
                }
                .into());
            }
            vec![m]
        }
        Selection::Range { from, to } => {
            let (from, to) = (from.to_string(), to.to_string());
            r.list(Entity::Meeting, &ListQuery::default())?
                .into_iter()
                .filter(|m| {
                    let start = m.str("start_date").unwrap_or_default();
                    let end = m.str("end_date").unwrap_or(start);
                    start <= to.as_str() && end >= from.as_str()
                })
                .collect()
        }
        Selection::Framework(name) => crate::export::framework_meetings(r, name)?,
    };
    out.sort_by(|a, b| {
        (a.str("start_date"), a.id.as_str()).cmp(&(b.str("start_date"), b.id.as_str()))
    });
    Ok(out)
}

fn day(s: Option<&str>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s?, "%Y-%m-%d").ok()
}

fn time(s: Option<&str>) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s?, "%H:%M").ok()
}

fn utc(rfc3339: &str) -> Option<NaiveDateTime> {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.naive_utc())
}

/// The event of one meeting.
fn event(
    r: &Replica,
    m: &Record,
    stamp: NaiveDateTime,
    as_of: NaiveDate,
) -> Result<Event, ExportError> {
    let first = day(m.str("start_date"))
        .ok_or_else(|| ExportError::Format(format!("meeting {} has no valid start date", m.id)))?;
    let last = day(m.str("end_date")).unwrap_or(first).max(first);
    let tzid = m.str("timezone").unwrap_or("Asia/Bangkok").to_string();
    let (start, end) = match time(m.str("start_time")) {
        Some(opens) => {
            let closes = time(m.str("end_time")).unwrap_or(opens);
            let mut end = last.and_time(closes);
            if end < first.and_time(opens) {
                end = first.and_time(opens);
            }
            (
                When::Local {
                    at: first.and_time(opens),
                    tzid: tzid.clone(),
                },
                When::Local { at: end, tzid },
            )
        }
        None => (When::Date(first), When::Date(last)),
    };
    let outline = r.outline(&m.id, as_of)?;
    let mut description = String::new();
    if let Some(short) = m.str("short_title") {
        description.push_str(short);
        description.push('\n');
    }
    if !outline.items.is_empty() {
        description.push_str("\nAgenda\n");
        for item in &outline.items {
            match &item.number {
                Some(n) => description.push_str(&format!("{n}. {}\n", item.title)),
                None => description.push_str(&format!("- {}\n", item.title)),
            }
        }
    }
    let venue = m.str("venue").unwrap_or_default();
    let location = [
        m.str("venue"),
        // "National Convention Centre, Bangkok" names its city already.
        m.str("city").filter(|c| !venue.contains(c)),
        m.str("host_country")
            .and_then(desk_core::schema::country)
            .map(|c| c.name),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.trim().is_empty())
    .collect::<Vec<_>>()
    .join(", ");
    let chair = m.str("chair");
    let mut attendees = Vec::new();
    for delegation in r.delegations(&m.id)? {
        for d in delegation.members {
            let contact = r.get(Entity::Contact, &d.contact_id).ok();
            let email = contact
                .as_ref()
                .and_then(|c| c.str("email"))
                .map(str::to_string);
            let role = if Some(d.contact_id.as_str()) == chair {
                AttendeeRole::Chair
            } else {
                match d.role.as_str() {
                    "observer" | "adviser" => AttendeeRole::OptParticipant,
                    "interpreter" | "rapporteur" => AttendeeRole::NonParticipant,
                    _ => AttendeeRole::ReqParticipant,
                }
            };
            let partstat = Some(match d.attendance.as_str() {
                "confirmed" | "attended" => PartStat::Accepted,
                "absent" | "regrets" => PartStat::Declined,
                _ => PartStat::NeedsAction,
            });
            attendees.push(Attendee {
                name: d.formal_name.clone(),
                email,
                role,
                partstat,
            });
        }
    }
    let edits: i64 = r
        .reader()
        .query_row(
            "SELECT count(*) FROM change_log WHERE entity = 'meeting' AND record = ?1",
            [&m.id],
            |row| row.get(0),
        )
        .map_err(desk_core::Error::from)?;
    Ok(Event {
        uid: format!("{}@secretariat-desk", m.id),
        sequence: u32::try_from((edits - 1).max(0)).unwrap_or(u32::MAX),
        stamp,
        last_modified: utc(&m.updated_at),
        summary: m.str("title").unwrap_or_default().to_string(),
        description: description.trim_end().to_string(),
        location,
        start,
        end,
        status: match m.str("status") {
            Some("cancelled") => Some(EventStatus::Cancelled),
            Some("confirmed" | "held") => Some(EventStatus::Confirmed),
            Some(_) => Some(EventStatus::Tentative),
            None => None,
        },
        categories: [m.str("framework"), m.str("kind")]
            .into_iter()
            .flatten()
            .map(|s| s.replace('_', " "))
            .collect(),
        attendees,
        organizer: None,
        url: None,
        classification: m.str("classification").map(|c| match c {
            "public" => "PUBLIC".to_string(),
            "restricted" => "CONFIDENTIAL".to_string(),
            _ => "PRIVATE".to_string(),
        }),
    })
}

/// The calendar of the meetings `sel` names, as the text of an `.ics` file. `zoneinfo` is the
/// tz database ([`ical::SYSTEM_ZONEINFO`]).
pub fn ics(
    r: &Replica,
    sel: &Selection,
    include_restricted: bool,
    zoneinfo: &Path,
) -> Result<String, ExportError> {
    let list = meetings(r, sel)?;
    guard_restricted(&list, "meetings", include_restricted)?;
    let now = chrono::Utc::now();
    let stamp = now.naive_utc();
    let as_of = now.date_naive();
    let events = list
        .iter()
        .map(|m| event(r, m, stamp, as_of))
        .collect::<Result<Vec<_>, _>>()?;
    let name = match sel {
        Selection::Meeting(_) => list
            .first()
            .and_then(|m| m.str("short_title").or(m.str("title")))
            .unwrap_or("Meeting")
            .to_string(),
        Selection::Range { from, to } => format!("Meetings {from} to {to}"),
        Selection::Framework(f) => format!("{f} meetings"),
    };
    ical::write(&Calendar { name, events }, zoneinfo)
        .map_err(|e| ExportError::Format(e.to_string()))
}

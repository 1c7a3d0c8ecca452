//! iCalendar export of meetings (RFC 5545), for Outlook, Google Calendar, Apple Calendar and
//! Thunderbird.
//!
//! [`write()`] turns a [`Calendar`] of [`Event`]s into the text of an `.ics` file: CRLF line ends,
//! content lines folded at 75 octets (never inside a UTF-8 character), TEXT values escaped and
//! parameter values quoted where needed.
//!
//! Times. An all-day meeting is written as dates (`DTSTART;VALUE=DATE:20261210`), with the
//! caller's inclusive last day turned into RFC 5545's exclusive `DTEND` (the day after). A timed
//! meeting is written in the wall-clock time of its zone
//! (`DTSTART;TZID=Asia/Bangkok:20261210T090000`), and the file carries one `VTIMEZONE` for every
//! zone it names, built from the system's tz database (the TZif files under
//! `/usr/share/zoneinfo`), so that a reader needs no zone database of its own and every reader
//! agrees on the UTC offsets. A `VTIMEZONE` lists the zone's offset changes from a year before the
//! zone's earliest event to a year after its latest one; a zone without changes in that span
//! (Asia/Bangkok, Asia/Yangon) gets one `STANDARD` observance starting 1970-01-01. Offset changes
//! after the last transition stored in a TZif file (files built "slim" store none after 2007 or
//! so) come from the POSIX TZ rule in the file's footer.
//!
//! Attendees without an e-mail address. `ATTENDEE` and `ORGANIZER` take a calendar-user address,
//! which must be a URI. Rather than invent an address, a person without one is written with the
//! conventional placeholder `invalid:nomail` (`ATTENDEE;CN="Bùi Thanh Sơn";ROLE=…:invalid:nomail`):
//! it is a well-formed URI in no real scheme, Outlook writes it itself for people without an
//! address, Apple Calendar recognises it as "no address", Python's `icalendar` reads it as a
//! plain calendar address, and no client can send mail to it.
//!
//! The calendar is published (`METHOD:PUBLISH`), not sent as an invitation. RFC 5546 says a
//! published event carries no attendees; calendar programs accept them regardless (Google
//! Calendar's own exports are `METHOD:PUBLISH` with attendees), and they are what staff want to
//! see, so they are written.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

/// Where the tz database normally lives on Linux and macOS; pass it to [`write()`].
pub const SYSTEM_ZONEINFO: &str = "/usr/share/zoneinfo";

/// The product identifier written as `PRODID`.
const PRODID: &str = "-//Secretariat Desk//desk//EN";

/// The largest zone file read (real ones are a few kilobytes).
const MAX_TZIF_BYTES: u64 = 1 << 20;

/// A calendar to write: its name and its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    /// The name a calendar program shows for the imported or subscribed calendar
    /// (`X-WR-CALNAME`); left out when empty.
    pub name: String,
    /// The events, written in this order.
    pub events: Vec<Event>,
}

/// One meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Stable identifier across exports, e.g. `"<record id>@secretariat-desk"` (`UID`); must not
    /// be empty.
    pub uid: String,
    /// Revision number, raised by the caller each time the meeting changes (`SEQUENCE`).
    pub sequence: u32,
    /// When this export was made, in UTC (`DTSTAMP`).
    pub stamp: NaiveDateTime,
    /// When the meeting's record last changed, in UTC (`LAST-MODIFIED`).
    pub last_modified: Option<NaiveDateTime>,
    /// Title (`SUMMARY`); left out when empty.
    pub summary: String,
    /// Free text, may span several lines, e.g. the agenda (`DESCRIPTION`); left out when empty.
    pub description: String,
    /// Where it takes place (`LOCATION`); left out when empty.
    pub location: String,
    /// First day, or start time.
    pub start: When,
    /// Last day (inclusive: the meeting's last day, not the day after), or end time. Must be the
    /// same kind as `start` and not before it; a timed end equal to the start writes no `DTEND`.
    pub end: When,
    /// Whether it is going ahead (`STATUS`).
    pub status: Option<EventStatus>,
    /// Labels (`CATEGORIES`); empty ones are skipped.
    pub categories: Vec<String>,
    /// Participants (`ATTENDEE`), in this order.
    pub attendees: Vec<Attendee>,
    /// Who convenes it (`ORGANIZER`); only its name and e-mail address are written.
    pub organizer: Option<Attendee>,
    /// A link to the meeting, e.g. its page or video call (`URL`).
    pub url: Option<String>,
    /// Access class (`CLASS`): `PUBLIC`, `PRIVATE` or `CONFIDENTIAL` (any case), or an `X-` name.
    pub classification: Option<String>,
}

/// A day or a wall-clock time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// A whole day, for meetings without times.
    Date(NaiveDate),
    /// A time as read on the clocks of a tz database zone.
    Local {
        /// The wall-clock date and time.
        at: NaiveDateTime,
        /// The zone, as named in the tz database, e.g. `"Asia/Bangkok"`.
        tzid: String,
    },
}

/// Whether a meeting is going ahead (`STATUS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventStatus {
    /// Planned but not settled (`TENTATIVE`).
    Tentative,
    /// Going ahead (`CONFIRMED`).
    Confirmed,
    /// Called off (`CANCELLED`).
    Cancelled,
}

/// A participant or organiser of a meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    /// Display name (`CN`); left out when empty.
    pub name: String,
    /// E-mail address, written as a `mailto:` URI; without one the placeholder `invalid:nomail`
    /// is written (see the module documentation).
    pub email: Option<String>,
    /// Part in the meeting (`ROLE`).
    pub role: AttendeeRole,
    /// Reply to the invitation, if known (`PARTSTAT`).
    pub partstat: Option<PartStat>,
}

/// A participant's part in a meeting (`ROLE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttendeeRole {
    /// Chairs the meeting (`CHAIR`).
    Chair,
    /// Expected to take part (`REQ-PARTICIPANT`).
    ReqParticipant,
    /// Welcome but not expected (`OPT-PARTICIPANT`).
    OptParticipant,
    /// Kept informed only (`NON-PARTICIPANT`).
    NonParticipant,
}

/// A participant's reply (`PARTSTAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartStat {
    /// Not replied yet (`NEEDS-ACTION`).
    NeedsAction,
    /// Will come (`ACCEPTED`).
    Accepted,
    /// Will not come (`DECLINED`).
    Declined,
    /// Might come (`TENTATIVE`).
    Tentative,
}

/// Why a calendar could not be written, or a zone's offset not looked up.
#[derive(Debug, thiserror::Error)]
pub enum IcalError {
    /// The zone name is not a plain relative name such as `Asia/Bangkok`.
    #[error("time zone {tzid:?} is not a zone name such as \"Asia/Bangkok\"")]
    BadTzid {
        /// The name as given.
        tzid: String,
    },
    /// The zone's file is missing or cannot be read.
    #[error("time zone {tzid:?}: cannot read {}: {source}", path.display())]
    ZoneUnreadable {
        /// The zone name.
        tzid: String,
        /// The file looked for.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The zone's file is not a TZif file this writer can use.
    #[error("time zone {tzid:?}: {} is not a usable TZif zone file: {reason}", path.display())]
    NotTzif {
        /// The zone name.
        tzid: String,
        /// The file read.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An event names a zone that cannot be used; `zone_error` (one of the errors above) says why.
    #[error("event {summary:?}: {zone_error}")]
    EventZone {
        /// The event's summary.
        summary: String,
        /// The zone it names.
        tzid: String,
        /// Why the zone cannot be used.
        zone_error: Box<IcalError>,
    },
    /// An event's fields cannot be written as they are.
    #[error("event {summary:?}: {problem}")]
    InvalidEvent {
        /// The event's summary.
        summary: String,
        /// What is wrong.
        problem: String,
    },
}

/// Writes `cal` as iCalendar text (RFC 5545), with a `VTIMEZONE` built from the TZif files under
/// `zoneinfo` (normally [`SYSTEM_ZONEINFO`]) for every zone its events name.
///
/// Fails, naming the event, when an event's zone is not a plain zone name or its file is missing
/// or not TZif, when it has no UID, when its start and end are of different kinds or its end is
/// before its start, when a date lies outside the years 0000–9999, or when its class is not one
/// of `PUBLIC`, `PRIVATE`, `CONFIDENTIAL` or an `X-` name.
pub fn write(cal: &Calendar, zoneinfo: &Path) -> Result<String, IcalError> {
    let mut zones: BTreeMap<String, ZoneUse> = BTreeMap::new();
    let mut events = String::new();
    for event in &cal.events {
        for when in [&event.start, &event.end] {
            let When::Local { at, tzid } = when else {
                continue;
            };
            if let Some(used) = zones.get_mut(tzid) {
                used.earliest = used.earliest.min(*at);
                used.latest = used.latest.max(*at);
            } else {
                let zone = load_zone(zoneinfo, tzid).map_err(|e| IcalError::EventZone {
                    summary: event.summary.clone(),
                    tzid: tzid.clone(),
                    zone_error: Box::new(e),
                })?;
                zones.insert(
                    tzid.clone(),
                    ZoneUse {
                        zone,
                        earliest: *at,
                        latest: *at,
                    },
                );
            }
        }
        write_event(&mut events, event, &zones)?;
    }

    let mut out = String::new();
    push_line(&mut out, "BEGIN:VCALENDAR");
    push_line(&mut out, &format!("PRODID:{}", text(PRODID)));
    push_line(&mut out, "VERSION:2.0");
    push_line(&mut out, "CALSCALE:GREGORIAN");
    push_line(&mut out, "METHOD:PUBLISH");
    if !cal.name.trim().is_empty() {
        push_line(&mut out, &format!("X-WR-CALNAME:{}", text(cal.name.trim())));
    }
    for (tzid, used) in &zones {
        write_vtimezone(&mut out, tzid, used);
    }
    out.push_str(&events);
    push_line(&mut out, "END:VCALENDAR");
    Ok(out)
}

/// The UTC offset, in seconds east of Greenwich, of zone `tzid` (read from its TZif file under
/// `zoneinfo`) at the UTC time `utc`; e.g. 25200 for `Asia/Bangkok`, -14400 for
/// `America/New_York` in July.
pub fn zone_offset_at(zoneinfo: &Path, tzid: &str, utc: NaiveDateTime) -> Result<i32, IcalError> {
    let zone = load_zone(zoneinfo, tzid)?;
    Ok(zone.type_at(utc.and_utc().timestamp()).utoff)
}

// ---------------------------------------------------------------------------------------------
// Events

/// A zone named by events, with the span of their wall-clock times.
struct ZoneUse {
    zone: Zone,
    earliest: NaiveDateTime,
    latest: NaiveDateTime,
}

fn write_event(
    out: &mut String,
    ev: &Event,
    zones: &BTreeMap<String, ZoneUse>,
) -> Result<(), IcalError> {
    let bad = |problem: String| IcalError::InvalidEvent {
        summary: ev.summary.clone(),
        problem,
    };
    let out_of_range = || bad("a date is outside the years 0000-9999".to_owned());

    if ev.uid.trim().is_empty() {
        return Err(bad("it has no UID".to_owned()));
    }
    let stamp = fmt_utc(ev.stamp).ok_or_else(out_of_range)?;
    let last_modified = match ev.last_modified {
        Some(t) => Some(fmt_utc(t).ok_or_else(out_of_range)?),
        None => None,
    };

    let (dtstart, dtend) = match (&ev.start, &ev.end) {
        (When::Date(first), When::Date(last)) => {
            if last < first {
                return Err(bad(format!(
                    "its last day {last} is before its first day {first}"
                )));
            }
            let after = last.succ_opt().ok_or_else(out_of_range)?;
            (
                format!(
                    "DTSTART;VALUE=DATE:{}",
                    fmt_date(*first).ok_or_else(out_of_range)?
                ),
                Some(format!(
                    "DTEND;VALUE=DATE:{}",
                    fmt_date(after).ok_or_else(out_of_range)?
                )),
            )
        }
        (
            When::Local {
                at: start,
                tzid: start_zone,
            },
            When::Local {
                at: end,
                tzid: end_zone,
            },
        ) => {
            let order = match (zones.get(start_zone), zones.get(end_zone)) {
                (Some(s), Some(e)) if start_zone != end_zone => {
                    e.zone.local_to_utc(*end).cmp(&s.zone.local_to_utc(*start))
                }
                _ => end.cmp(start),
            };
            let dtstart = format!(
                "DTSTART;TZID={start_zone}:{}",
                fmt_local(*start).ok_or_else(out_of_range)?
            );
            let dtend = match order {
                std::cmp::Ordering::Less => {
                    return Err(bad(format!(
                        "it ends ({end} {end_zone}) before it starts ({start} {start_zone})"
                    )))
                }
                std::cmp::Ordering::Equal => None,
                std::cmp::Ordering::Greater => Some(format!(
                    "DTEND;TZID={end_zone}:{}",
                    fmt_local(*end).ok_or_else(out_of_range)?
                )),
            };
            (dtstart, dtend)
        }
        _ => {
            return Err(bad(
                "its start and end must both be days or both be times".to_owned()
            ))
        }
    };

    let class = match ev.classification.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => {
            let upper = raw.to_ascii_uppercase();
            let known = matches!(upper.as_str(), "PUBLIC" | "PRIVATE" | "CONFIDENTIAL");
            let x_name = upper.len() > 2
                && upper.starts_with("X-")
                && upper
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !(known || x_name) {
                return Err(bad(format!(
                    "its class {raw:?} is not PUBLIC, PRIVATE or CONFIDENTIAL"
                )));
            }
            Some(upper)
        }
    };

    push_line(out, "BEGIN:VEVENT");
    push_line(out, &format!("UID:{}", text(ev.uid.trim())));
    push_line(out, &format!("SEQUENCE:{}", ev.sequence));
    push_line(out, &format!("DTSTAMP:{stamp}"));
    if let Some(lm) = last_modified {
        push_line(out, &format!("LAST-MODIFIED:{lm}"));
    }
    push_line(out, &dtstart);
    if let Some(dtend) = dtend {
        push_line(out, &dtend);
    }
    for (name, value) in [
        ("SUMMARY", &ev.summary),
        ("DESCRIPTION", &ev.description),
        ("LOCATION", &ev.location),
    ] {
        if !value.trim().is_empty() {
            push_line(out, &format!("{name}:{}", text(value)));
        }
    }
    if let Some(status) = ev.status {
        push_line(out, &format!("STATUS:{}", status.token()));
    }
    if let Some(class) = class {
        push_line(out, &format!("CLASS:{class}"));
    }
    let categories: Vec<String> = ev
        .categories
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .map(text)
        .collect();
    if !categories.is_empty() {
        push_line(out, &format!("CATEGORIES:{}", categories.join(",")));
    }
    if let Some(organizer) = &ev.organizer {
        push_line(out, &cal_address_line("ORGANIZER", organizer, false));
    }
    for attendee in &ev.attendees {
        push_line(out, &cal_address_line("ATTENDEE", attendee, true));
    }
    if let Some(url) = ev.url.as_deref().map(uri).filter(|u| !u.is_empty()) {
        push_line(out, &format!("URL:{url}"));
    }
    push_line(out, "END:VEVENT");
    Ok(())
}

impl EventStatus {
    fn token(self) -> &'static str {
        match self {
            EventStatus::Tentative => "TENTATIVE",
            EventStatus::Confirmed => "CONFIRMED",
            EventStatus::Cancelled => "CANCELLED",
        }
    }
}

impl AttendeeRole {
    fn token(self) -> &'static str {
        match self {
            AttendeeRole::Chair => "CHAIR",
            AttendeeRole::ReqParticipant => "REQ-PARTICIPANT",
            AttendeeRole::OptParticipant => "OPT-PARTICIPANT",
            AttendeeRole::NonParticipant => "NON-PARTICIPANT",
        }
    }
}

impl PartStat {
    fn token(self) -> &'static str {
        match self {
            PartStat::NeedsAction => "NEEDS-ACTION",
            PartStat::Accepted => "ACCEPTED",
            PartStat::Declined => "DECLINED",
            PartStat::Tentative => "TENTATIVE",
        }
    }
}

/// An `ATTENDEE` or `ORGANIZER` line; `ROLE` and `PARTSTAT` only for attendees (RFC 5545 allows
/// neither on `ORGANIZER`).
fn cal_address_line(property: &str, person: &Attendee, attendee: bool) -> String {
    let mut line = property.to_owned();
    let name = person.name.trim();
    if !name.is_empty() {
        line.push_str(";CN=");
        line.push_str(&param_value(name));
    }
    if attendee {
        line.push_str(";ROLE=");
        line.push_str(person.role.token());
        if let Some(partstat) = person.partstat {
            line.push_str(";PARTSTAT=");
            line.push_str(partstat.token());
        }
    }
    line.push(':');
    match person
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        Some(email) => {
            line.push_str("mailto:");
            line.push_str(&mailto_address(email));
        }
        None => line.push_str("invalid:nomail"),
    }
    line
}

// ---------------------------------------------------------------------------------------------
// Content lines and values

/// Appends one content line, folded so that no physical line exceeds 75 octets (continuation
/// lines begin with one space) and no UTF-8 character is split, then CRLF.
fn push_line(out: &mut String, line: &str) {
    let mut rest = line;
    let mut limit = 75;
    while rest.len() > limit {
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        limit = 74;
    }
    out.push_str(rest);
    out.push_str("\r\n");
}

/// A TEXT value: backslash, semicolon and comma escaped, each line break (CRLF, CR or LF) as
/// `\n`, other control characters but tab dropped.
fn text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value: double quotes and control characters removed (line breaks and tabs become
/// spaces), then the whole quoted when it holds `:`, `;`, `,` or any non-ASCII character.
fn param_value(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .filter_map(|c| match c {
            '"' => None,
            '\r' | '\n' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect();
    if cleaned
        .chars()
        .any(|c| matches!(c, ':' | ';' | ',') || !c.is_ascii())
    {
        format!("\"{cleaned}\"")
    } else {
        cleaned
    }
}

/// The address part of a `mailto:` URI (RFC 6068): characters outside a safe ASCII set
/// percent-encoded as UTF-8.
fn mailto_address(email: &str) -> String {
    let mut out = String::with_capacity(email.len());
    for b in email.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'*+=@".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A URI value: surrounding space trimmed, control characters dropped, inner spaces
/// percent-encoded.
fn uri(raw: &str) -> String {
    raw.trim()
        .chars()
        .filter(|c| !c.is_control())
        .fold(String::new(), |mut out, c| {
            if c == ' ' {
                out.push_str("%20");
            } else {
                out.push(c);
            }
            out
        })
}

fn fmt_date(d: NaiveDate) -> Option<String> {
    (0..=9999)
        .contains(&d.year())
        .then(|| format!("{:04}{:02}{:02}", d.year(), d.month(), d.day()))
}

fn fmt_local(t: NaiveDateTime) -> Option<String> {
    Some(format!(
        "{}T{:02}{:02}{:02}",
        fmt_date(t.date())?,
        t.hour(),
        t.minute(),
        t.second()
    ))
}

fn fmt_utc(t: NaiveDateTime) -> Option<String> {
    Some(format!("{}Z", fmt_local(t)?))
}

/// A UTC offset as `±HHMM`, or `±HHMMSS` when it has seconds (`+0000` for UTC itself).
fn fmt_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if sec == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{sec:02}")
    }
}

// ---------------------------------------------------------------------------------------------
// VTIMEZONE

/// One `STANDARD` or `DAYLIGHT` sub-component.
struct Observance {
    daylight: bool,
    start: String,
    from: i32,
    to: i32,
    name: String,
}

/// Writes the `VTIMEZONE` of a zone covering a year either side of its events.
fn write_vtimezone(out: &mut String, tzid: &str, used: &ZoneUse) {
    // A day inside the years 0001-9999, so that local times a day off UTC still format.
    const LOW: NaiveDate = match NaiveDate::from_ymd_opt(1, 1, 2) {
        Some(d) => d,
        None => NaiveDate::MIN,
    };
    const HIGH: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 30) {
        Some(d) => d,
        None => NaiveDate::MAX,
    };
    let (low, high) = (LOW.and_time(NaiveTime::MIN), HIGH.and_time(NaiveTime::MIN));
    let from = used
        .earliest
        .checked_sub_months(Months::new(12))
        .unwrap_or(low)
        .clamp(low, high);
    let until = used
        .latest
        .checked_add_months(Months::new(12))
        .unwrap_or(high)
        .clamp(low, high);
    let observances = observances(
        &used.zone,
        from.and_utc().timestamp(),
        until.and_utc().timestamp(),
    );

    push_line(out, "BEGIN:VTIMEZONE");
    push_line(out, &format!("TZID:{}", text(tzid)));
    for o in observances {
        let kind = if o.daylight { "DAYLIGHT" } else { "STANDARD" };
        push_line(out, &format!("BEGIN:{kind}"));
        push_line(out, &format!("DTSTART:{}", o.start));
        push_line(out, &format!("TZOFFSETFROM:{}", fmt_offset(o.from)));
        push_line(out, &format!("TZOFFSETTO:{}", fmt_offset(o.to)));
        if !o.name.is_empty() {
            push_line(out, &format!("TZNAME:{}", text(&o.name)));
        }
        push_line(out, &format!("END:{kind}"));
    }
    push_line(out, "END:VTIMEZONE");
}

/// The observances of `zone` between the UTC instants `from` and `until`: the one in effect at
/// `from` and one per offset change after it up to `until`. Without any change in that span, the
/// one in effect is written as starting 1970-01-01 (or the first of January of `from`'s year if
/// earlier), with equal offsets before and after.
fn observances(zone: &Zone, from: i64, until: i64) -> Vec<Observance> {
    let timeline = zone.timeline(from, until);
    let first_after = timeline.partition_point(|t| t.at <= from);
    let before = |i: usize| -> &LocalType {
        match i.checked_sub(1) {
            Some(prev) => &timeline[prev].ty,
            None => &zone.initial,
        }
    };
    let steady = |ty: &LocalType| {
        let from_year = DateTime::from_timestamp(from, 0).map_or(1970, |d| d.year());
        Observance {
            daylight: ty.isdst,
            start: format!("{:04}0101T000000", from_year.clamp(0, 1970)),
            from: ty.utoff,
            to: ty.utoff,
            name: ty.abbr.clone(),
        }
    };
    let change = |i: usize| -> Option<Observance> {
        let transition = &timeline[i];
        let prev = before(i);
        let local = DateTime::from_timestamp(transition.at + i64::from(prev.utoff), 0)?;
        Some(Observance {
            daylight: is_daylight(prev, &transition.ty),
            start: fmt_local(local.naive_utc())?,
            from: prev.utoff,
            to: transition.ty.utoff,
            name: transition.ty.abbr.clone(),
        })
    };

    let end = timeline.partition_point(|t| t.at <= until);
    if end <= first_after {
        return vec![steady(before(first_after))];
    }
    let mut list = Vec::with_capacity(end - first_after + 1);
    let opening = first_after.checked_sub(1).and_then(change);
    list.push(opening.unwrap_or_else(|| steady(before(first_after))));
    list.extend((first_after..end).filter_map(change));
    list
}

/// Whether a change from `prev` to `next` starts a `DAYLIGHT` observance: `next`'s own flag,
/// except for "negative" daylight saving (Europe/Dublin, whose winter time is flagged as DST),
/// which is labelled the way calendar programs expect: the summer offset as daylight time.
fn is_daylight(prev: &LocalType, next: &LocalType) -> bool {
    if next.isdst && !prev.isdst && next.utoff < prev.utoff {
        false
    } else if !next.isdst && prev.isdst && next.utoff > prev.utoff {
        true
    } else {
        next.isdst
    }
}

// ---------------------------------------------------------------------------------------------
// The tz database: TZif files (RFC 8536) and POSIX TZ rules

/// A local time type: offset, daylight-saving flag and abbreviation.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LocalType {
    /// Seconds east of Greenwich.
    utoff: i32,
    isdst: bool,
    abbr: String,
}

/// A change to a local time type at a UTC instant (seconds since 1970).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Transition {
    at: i64,
    ty: LocalType,
}

/// A zone as read from its TZif file.
#[derive(Debug, Clone)]
struct Zone {
    /// In effect before the first transition (or always, without transitions or rule).
    initial: LocalType,
    /// The stored transitions, in time order.
    transitions: Vec<Transition>,
    /// The footer's rule, in effect after the last stored transition.
    rule: Option<PosixTz>,
}

impl Zone {
    /// The zone's changes up to `until`: the stored transitions, then the rule's from the
    /// year before `from` on, without any that changes nothing.
    fn timeline(&self, from: i64, until: i64) -> Vec<Transition> {
        let mut raw: Vec<Transition> = self.transitions.clone();
        if let Some(rule) = &self.rule {
            let last = self.transitions.last().map(|t| t.at);
            let first_year = year_of(last.map_or(from, |l| l.max(from))) - 1;
            let last_year = year_of(until) + 1;
            let mut generated = Vec::new();
            for year in first_year..=last_year {
                rule.transitions_in(year, &mut generated);
            }
            // Stable: at equal instants the later rule wins (year-round DST rules end one year
            // at the instant the next begins).
            generated.sort_by_key(|t| t.at);
            raw.extend(
                generated
                    .into_iter()
                    .filter(|t| last.is_none_or(|l| t.at > l) && t.at <= until),
            );
        }
        let mut timeline: Vec<Transition> = Vec::with_capacity(raw.len());
        for t in raw {
            if let Some(prev) = timeline.last_mut() {
                if prev.at == t.at {
                    *prev = t;
                    continue;
                }
            }
            timeline.push(t);
        }
        let mut current = &self.initial;
        let mut kept = Vec::with_capacity(timeline.len());
        for t in &timeline {
            if t.ty != *current {
                kept.push(t.clone());
                current = &t.ty;
            }
        }
        kept
    }

    /// The local time type in effect at the UTC instant `at`.
    fn type_at(&self, at: i64) -> LocalType {
        let timeline = self.timeline(at, at);
        let i = timeline.partition_point(|t| t.at <= at);
        match i.checked_sub(1) {
            Some(prev) => timeline[prev].ty.clone(),
            None => self.initial.clone(),
        }
    }

    /// The UTC instant of a wall-clock time (in a gap or overlap, one of the candidates).
    fn local_to_utc(&self, local: NaiveDateTime) -> i64 {
        let as_utc = local.and_utc().timestamp();
        let guess = as_utc - i64::from(self.type_at(as_utc).utoff);
        as_utc - i64::from(self.type_at(guess).utoff)
    }
}

/// The year of a UTC instant (clamped to chrono's range).
fn year_of(at: i64) -> i32 {
    const LIMIT: i64 = 8_000_000_000_000;
    DateTime::from_timestamp(at.clamp(-LIMIT, LIMIT), 0).map_or(1970, |d| d.year())
}

/// Checks that a zone name is a plain relative path of ordinary file names.
fn check_tzid(tzid: &str) -> Result<(), IcalError> {
    let plain = !tzid.is_empty()
        && tzid.len() <= 255
        && tzid.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
        });
    if plain {
        Ok(())
    } else {
        Err(IcalError::BadTzid {
            tzid: tzid.to_owned(),
        })
    }
}

/// Reads and parses the TZif file of zone `tzid` under `zoneinfo`.
fn load_zone(zoneinfo: &Path, tzid: &str) -> Result<Zone, IcalError> {
    check_tzid(tzid)?;
    let path = zoneinfo.join(tzid);
    let mut bytes = Vec::new();
    let read = std::fs::File::open(&path)
        .and_then(|file| file.take(MAX_TZIF_BYTES + 1).read_to_end(&mut bytes));
    if let Err(source) = read {
        return Err(IcalError::ZoneUnreadable {
            tzid: tzid.to_owned(),
            path,
            source,
        });
    }
    parse_tzif(&bytes).map_err(|reason| IcalError::NotTzif {
        tzid: tzid.to_owned(),
        path,
        reason,
    })
}

/// A cursor over a TZif file's bytes.
struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.data.len() {
            return Err("it ends too early".to_owned());
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn count(&mut self) -> Result<usize, String> {
        usize::try_from(u32::from_be_bytes(self.array()?))
            .map_err(|_| "a count is too large".to_owned())
    }
}

/// A TZif header's version byte and counts.
struct Header {
    version: u8,
    isutcnt: usize,
    isstdcnt: usize,
    leapcnt: usize,
    timecnt: usize,
    typecnt: usize,
    charcnt: usize,
}

impl Header {
    fn read(r: &mut Bytes<'_>) -> Result<Header, String> {
        if r.take(4)? != b"TZif" {
            return Err("it does not begin with \"TZif\"".to_owned());
        }
        let version = r.array::<1>()?[0];
        r.take(15)?;
        Ok(Header {
            version,
            isutcnt: r.count()?,
            isstdcnt: r.count()?,
            leapcnt: r.count()?,
            timecnt: r.count()?,
            typecnt: r.count()?,
            charcnt: r.count()?,
        })
    }

    /// The length of the data block that follows, with times of `time_size` bytes.
    fn block_len(&self, time_size: usize) -> Result<usize, String> {
        let parts = [
            self.timecnt.checked_mul(time_size + 1),
            self.typecnt.checked_mul(6),
            Some(self.charcnt),
            self.leapcnt.checked_mul(time_size + 4),
            Some(self.isstdcnt),
            Some(self.isutcnt),
        ];
        parts
            .into_iter()
            .try_fold(0usize, |sum, part| sum.checked_add(part?))
            .ok_or_else(|| "its counts are too large".to_owned())
    }
}

/// Parses a TZif file (RFC 8536): the 64-bit data block and footer of version 2 and later, or
/// the 32-bit block of version 1.
fn parse_tzif(data: &[u8]) -> Result<Zone, String> {
    if data.len() as u64 > MAX_TZIF_BYTES {
        return Err("it is larger than 1 MiB".to_owned());
    }
    let mut r = Bytes { data };
    let v1 = Header::read(&mut r)?;
    if v1.version == 0 {
        return read_block(&mut r, &v1, 4).map(|(initial, transitions)| Zone {
            initial,
            transitions,
            rule: None,
        });
    }
    r.take(v1.block_len(4)?)?;
    let v2 = Header::read(&mut r)?;
    let (initial, transitions) = read_block(&mut r, &v2, 8)?;
    let footer = match r.data.split_first() {
        Some((b'\n', rest)) => {
            let end = rest
                .iter()
                .position(|&b| b == b'\n')
                .ok_or("its footer is not closed by a newline")?;
            std::str::from_utf8(&rest[..end]).map_err(|_| "its footer is not ASCII".to_owned())?
        }
        _ => "",
    };
    let rule = PosixTz::parse(footer)
        .map_err(|e| format!("its footer TZ rule {footer:?} cannot be read: {e}"))?;
    let initial = match (&rule, transitions.is_empty()) {
        (Some(rule), true) => rule.std.clone(),
        _ => initial,
    };
    Ok(Zone {
        initial,
        transitions,
        rule,
    })
}

/// Reads one data block: the time types (the first is the initial one) and the transitions.
fn read_block(
    r: &mut Bytes<'_>,
    h: &Header,
    time_size: usize,
) -> Result<(LocalType, Vec<Transition>), String> {
    if h.typecnt == 0 || h.charcnt == 0 {
        return Err("it has no local time types".to_owned());
    }
    if h.block_len(time_size)? > r.data.len() {
        return Err("it ends too early".to_owned());
    }
    let mut times = Vec::with_capacity(h.timecnt.min(1 << 16));
    for _ in 0..h.timecnt {
        let at = if time_size == 8 {
            i64::from_be_bytes(r.array()?)
        } else {
            i64::from(i32::from_be_bytes(r.array()?))
        };
        if times.last().is_some_and(|&prev| prev >= at) {
            return Err("its transitions are not in time order".to_owned());
        }
        times.push(at);
    }
    let indices = r.take(h.timecnt)?;
    let mut raw_types = Vec::with_capacity(h.typecnt.min(256));
    for _ in 0..h.typecnt {
        let utoff = i32::from_be_bytes(r.array()?);
        let [isdst, abbr_index] = r.array()?;
        if !(-89_999..=93_599).contains(&utoff) {
            return Err(format!(
                "it has an impossible UTC offset of {utoff} seconds"
            ));
        }
        raw_types.push((utoff, isdst != 0, usize::from(abbr_index)));
    }
    let chars = r.take(h.charcnt)?;
    let mut types = Vec::with_capacity(raw_types.len());
    for (utoff, isdst, abbr_index) in raw_types {
        let tail = chars
            .get(abbr_index..)
            .ok_or("an abbreviation index is out of range")?;
        let len = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        types.push(LocalType {
            utoff,
            isdst,
            abbr: String::from_utf8_lossy(&tail[..len]).into_owned(),
        });
    }
    r.take(h.leapcnt * (time_size + 4) + h.isstdcnt + h.isutcnt)?;
    let transitions = times
        .into_iter()
        .zip(indices)
        .map(|(at, &i)| {
            types
                .get(usize::from(i))
                .map(|ty| Transition { at, ty: ty.clone() })
                .ok_or_else(|| "a transition names a time type that does not exist".to_owned())
        })
        .collect::<Result<Vec<_>, String>>()?;
    let initial = types.swap_remove(0);
    Ok((initial, transitions))
}

/// A POSIX TZ rule such as `EST5EDT,M3.2.0,M11.1.0` (as extended by RFC 8536).
#[derive(Debug, Clone)]
struct PosixTz {
    std: LocalType,
    dst: Option<DstRule>,
}

/// The daylight-saving part of a POSIX TZ rule.
#[derive(Debug, Clone)]
struct DstRule {
    dst: LocalType,
    start: RuleTime,
    end: RuleTime,
}

/// When a change happens: a day of the year and a local time of day (in the time in effect
/// before the change, in seconds; may be negative or past 24 hours).
#[derive(Debug, Clone, Copy)]
struct RuleTime {
    day: RuleDay,
    time: i64,
}

/// A day of the year in a POSIX TZ rule.
#[derive(Debug, Clone, Copy)]
enum RuleDay {
    /// `Jn`: 1..=365, February 29 never counted.
    Julian(u32),
    /// `n`: 0..=365, February 29 counted.
    Zero(u32),
    /// `Mm.w.d`: weekday `d` (0 = Sunday) of week `w` (1..=5, 5 = last) of month `m`.
    Month { month: u32, week: u32, weekday: u32 },
}

impl PosixTz {
    /// Parses a footer rule; `None` for an empty one.
    fn parse(s: &str) -> Result<Option<PosixTz>, String> {
        if s.is_empty() {
            return Ok(None);
        }
        let mut p = Posix { s: s.as_bytes() };
        let std_name = p.name()?;
        let std_off = -p.hms(24)?;
        let std = LocalType {
            utoff: i32::try_from(std_off).map_err(|_| "offset out of range")?,
            isdst: false,
            abbr: std_name,
        };
        if p.s.is_empty() {
            return Ok(Some(PosixTz { std, dst: None }));
        }
        let dst_name = p.name()?;
        let dst_off = match p.s.first() {
            None | Some(b',') => std_off + 3600,
            Some(_) => -p.hms(24)?,
        };
        let (start, end) = if p.eat(b',') {
            let start = p.rule_time()?;
            if !p.eat(b',') {
                return Err("expected ',' between the start and end rules".to_owned());
            }
            (start, p.rule_time()?)
        } else {
            // POSIX leaves the default to implementations; this is the common one (US rules).
            let at_two = |month, week| RuleTime {
                day: RuleDay::Month {
                    month,
                    week,
                    weekday: 0,
                },
                time: 7200,
            };
            (at_two(3, 2), at_two(11, 1))
        };
        if !p.s.is_empty() {
            return Err("unexpected characters at the end".to_owned());
        }
        let dst = LocalType {
            utoff: i32::try_from(dst_off).map_err(|_| "offset out of range")?,
            isdst: true,
            abbr: dst_name,
        };
        Ok(Some(PosixTz {
            std,
            dst: Some(DstRule { dst, start, end }),
        }))
    }

    /// Appends the rule's two changes in `year` (none without daylight saving).
    fn transitions_in(&self, year: i32, out: &mut Vec<Transition>) {
        let Some(rule) = &self.dst else {
            return;
        };
        let at = |when: RuleTime, before: &LocalType| -> Option<i64> {
            let day = when.day.date(year)?;
            Some(
                day.and_time(NaiveTime::MIN).and_utc().timestamp() + when.time
                    - i64::from(before.utoff),
            )
        };
        if let Some(start) = at(rule.start, &self.std) {
            out.push(Transition {
                at: start,
                ty: rule.dst.clone(),
            });
        }
        if let Some(end) = at(rule.end, &rule.dst) {
            out.push(Transition {
                at: end,
                ty: self.std.clone(),
            });
        }
    }
}

impl RuleDay {
    /// The day in `year`.
    fn date(self, year: i32) -> Option<NaiveDate> {
        match self {
            RuleDay::Julian(n) => {
                let leap = NaiveDate::from_ymd_opt(year, 2, 29).is_some();
                NaiveDate::from_yo_opt(year, n + u32::from(leap && n >= 60))
            }
            RuleDay::Zero(n) => {
                NaiveDate::from_yo_opt(year, 1)?.checked_add_days(Days::new(u64::from(n)))
            }
            RuleDay::Month {
                month,
                week,
                weekday,
            } => {
                let first = NaiveDate::from_ymd_opt(year, month, 1)?;
                let first_weekday = first.weekday().num_days_from_sunday();
                let day = 1 + (weekday + 7 - first_weekday) % 7 + (week - 1) * 7;
                NaiveDate::from_ymd_opt(year, month, day)
                    .or_else(|| NaiveDate::from_ymd_opt(year, month, day - 7))
            }
        }
    }
}

/// A cursor over a POSIX TZ rule.
struct Posix<'a> {
    s: &'a [u8],
}

impl Posix<'_> {
    fn eat(&mut self, b: u8) -> bool {
        if self.s.first() == Some(&b) {
            self.s = &self.s[1..];
            true
        } else {
            false
        }
    }

    /// A zone abbreviation: three or more letters, or anything but `>` in angle brackets.
    fn name(&mut self) -> Result<String, String> {
        let (name, rest) = if self.eat(b'<') {
            let end = self
                .s
                .iter()
                .position(|&b| b == b'>')
                .ok_or("an abbreviation's '<' is not closed")?;
            (&self.s[..end], &self.s[end + 1..])
        } else {
            let end = self
                .s
                .iter()
                .position(|b| !b.is_ascii_alphabetic())
                .unwrap_or(self.s.len());
            (&self.s[..end], &self.s[end..])
        };
        if name.len() < 3 {
            return Err("an abbreviation is shorter than three characters".to_owned());
        }
        self.s = rest;
        Ok(String::from_utf8_lossy(name).into_owned())
    }

    /// Digits as a number.
    fn number(&mut self) -> Result<u32, String> {
        let end = self
            .s
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(self.s.len());
        if end == 0 || end > 3 {
            return Err("expected a number of one to three digits".to_owned());
        }
        let n = self.s[..end]
            .iter()
            .fold(0u32, |n, &b| n * 10 + u32::from(b - b'0'));
        self.s = &self.s[end..];
        Ok(n)
    }

    /// `[+|-]hh[:mm[:ss]]` in seconds, hours at most `max_hours`.
    fn hms(&mut self, max_hours: u32) -> Result<i64, String> {
        let negative = if self.eat(b'-') {
            true
        } else {
            self.eat(b'+');
            false
        };
        let hours = self.number()?;
        let minutes = if self.eat(b':') { self.number()? } else { 0 };
        let seconds = if self.eat(b':') { self.number()? } else { 0 };
        if hours > max_hours || minutes > 59 || seconds > 59 {
            return Err("a time or offset is out of range".to_owned());
        }
        let total = i64::from(hours * 3600 + minutes * 60 + seconds);
        Ok(if negative { -total } else { total })
    }

    /// `date[/time]`.
    fn rule_time(&mut self) -> Result<RuleTime, String> {
        let day = if self.eat(b'J') {
            let n = self.number()?;
            if !(1..=365).contains(&n) {
                return Err("a Julian day is out of range".to_owned());
            }
            RuleDay::Julian(n)
        } else if self.eat(b'M') {
            let month = self.number()?;
            let week = if self.eat(b'.') { self.number()? } else { 0 };
            let weekday = if self.eat(b'.') { self.number()? } else { 7 };
            if !(1..=12).contains(&month) || !(1..=5).contains(&week) || weekday > 6 {
                return Err("an Mm.w.d rule is out of range".to_owned());
            }
            RuleDay::Month {
                month,
                week,
                weekday,
            }
        } else {
            let n = self.number()?;
            if n > 365 {
                return Err("a day of the year is out of range".to_owned());
            }
            RuleDay::Zero(n)
        };
        let time = if self.eat(b'/') { self.hms(167)? } else { 7200 };
        Ok(RuleTime { day, time })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The system's zone database, or `None` (with a note) where there is none.
    fn zoneinfo() -> Option<&'static Path> {
        let path = Path::new(SYSTEM_ZONEINFO);
        if path.join("America/New_York").is_file() {
            Some(path)
        } else {
            println!("note: skipping a time zone test: no tz database at {SYSTEM_ZONEINFO}");
            None
        }
    }

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|day| day.and_hms_opt(h, mi, 0))
            .expect("valid test time")
    }

    fn day(y: i32, mo: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, mo, d).expect("valid test date")
    }

    fn event(summary: &str, start: When, end: When) -> Event {
        Event {
            uid: format!("{}@secretariat-desk", summary.len()),
            sequence: 2,
            stamp: at(2026, 11, 1, 8, 30),
            last_modified: Some(at(2026, 10, 31, 23, 0)),
            summary: summary.to_owned(),
            description: String::new(),
            location: String::new(),
            start,
            end,
            status: Some(EventStatus::Confirmed),
            categories: Vec::new(),
            attendees: Vec::new(),
            organizer: None,
            url: None,
            classification: None,
        }
    }

    fn local(t: NaiveDateTime, tzid: &str) -> When {
        When::Local {
            at: t,
            tzid: tzid.to_owned(),
        }
    }

    fn calendar(events: Vec<Event>) -> Calendar {
        Calendar {
            name: "Secretariat meetings".to_owned(),
            events,
        }
    }

    /// The logical lines of iCalendar text.
    fn unfold(ics: &str) -> Vec<String> {
        ics.replace("\r\n ", "")
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The lines of each `name` component (between its BEGIN and END lines).
    fn components(ics: &str, name: &str) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        let mut current: Option<Vec<String>> = None;
        for line in unfold(ics) {
            if line == format!("BEGIN:{name}") {
                current = Some(Vec::new());
            } else if line == format!("END:{name}") {
                out.extend(current.take());
            } else if let Some(c) = current.as_mut() {
                c.push(line);
            }
        }
        out
    }

    /// The observance of `kind` (STANDARD or DAYLIGHT) starting at `dtstart`, if any.
    fn observance(ics: &str, kind: &str, dtstart: &str) -> Option<Vec<String>> {
        components(ics, kind)
            .into_iter()
            .find(|o| o.contains(&format!("DTSTART:{dtstart}")))
    }

    fn vtimezone_for(zoneinfo: &Path, tzid: &str, t: NaiveDateTime) -> String {
        let ev = event(
            "Meeting",
            local(t, tzid),
            local(t + chrono::Duration::hours(2), tzid),
        );
        write(&calendar(vec![ev]), zoneinfo).expect("writes")
    }

    fn has(lines: &[String], line: &str) -> bool {
        lines.iter().any(|l| l == line)
    }

    #[test]
    fn folding_keeps_lines_short_and_characters_whole() {
        let myanmar = "အစည်းအဝေး၏ အစီအစဉ်နှင့် ဆုံးဖြတ်ချက်များ ".repeat(3);
        let khmer = "កិច្ចប្រជុំគណៈកម្មាធិការ និងរបៀបវារៈ ".repeat(3);
        let mut ev = event(
            &format!("{myanmar}{khmer}"),
            When::Date(day(2026, 12, 10)),
            When::Date(day(2026, 12, 11)),
        );
        ev.description = format!("{khmer}\n{myanmar}");
        ev.attendees.push(Attendee {
            name: format!("Bùi Thanh Sơn {myanmar}"),
            email: Some("son@example.org".to_owned()),
            role: AttendeeRole::Chair,
            partstat: None,
        });
        assert!(ev.summary.len() > 300);
        let ics = write(&calendar(vec![ev]), Path::new("/nonexistent")).expect("writes");
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        let mut folded = 0;
        for line in ics.as_bytes().split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            assert!(line.len() <= 75, "{} octets", line.len());
            assert!(std::str::from_utf8(line).is_ok(), "a character was split");
            folded += usize::from(line.first() == Some(&b' '));
        }
        assert!(folded >= 8, "long lines were folded");
        let lines = unfold(&ics);
        assert!(has(&lines, &format!("SUMMARY:{myanmar}{khmer}")));
        assert!(has(&lines, &format!("DESCRIPTION:{khmer}\\n{myanmar}")));
        assert!(has(
            &lines,
            &format!(
                "ATTENDEE;CN=\"Bùi Thanh Sơn {}\";ROLE=CHAIR:mailto:son@example.org",
                myanmar.trim_end()
            )
        ));
    }

    proptest! {
        #[test]
        fn any_line_folds_and_unfolds(line in "\\PC{0,300}") {
            let mut out = String::new();
            push_line(&mut out, &line);
            prop_assert!(out.ends_with("\r\n"));
            for physical in out.trim_end_matches("\r\n").split("\r\n") {
                prop_assert!(physical.len() <= 75);
            }
            prop_assert_eq!(out.replace("\r\n ", ""), format!("{line}\r\n"));
        }
    }

    #[test]
    fn text_and_parameters_are_escaped() {
        assert_eq!(
            text("a\\b;c,d\r\ne\nf\rg\u{7}h"),
            "a\\\\b\\;c\\,d\\ne\\nf\\ngh"
        );
        assert_eq!(param_value("Somchai Jaidee"), "Somchai Jaidee");
        assert_eq!(param_value("Doe, Jane"), "\"Doe, Jane\"");
        assert_eq!(param_value("สมชาย \"Tom\" ใจดี"), "\"สมชาย Tom ใจดี\"");
        assert_eq!(param_value("a:b\nc"), "\"a:b c\"");
        assert_eq!(mailto_address("a b@ex.org"), "a%20b@ex.org");

        let mut ev = event(
            "Budget; draft, v2",
            When::Date(day(2026, 12, 10)),
            When::Date(day(2026, 12, 10)),
        );
        ev.description = "1. Opening\n2. Budget \\ finance".to_owned();
        ev.location = "Room 3, Block A".to_owned();
        ev.categories = vec!["ASEAN, SOM".to_owned(), " ".to_owned(), "Budget".to_owned()];
        ev.classification = Some("private".to_owned());
        ev.url = Some(" https://example.org/m/1?a=1 b ".to_owned());
        ev.organizer = Some(Attendee {
            name: "Phan Văn Khải".to_owned(),
            email: Some("khai@example.org".to_owned()),
            role: AttendeeRole::Chair,
            partstat: Some(PartStat::Accepted),
        });
        ev.attendees = vec![
            Attendee {
                name: "Somchai Jaidee".to_owned(),
                email: Some("somchai@example.org".to_owned()),
                role: AttendeeRole::ReqParticipant,
                partstat: Some(PartStat::Tentative),
            },
            Attendee {
                name: "Sok, Dara".to_owned(),
                email: None,
                role: AttendeeRole::OptParticipant,
                partstat: None,
            },
        ];
        let ics = write(&calendar(vec![ev]), Path::new("/nonexistent")).expect("writes");
        let lines = unfold(&ics);
        for expected in [
            "BEGIN:VCALENDAR",
            "PRODID:-//Secretariat Desk//desk//EN",
            "VERSION:2.0",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
            "X-WR-CALNAME:Secretariat meetings",
            "UID:17@secretariat-desk",
            "SEQUENCE:2",
            "DTSTAMP:20261101T083000Z",
            "LAST-MODIFIED:20261031T230000Z",
            "SUMMARY:Budget\\; draft\\, v2",
            "DESCRIPTION:1. Opening\\n2. Budget \\\\ finance",
            "LOCATION:Room 3\\, Block A",
            "STATUS:CONFIRMED",
            "CLASS:PRIVATE",
            "CATEGORIES:ASEAN\\, SOM,Budget",
            "ORGANIZER;CN=\"Phan Văn Khải\":mailto:khai@example.org",
            "ATTENDEE;CN=Somchai Jaidee;ROLE=REQ-PARTICIPANT;PARTSTAT=TENTATIVE:mailto:somchai@example.org",
            "ATTENDEE;CN=\"Sok, Dara\";ROLE=OPT-PARTICIPANT:invalid:nomail",
            "URL:https://example.org/m/1?a=1%20b",
        ] {
            assert!(has(&lines, expected), "missing {expected:?} in\n{ics}");
        }
        assert!(!ics.contains("VTIMEZONE"), "no zone for all-day events");
    }

    #[test]
    fn all_day_end_is_the_day_after_the_last_day() {
        let one_day = event(
            "One day",
            When::Date(day(2026, 12, 10)),
            When::Date(day(2026, 12, 10)),
        );
        let over_new_year = event(
            "Over new year",
            When::Date(day(2026, 12, 30)),
            When::Date(day(2026, 12, 31)),
        );
        let leap = event(
            "Leap",
            When::Date(day(2028, 2, 28)),
            When::Date(day(2028, 2, 28)),
        );
        let ics = write(
            &calendar(vec![one_day, over_new_year, leap]),
            Path::new("/nonexistent"),
        )
        .expect("writes");
        let events = components(&ics, "VEVENT");
        assert!(has(&events[0], "DTSTART;VALUE=DATE:20261210"));
        assert!(has(&events[0], "DTEND;VALUE=DATE:20261211"));
        assert!(has(&events[1], "DTSTART;VALUE=DATE:20261230"));
        assert!(has(&events[1], "DTEND;VALUE=DATE:20270101"));
        assert!(has(&events[2], "DTEND;VALUE=DATE:20280229"));
    }

    #[test]
    fn inconsistent_events_are_refused() {
        let backwards = event(
            "Backwards",
            When::Date(day(2026, 12, 10)),
            When::Date(day(2026, 12, 9)),
        );
        let mixed = event(
            "Mixed",
            When::Date(day(2026, 12, 10)),
            local(at(2026, 12, 10, 9, 0), "Asia/Bangkok"),
        );
        let mut no_uid = event(
            "No UID",
            When::Date(day(2026, 12, 10)),
            When::Date(day(2026, 12, 10)),
        );
        no_uid.uid = " ".to_owned();
        let mut odd_class = no_uid.clone();
        odd_class.uid = "x@secretariat-desk".to_owned();
        odd_class.summary = "Odd class".to_owned();
        odd_class.classification = Some("SECRET".to_owned());
        let mut cases = vec![backwards, no_uid, odd_class];
        // A mixed event names a zone, which is read first.
        let zi = zoneinfo();
        if zi.is_some() {
            cases.push(mixed);
        }
        for ev in cases {
            let summary = ev.summary.clone();
            match write(&calendar(vec![ev]), zi.unwrap_or(Path::new("/nonexistent"))) {
                Err(IcalError::InvalidEvent { summary: s, .. }) => assert_eq!(s, summary),
                other => panic!("{summary}: {other:?}"),
            }
        }
    }

    #[test]
    fn zones_without_changes_have_one_standard_observance() {
        let Some(zi) = zoneinfo() else { return };
        for (tzid, offset, seconds) in [
            ("Asia/Bangkok", "+0700", 25_200),
            ("Asia/Yangon", "+0630", 23_400),
            ("Asia/Ho_Chi_Minh", "+0700", 25_200),
            ("Asia/Phnom_Penh", "+0700", 25_200),
            ("Asia/Vientiane", "+0700", 25_200),
        ] {
            let ics = vtimezone_for(zi, tzid, at(2026, 12, 10, 9, 0));
            let lines = unfold(&ics);
            assert!(has(&lines, &format!("TZID:{tzid}")), "{ics}");
            assert!(has(&lines, &format!("DTSTART;TZID={tzid}:20261210T090000")));
            assert!(has(&lines, &format!("DTEND;TZID={tzid}:20261210T110000")));
            assert!(components(&ics, "DAYLIGHT").is_empty(), "{ics}");
            let standard = components(&ics, "STANDARD");
            assert_eq!(standard.len(), 1, "{ics}");
            let s = &standard[0];
            assert!(has(s, "DTSTART:19700101T000000"), "{ics}");
            assert!(has(s, &format!("TZOFFSETFROM:{offset}")), "{ics}");
            assert!(has(s, &format!("TZOFFSETTO:{offset}")), "{ics}");
            assert!(s.iter().any(|l| l.starts_with("TZNAME:")), "{ics}");
            assert_eq!(
                zone_offset_at(zi, tzid, at(2026, 12, 10, 2, 0)).expect("offset"),
                seconds
            );
        }
    }

    #[test]
    fn new_york_2026_changes_in_march_and_november() {
        let Some(zi) = zoneinfo() else { return };
        let ics = vtimezone_for(zi, "America/New_York", at(2026, 6, 15, 10, 0));
        let spring = observance(&ics, "DAYLIGHT", "20260308T020000").expect(&ics);
        assert!(has(&spring, "TZOFFSETFROM:-0500"));
        assert!(has(&spring, "TZOFFSETTO:-0400"));
        assert!(has(&spring, "TZNAME:EDT"));
        let autumn = observance(&ics, "STANDARD", "20261101T020000").expect(&ics);
        assert!(has(&autumn, "TZOFFSETFROM:-0400"));
        assert!(has(&autumn, "TZOFFSETTO:-0500"));
        assert!(has(&autumn, "TZNAME:EST"));
        // A year either side, opening with the change in effect at the span's start.
        // A year either side (2025-06-15 to 2027-06-15), opening with the change in effect at
        // the span's start.
        let starts: Vec<String> = components(&ics, "DAYLIGHT")
            .into_iter()
            .chain(components(&ics, "STANDARD"))
            .filter_map(|o| o.into_iter().find(|l| l.starts_with("DTSTART:")))
            .collect();
        assert_eq!(starts.len(), 5, "{ics}");
        for start in ["20250309", "20251102", "20260308", "20261101", "20270314"] {
            assert!(
                starts.contains(&format!("DTSTART:{start}T020000")),
                "{start}: {ics}"
            );
        }
        assert_eq!(
            zone_offset_at(zi, "America/New_York", at(2026, 7, 1, 12, 0)).expect("offset"),
            -14_400
        );
        assert_eq!(
            zone_offset_at(zi, "America/New_York", at(2026, 1, 1, 12, 0)).expect("offset"),
            -18_000
        );
    }

    #[test]
    fn berlin_and_sydney_change_on_their_own_dates() {
        let Some(zi) = zoneinfo() else { return };
        let berlin = vtimezone_for(zi, "Europe/Berlin", at(2026, 6, 15, 10, 0));
        let summer = observance(&berlin, "DAYLIGHT", "20260329T020000").expect(&berlin);
        assert!(has(&summer, "TZOFFSETFROM:+0100") && has(&summer, "TZOFFSETTO:+0200"));
        let winter = observance(&berlin, "STANDARD", "20261025T030000").expect(&berlin);
        assert!(has(&winter, "TZOFFSETFROM:+0200") && has(&winter, "TZOFFSETTO:+0100"));

        let sydney = vtimezone_for(zi, "Australia/Sydney", at(2026, 6, 15, 10, 0));
        let winter = observance(&sydney, "STANDARD", "20260405T030000").expect(&sydney);
        assert!(has(&winter, "TZOFFSETFROM:+1100") && has(&winter, "TZOFFSETTO:+1000"));
        let summer = observance(&sydney, "DAYLIGHT", "20261004T020000").expect(&sydney);
        assert!(has(&summer, "TZOFFSETFROM:+1000") && has(&summer, "TZOFFSETTO:+1100"));
    }

    #[test]
    fn dublin_summer_time_is_labelled_daylight() {
        let Some(zi) = zoneinfo() else { return };
        if !zi.join("Europe/Dublin").is_file() {
            println!("note: skipping: no Europe/Dublin");
            return;
        }
        let ics = vtimezone_for(zi, "Europe/Dublin", at(2026, 6, 15, 10, 0));
        let summer = observance(&ics, "DAYLIGHT", "20260329T010000").expect(&ics);
        assert!(has(&summer, "TZOFFSETFROM:+0000") && has(&summer, "TZOFFSETTO:+0100"));
        let winter = observance(&ics, "STANDARD", "20261025T020000").expect(&ics);
        assert!(has(&winter, "TZOFFSETFROM:+0100") && has(&winter, "TZOFFSETTO:+0000"));
    }

    #[test]
    fn offsets_after_the_stored_transitions_follow_the_footer_rule() {
        let Some(zi) = zoneinfo() else { return };
        for (tzid, july, january) in [
            ("America/New_York", -14_400, -18_000),
            ("Europe/Berlin", 7_200, 3_600),
            ("Australia/Sydney", 36_000, 39_600),
            ("Asia/Yangon", 23_400, 23_400),
        ] {
            for year in [2045, 2100] {
                let offset = |m| zone_offset_at(zi, tzid, at(year, m, 1, 12, 0)).expect("offset");
                assert_eq!((offset(7), offset(1)), (july, january), "{tzid} {year}");
            }
        }
        let ics = vtimezone_for(zi, "America/New_York", at(2050, 6, 15, 10, 0));
        assert!(
            observance(&ics, "DAYLIGHT", "20500313T020000").is_some(),
            "{ics}"
        );
        assert!(
            observance(&ics, "STANDARD", "20501106T020000").is_some(),
            "{ics}"
        );
    }

    /// A TZif file of `version` (0 for version 1) with the given transitions, types and footer.
    fn tzif(
        version: u8,
        transitions: &[(i64, u8)],
        types: &[(i32, bool, &str)],
        footer: &str,
    ) -> Vec<u8> {
        let mut chars = Vec::new();
        let mut ttinfos = Vec::new();
        for &(utoff, isdst, abbr) in types {
            ttinfos.extend_from_slice(&utoff.to_be_bytes());
            ttinfos.push(u8::from(isdst));
            ttinfos.push(u8::try_from(chars.len()).expect("short"));
            chars.extend_from_slice(abbr.as_bytes());
            chars.push(0);
        }
        let block = |time_size: usize, out: &mut Vec<u8>| {
            out.extend_from_slice(b"TZif");
            out.push(version);
            out.extend_from_slice(&[0; 15]);
            for count in [0, 0, 0, transitions.len(), types.len(), chars.len()] {
                out.extend_from_slice(&u32::try_from(count).expect("small").to_be_bytes());
            }
            for &(at, _) in transitions {
                if time_size == 8 {
                    out.extend_from_slice(&at.to_be_bytes());
                } else {
                    out.extend_from_slice(&i32::try_from(at).expect("32-bit").to_be_bytes());
                }
            }
            out.extend(transitions.iter().map(|&(_, i)| i));
            out.extend_from_slice(&ttinfos);
            out.extend_from_slice(&chars);
        };
        let mut out = Vec::new();
        block(4, &mut out);
        if version != 0 {
            block(8, &mut out);
            out.push(b'\n');
            out.extend_from_slice(footer.as_bytes());
            out.push(b'\n');
        }
        out
    }

    #[test]
    fn slim_and_version_one_files_are_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let zi = dir.path();
        std::fs::create_dir_all(zi.join("Test")).expect("dir");
        // Slim, rule only: Sydney's.
        std::fs::write(
            zi.join("Test/Slim"),
            tzif(
                b'2',
                &[],
                &[(36_000, false, "AEST")],
                "AEST-10AEDT,M10.1.0,M4.1.0/3",
            ),
        )
        .expect("write");
        let ics = vtimezone_for(zi, "Test/Slim", at(2026, 6, 15, 10, 0));
        let winter = observance(&ics, "STANDARD", "20260405T030000").expect(&ics);
        assert!(has(&winter, "TZOFFSETFROM:+1100") && has(&winter, "TZOFFSETTO:+1000"));
        let summer = observance(&ics, "DAYLIGHT", "20261004T020000").expect(&ics);
        assert!(has(&summer, "TZOFFSETFROM:+1000") && has(&summer, "TZOFFSETTO:+1100"));
        assert!(has(&summer, "TZNAME:AEDT"));

        // Version 1: a fixed offset with seconds, then +0630 from 2020-01-01.
        std::fs::write(
            zi.join("Test/Old"),
            tzif(
                0,
                &[(1_577_836_800, 1)],
                &[(23_087, false, "LMT"), (23_400, false, "MMT")],
                "",
            ),
        )
        .expect("write");
        let ics = vtimezone_for(zi, "Test/Old", at(2020, 6, 1, 9, 0));
        let change = observance(&ics, "STANDARD", "20200101T062447").expect(&ics);
        assert!(has(&change, "TZOFFSETFROM:+062447") && has(&change, "TZOFFSETTO:+0630"));
        assert_eq!(
            zone_offset_at(zi, "Test/Old", at(2019, 12, 31, 0, 0)).expect("offset"),
            23_087
        );
        let later = vtimezone_for(zi, "Test/Old", at(2026, 6, 1, 9, 0));
        let steady = observance(&later, "STANDARD", "19700101T000000").expect(&later);
        assert!(has(&steady, "TZOFFSETFROM:+0630") && has(&steady, "TZNAME:MMT"));

        // Year-round daylight saving by rule.
        std::fs::write(
            zi.join("Test/AllYear"),
            tzif(b'3', &[], &[(-18_000, false, "EST")], "EST5EDT,0/0,J365/25"),
        )
        .expect("write");
        for m in [1, 6, 12] {
            let offset = zone_offset_at(zi, "Test/AllYear", at(2026, m, 15, 0, 0)).expect("offset");
            assert_eq!(offset, -14_400);
        }
    }

    #[test]
    fn bad_zones_are_refused_by_name() {
        let zi = zoneinfo().unwrap_or(Path::new("/nonexistent"));
        for tzid in [
            "../etc/passwd",
            "/etc/passwd",
            "Asia/../Asia/Bangkok",
            "",
            "Asia//Bangkok",
            "Asia\\Bangkok",
        ] {
            match zone_offset_at(zi, tzid, at(2026, 1, 1, 0, 0)) {
                Err(IcalError::BadTzid { tzid: named }) => assert_eq!(named, tzid),
                other => panic!("{tzid:?}: {other:?}"),
            }
        }
        let err = zone_offset_at(zi, "Asia/Atlantis", at(2026, 1, 1, 0, 0)).expect_err("missing");
        assert!(matches!(err, IcalError::ZoneUnreadable { .. }), "{err:?}");
        assert!(err.to_string().contains("Asia/Atlantis"), "{err}");

        let ev = event(
            "Board of governors",
            local(at(2026, 12, 10, 9, 0), "Asia/Atlantis"),
            local(at(2026, 12, 10, 10, 0), "Asia/Atlantis"),
        );
        let err = write(&calendar(vec![ev]), zi).expect_err("missing zone");
        let message = err.to_string();
        assert!(
            message.contains("Board of governors") && message.contains("Asia/Atlantis"),
            "{message}"
        );
        assert!(matches!(err, IcalError::EventZone { ref tzid, .. } if tzid == "Asia/Atlantis"));

        if zi.join("zone.tab").is_file() {
            let err = zone_offset_at(zi, "zone.tab", at(2026, 1, 1, 0, 0)).expect_err("not TZif");
            assert!(matches!(err, IcalError::NotTzif { .. }), "{err:?}");
            assert!(err.to_string().contains("zone.tab"), "{err}");
        }
        if zi.join("Asia").is_dir() {
            let err = zone_offset_at(zi, "Asia", at(2026, 1, 1, 0, 0)).expect_err("a directory");
            assert!(err.to_string().contains("\"Asia\""), "{err}");
        }
    }

    #[test]
    fn timed_events_in_two_zones_are_ordered_in_utc() {
        let Some(zi) = zoneinfo() else { return };
        // 09:00 in Bangkok (02:00 UTC) to 10:00 in Yangon (03:30 UTC): fine.
        let flight = event(
            "Flight",
            local(at(2026, 12, 10, 9, 0), "Asia/Bangkok"),
            local(at(2026, 12, 10, 10, 0), "Asia/Yangon"),
        );
        let ics = write(&calendar(vec![flight]), zi).expect("writes");
        assert_eq!(components(&ics, "VTIMEZONE").len(), 2);
        // 09:00 in Bangkok to 08:45 in Yangon (02:15 UTC) still ends after it starts.
        let short = event(
            "Short",
            local(at(2026, 12, 10, 9, 0), "Asia/Bangkok"),
            local(at(2026, 12, 10, 8, 45), "Asia/Yangon"),
        );
        assert!(write(&calendar(vec![short]), zi).is_ok());
        // 09:00 in Bangkok to 08:00 in Yangon (01:30 UTC) does not.
        let backwards = event(
            "Backwards",
            local(at(2026, 12, 10, 9, 0), "Asia/Bangkok"),
            local(at(2026, 12, 10, 8, 0), "Asia/Yangon"),
        );
        assert!(matches!(
            write(&calendar(vec![backwards]), zi),
            Err(IcalError::InvalidEvent { .. })
        ));
        // An instant meeting has no DTEND.
        let instant = event(
            "Instant",
            local(at(2026, 12, 10, 9, 0), "Asia/Bangkok"),
            local(at(2026, 12, 10, 9, 0), "Asia/Bangkok"),
        );
        let ics = write(&calendar(vec![instant]), zi).expect("writes");
        assert!(!ics.contains("DTEND"));
    }

    #[test]
    fn offsets_are_formatted_with_sign_and_seconds_when_needed() {
        assert_eq!(fmt_offset(0), "+0000");
        assert_eq!(fmt_offset(25_200), "+0700");
        assert_eq!(fmt_offset(-12_600), "-0330");
        assert_eq!(fmt_offset(23_087), "+062447");
        assert_eq!(fmt_offset(-17_762), "-045602");
    }
}

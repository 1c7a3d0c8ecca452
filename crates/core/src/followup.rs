//! Follow-up of action items: whether one is overdue, due soon, open or done, decided here once
//! against an explicit date, so the briefing pack, the CLI and the app never disagree; and the
//! follow-up tracker ([`crate::Replica::followup`]): every action item of a framework's
//! meetings, the one list the app shows and the briefing pack prints.

use crate::replica::Record;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// How many days ahead an action counts as due soon.
pub const DUE_SOON_DAYS: i64 = 7;

/// The statuses that close an action (see `schema::ACTION_STATUSES`): completed, or overtaken
/// by events. Nothing is due of a closed action.
pub const CLOSED_STATUSES: &[&str] = &["completed", "overtaken"];

/// Where an action item stands on a given date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum DueState {
    /// Not closed and its due date is before the date.
    Overdue,
    /// Not closed and due on the date or within [`DUE_SOON_DAYS`] days after it.
    DueSoon,
    /// Not closed, and due later or with no due date.
    Open,
    /// Completed or overtaken.
    Done,
}

/// Where `action` stands on `as_of`. A due date that is not a valid date counts as none.
pub fn due_state(action: &Record, as_of: NaiveDate) -> DueState {
    state_of(action.str("status"), action.str("due_date"), as_of)
}

/// [`due_state`] from the two fields it reads.
pub fn state_of(status: Option<&str>, due_date: Option<&str>, as_of: NaiveDate) -> DueState {
    state_at(status, due_date.and_then(parse_date), as_of)
}

/// [`state_of`] with the due date read.
fn state_at(status: Option<&str>, due: Option<NaiveDate>, as_of: NaiveDate) -> DueState {
    if status.is_some_and(|s| CLOSED_STATUSES.contains(&s)) {
        return DueState::Done;
    }
    match due {
        Some(due) if due < as_of => DueState::Overdue,
        Some(due) if (due - as_of).num_days() <= DUE_SOON_DAYS => DueState::DueSoon,
        _ => DueState::Open,
    }
}

/// Who is responsible for an action item as people read it: its owner (a country or agency as
/// typed), else the responsible country's name, else nobody ("").
pub fn responsible(owner: Option<&str>, owner_country: Option<&str>) -> String {
    match owner.map(str::trim).filter(|o| !o.is_empty()) {
        Some(o) => o.to_string(),
        None => owner_country
            .map(|c| crate::schema::country(c).map_or(c.to_string(), |x| x.name.to_string()))
            .unwrap_or_default(),
    }
}

/// Parses a YYYY-MM-DD date.
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Which action items [`Replica::followup`] lists, by where they stand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum DueFilter {
    /// All of them.
    #[default]
    Any,
    Overdue,
    DueSoon,
    /// Not closed, due later than a week or with no due date ([`DueState::Open`]).
    Open,
    /// Completed or overtaken.
    Done,
    /// Not done: overdue, due soon or open (what is still to be followed up).
    Pending,
}

impl DueFilter {
    pub const NAMES: [&'static str; 6] = ["any", "overdue", "due_soon", "open", "done", "pending"];

    /// By name ("due_soon" or "due-soon").
    pub fn named(s: &str) -> Option<DueFilter> {
        Some(match s.trim().replace('-', "_").as_str() {
            "any" => DueFilter::Any,
            "overdue" => DueFilter::Overdue,
            "due_soon" => DueFilter::DueSoon,
            "open" => DueFilter::Open,
            "done" => DueFilter::Done,
            "pending" => DueFilter::Pending,
            _ => return None,
        })
    }

    /// Whether an action item in this state is listed.
    pub fn admits(self, state: DueState) -> bool {
        match self {
            DueFilter::Any => true,
            DueFilter::Overdue => state == DueState::Overdue,
            DueFilter::DueSoon => state == DueState::DueSoon,
            DueFilter::Open => state == DueState::Open,
            DueFilter::Done => state == DueState::Done,
            DueFilter::Pending => state != DueState::Done,
        }
    }
}

/// Which action items the follow-up tracker lists: those of every meeting of one framework.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(default)]
pub struct FollowupQuery {
    /// The meetings' `framework`, as stored ("ACMECS", "Mekong-U.S. Partnership").
    pub framework: String,
    /// Where they stand on `as_of`.
    pub due: DueFilter,
    /// The responsible country (code or name).
    pub owner_country: Option<String>,
    /// An action status (not_started, ongoing, completed, overtaken).
    pub status: Option<String>,
    /// The day the due states are for, YYYY-MM-DD (required).
    pub as_of: String,
    /// Only action items agreed at meetings that started before this day, YYYY-MM-DD (a
    /// briefing pack follows up the meetings before its own).
    pub before: Option<String>,
}

/// A meeting as a follow-up row names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MeetingRef {
    pub id: String,
    /// Its short title, else its title.
    pub label: String,
    /// Its first day, YYYY-MM-DD.
    pub date: Option<String>,
}

/// The decision an action item follows from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DecisionRef {
    pub id: String,
    /// Its number as shown ([`Replica::display_numbers`]).
    pub number: Option<String>,
    pub text: String,
}

/// One action item in the follow-up tracker (the app's list and the briefing pack's matrix).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FollowupRow {
    /// The action item's id.
    pub id: String,
    pub title: String,
    /// The meeting where it was agreed.
    pub meeting: MeetingRef,
    pub decision: Option<DecisionRef>,
    /// Who is responsible as people read it: the owner, else the responsible country's name.
    pub responsible: String,
    pub owner: Option<String>,
    /// ISO code of the responsible country.
    pub owner_country: Option<String>,
    /// The responsible person (contact id) and name.
    pub owner_contact: Option<String>,
    pub owner_contact_name: Option<String>,
    pub due_date: Option<String>,
    pub status: String,
    /// Where it stands on the query's day ([`due_state`]).
    pub due: DueState,
    pub evidence: Option<String>,
    /// The meeting where its progress was last reported.
    pub reported_at: Option<MeetingRef>,
}

/// A page of the follow-up tracker ([`Replica::followup_page`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FollowupPage {
    /// The rows of the page, in the tracker's order.
    pub rows: Vec<FollowupRow>,
    /// How many action items the query admits in all.
    pub total: u64,
}

/// Raw columns of one row of the tracker's query.
struct RawRow {
    row: FollowupRow,
    decision_number: Option<String>,
    decision_id: Option<String>,
}

fn day(d: &crate::EntityDesc, part: &str, s: &str) -> crate::Result<NaiveDate> {
    parse_date(s).ok_or_else(|| {
        crate::Error::invalid(d.name, part, format!("'{s}' is not a date YYYY-MM-DD"))
    })
}

/// A cooperation framework as the tracker offers it: its name as stored and how many live
/// meetings it has.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Framework {
    pub name: String,
    pub meetings: u64,
}

impl crate::Replica {
    /// The frameworks of the live meetings, most meetings first (then by name).
    pub fn frameworks(&self) -> crate::Result<Vec<Framework>> {
        let sql = format!(
            "SELECT framework, COUNT(*) FROM {} WHERE _deleted = 0 AND framework IS NOT NULL \
             AND trim(framework) != '' GROUP BY framework ORDER BY COUNT(*) DESC, framework",
            crate::Entity::Meeting.desc().table
        );
        let mut stmt = self.reader().prepare_cached(&sql)?;
        let rows = stmt.query_map([], |r| {
            Ok(Framework {
                name: r.get(0)?,
                meetings: r.get::<_, i64>(1)?.max(0) as u64,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The live meetings of a framework, latest first (undated last), at most `limit`: where
    /// an action item's progress can be recorded as reported.
    pub fn framework_meetings(
        &self,
        framework: &str,
        limit: usize,
    ) -> crate::Result<Vec<MeetingRef>> {
        let mut stmt = self.reader().prepare_cached(
            "SELECT id, short_title, title, start_date FROM meeting \
             WHERE framework = ?1 AND _deleted = 0 \
             ORDER BY start_date IS NULL, start_date DESC, id LIMIT ?2",
        )?;
        let rows = stmt.query_map(
            rusqlite::params![framework, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| {
                Ok(MeetingRef {
                    id: r.get(0)?,
                    label: r
                        .get::<_, Option<String>>(1)?
                        .or(r.get::<_, Option<String>>(2)?)
                        .unwrap_or_default(),
                    date: r.get(3)?,
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The follow-up tracker: every live action item of the live meetings of a framework that
    /// the query admits, each with its meeting, decision, who is responsible, due date,
    /// status, due state on `as_of` ([`due_state`], as everywhere), evidence and the meeting
    /// where it was last reported. Ordered by due date (none last), then the meeting's date
    /// and label, then title. A framework's 2,000 action items take ~9 ms, and a page of them
    /// once the framework's order is kept under 1 ms (the `replica` bench, case 5). The
    /// briefing pack's follow-up matrix is made from it. Errors name the query's part at
    /// fault.
    pub fn followup(&self, q: &FollowupQuery) -> crate::Result<Vec<FollowupRow>> {
        Ok(self.followup_page(q, 0, usize::MAX)?.rows)
    }

    /// Rows `offset..offset + limit` of [`Replica::followup`]'s list, and how many it holds in
    /// all. The framework's action items are put in order once ([`Order`]: ids and the few
    /// fields the filters read) and kept while the replica is unchanged, so a filter changed
    /// in the app is counted and cut in memory; only the rows of the page are read whole.
    pub fn followup_page(
        &self,
        q: &FollowupQuery,
        offset: usize,
        limit: usize,
    ) -> crate::Result<FollowupPage> {
        let d = crate::Entity::Action.desc();
        let as_of = day(d, "as_of", &q.as_of)?;
        if let Some(before) = &q.before {
            day(d, "before", before)?;
        }
        let country = match &q.owner_country {
            Some(c) => Some(
                crate::schema::country(c)
                    .ok_or_else(|| {
                        crate::Error::invalid(
                            d.name,
                            "owner_country",
                            format!("unknown country '{c}'"),
                        )
                    })?
                    .code,
            ),
            None => None,
        };
        if let Some(st) = &q.status {
            if !crate::schema::ACTION_STATUSES.contains(&st.as_str()) {
                return Err(crate::Error::invalid(
                    d.name,
                    "status",
                    format!(
                        "'{st}' is not one of {}",
                        crate::schema::ACTION_STATUSES.join(", ")
                    ),
                ));
            }
        }
        let order = self.followup_order(&q.framework, q.before.as_deref())?;
        let mut total = 0usize;
        let mut page: Vec<&str> = Vec::new();
        for item in order.iter() {
            if country.is_some_and(|c| item.owner_country.as_deref() != Some(c))
                || q.status
                    .as_ref()
                    .is_some_and(|s| item.status.as_ref() != Some(s))
                || !q.due.admits(item.state(as_of))
            {
                continue;
            }
            total += 1;
            if total > offset && page.len() < limit {
                page.push(&item.id);
            }
        }
        Ok(FollowupPage {
            rows: self.followup_rows(&page, as_of)?,
            total: total as u64,
        })
    }

    /// The tracker's order of a framework's live action items (of meetings before `before`),
    /// from what was kept when nothing was written since: by this connection (its count of
    /// changes) or by any other, another process included (SQLite's data version). Never kept
    /// from inside a transaction, whose writes may yet be rolled back.
    fn followup_order(
        &self,
        framework: &str,
        before: Option<&str>,
    ) -> crate::Result<std::sync::Arc<Vec<OrderItem>>> {
        let conn = self.reader();
        let version: i64 = conn.pragma_query_value(None, "data_version", |r| r.get(0))?;
        let stamp = (version, conn.total_changes());
        let kept = conn.is_autocommit();
        let mut cache = self
            .followup_order
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(o) = cache.as_ref() {
            if kept && o.stamp == stamp && o.framework == framework && o.before.as_deref() == before
            {
                return Ok(o.items.clone());
            }
        }
        let mut sql = String::from(
            "SELECT t.id, t.status, t.due_date, t.owner_country \
             FROM meeting m JOIN action_item t ON t.meeting = m.id \
             WHERE m.framework = ?1 AND m._deleted = 0 AND t._deleted = 0",
        );
        if before.is_some() {
            sql.push_str(" AND m.start_date < ?2");
        }
        sql.push_str(
            " ORDER BY t.due_date IS NULL, t.due_date, m.start_date, \
             COALESCE(m.short_title, m.title, ''), COALESCE(t.title, ''), t.id",
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let read = |r: &rusqlite::Row<'_>| {
            let due_date: Option<String> = r.get(2)?;
            Ok(OrderItem {
                id: r.get(0)?,
                status: r.get(1)?,
                due: due_date.as_deref().and_then(parse_date),
                owner_country: r.get(3)?,
            })
        };
        let items = match before {
            Some(b) => stmt.query_map(rusqlite::params![framework, b], read)?,
            None => stmt.query_map([framework], read)?,
        }
        .collect::<rusqlite::Result<Vec<_>>>()?;
        let items = std::sync::Arc::new(items);
        if kept {
            *cache = Some(Order {
                stamp,
                framework: framework.to_string(),
                before: before.map(str::to_string),
                items: items.clone(),
            });
        }
        Ok(items)
    }

    /// The tracker's rows of the action items `ids`, in that order.
    fn followup_rows(&self, ids: &[&str], as_of: NaiveDate) -> crate::Result<Vec<FollowupRow>> {
        let conn = self.reader();
        let meeting_ref =
            |id: String, short: Option<String>, title: Option<String>, date| MeetingRef {
                id,
                label: short.or(title).unwrap_or_default(),
                date,
            };
        let mut found: std::collections::HashMap<String, RawRow> =
            std::collections::HashMap::with_capacity(ids.len());
        // In chunks, each one statement (cached for the usual page sizes).
        for chunk in ids.chunks(FETCH_CHUNK) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT t.id, t.title, t.owner, t.owner_country, t.owner_contact, t.due_date, \
                 t.status, t.evidence, m.id, m.short_title, m.title, m.start_date, \
                 d.id, d.number, d.text, rm.id, rm.short_title, rm.title, rm.start_date, c.name \
                 FROM action_item t JOIN meeting m ON m.id = t.meeting \
                 LEFT JOIN decision d ON d.id = t.decision AND d._deleted = 0 \
                 LEFT JOIN meeting rm ON rm.id = t.reported_at AND rm._deleted = 0 \
                 LEFT JOIN contact c ON c.id = t.owner_contact AND c._deleted = 0 \
                 WHERE t.id IN ({marks})"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(chunk.iter()))?;
            while let Some(r) = rows.next()? {
                let status: Option<String> = r.get(6)?;
                let due_date: Option<String> = r.get(5)?;
                let owner: Option<String> = r.get(2)?;
                let owner_country: Option<String> = r.get(3)?;
                let decision_id: Option<String> = r.get(12)?;
                let decision_number: Option<String> = r.get(13)?;
                let reported_id: Option<String> = r.get(15)?;
                let id: String = r.get(0)?;
                let row = FollowupRow {
                    id: id.clone(),
                    title: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    meeting: meeting_ref(r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?),
                    decision: match &decision_id {
                        Some(id) => Some(DecisionRef {
                            id: id.clone(),
                            number: decision_number.clone(),
                            text: r.get::<_, Option<String>>(14)?.unwrap_or_default(),
                        }),
                        None => None,
                    },
                    responsible: responsible(owner.as_deref(), owner_country.as_deref()),
                    owner,
                    owner_country,
                    owner_contact: r.get(4)?,
                    owner_contact_name: r.get(19)?,
                    due: state_of(status.as_deref(), due_date.as_deref(), as_of),
                    due_date,
                    status: status.unwrap_or_default(),
                    evidence: r.get(7)?,
                    reported_at: match reported_id {
                        Some(id) => Some(meeting_ref(id, r.get(16)?, r.get(17)?, r.get(18)?)),
                        None => None,
                    },
                };
                found.insert(
                    id,
                    RawRow {
                        row,
                        decision_number,
                        decision_id,
                    },
                );
            }
        }
        // Decisions with no typed number are numbered by their order: once per meeting, for
        // the rows asked for only.
        let mut numbers: std::collections::HashMap<
            String,
            std::collections::HashMap<String, String>,
        > = std::collections::HashMap::new();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            // Listed a moment ago from the same unchanged replica: always found.
            let Some(RawRow {
                mut row,
                decision_number,
                decision_id,
            }) = found.remove(*id)
            else {
                continue;
            };
            if let (None, Some(did)) = (decision_number, decision_id) {
                if !numbers.contains_key(&row.meeting.id) {
                    let n = crate::replica::numbers_under(
                        conn,
                        crate::Entity::Decision.desc(),
                        &row.meeting.id,
                    )?;
                    numbers.insert(row.meeting.id.clone(), n);
                }
                if let Some(dr) = row.decision.as_mut() {
                    dr.number = numbers
                        .get(&row.meeting.id)
                        .and_then(|n| n.get(&did))
                        .cloned();
                }
            }
            out.push(row);
        }
        Ok(out)
    }
}

/// How many rows [`Replica::followup_rows`] reads with one statement.
const FETCH_CHUNK: usize = 100;

/// One action item in the tracker's order: what the filters read.
pub(crate) struct OrderItem {
    id: String,
    status: Option<String>,
    /// The due date, when it is one.
    due: Option<NaiveDate>,
    owner_country: Option<String>,
}

impl OrderItem {
    /// [`state_of`] from the date read once.
    fn state(&self, as_of: NaiveDate) -> DueState {
        state_at(self.status.as_deref(), self.due, as_of)
    }
}

/// A framework's action items in the tracker's order, and the state of the replica they were
/// read from: SQLite's data version and this connection's count of changes.
pub(crate) struct Order {
    stamp: (i64, u64),
    framework: String,
    before: Option<String>,
    items: std::sync::Arc<Vec<OrderItem>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ACTION_STATUSES;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).expect("date")
    }

    #[test]
    fn states_around_the_date() {
        let on = d("2026-03-10");
        let st = |status, due| state_of(status, due, on);
        assert_eq!(st(Some("ongoing"), Some("2026-03-09")), DueState::Overdue);
        assert_eq!(st(None, Some("2025-12-31")), DueState::Overdue);
        assert_eq!(st(Some("ongoing"), Some("2026-03-10")), DueState::DueSoon);
        assert_eq!(
            st(Some("not_started"), Some("2026-03-17")),
            DueState::DueSoon
        );
        assert_eq!(st(Some("ongoing"), Some("2026-03-18")), DueState::Open);
        assert_eq!(st(Some("ongoing"), None), DueState::Open);
        assert_eq!(st(Some("ongoing"), Some("soon")), DueState::Open);
        assert_eq!(st(Some("completed"), Some("2020-01-01")), DueState::Done);
        assert_eq!(st(Some("overtaken"), Some("2020-01-01")), DueState::Done);
    }

    #[test]
    fn closed_statuses_are_action_statuses() {
        for s in CLOSED_STATUSES {
            assert!(ACTION_STATUSES.contains(s), "{s}");
        }
    }

    #[test]
    fn serialises_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&DueState::DueSoon).expect("json"),
            "\"due_soon\""
        );
    }
}

//! The project portfolio: every live project as a monitoring table shows it — pillar, status,
//! lead country, budget and funding secured (and the share secured), the latest monitoring
//! update's RAG and period, whether it needs attention (the rule the home view uses), and how
//! many milestones are done. Ordered by code.

use super::home::{AttentionReason, REPORTING_STATUSES};
use super::Replica;
use crate::error::Result;
use chrono::NaiveDate;
use serde::Serialize;

/// One project in the portfolio ([`Replica::portfolio`]).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PortfolioRow {
    pub id: String,
    pub code: String,
    pub title: String,
    pub pillar: Option<String>,
    pub status: String,
    /// ISO code of the lead country, and its name.
    pub lead_country: Option<String>,
    pub lead_country_name: Option<String>,
    pub currency: Option<String>,
    pub budget: Option<f64>,
    pub funding_secured: Option<f64>,
    /// Funding secured as a share of the budget, 0–100 (none without both, or a zero budget).
    pub funded_percent: Option<f64>,
    /// The latest live monitoring update's RAG and the end of its period.
    pub rag: Option<String>,
    pub last_update: Option<String>,
    /// Why it needs attention on the day asked (red, amber, stale, never reported), for the
    /// projects expected to report; none otherwise.
    pub attention: Option<AttentionReason>,
    /// Live milestones, and those done.
    pub milestones: u32,
    pub milestones_done: u32,
    /// Live indicators, and the mean of their progress from baseline to target, 0–100
    /// ([`crate::IndicatorSeries::progress`]; none when no indicator has all three values).
    pub indicators: u32,
    pub indicator_progress: Option<f64>,
}

impl Replica {
    /// Every live project, by code, as of `as_of` (for attention).
    pub fn portfolio(&self, as_of: NaiveDate) -> Result<Vec<PortfolioRow>> {
        // The latest live update of each project (SQLite takes the bare `rag` from the row
        // with the max), and its milestones counted.
        let mut stmt = self.reader().prepare_cached(
            "SELECT p.id, p.code, p.title, p.pillar, p.status, p.lead_country, p.currency, \
             p.budget, p.funding_secured, u.pe, u.rag, \
             (SELECT count(*) FROM milestone m WHERE m.project = p.id AND m._deleted = 0), \
             (SELECT count(*) FROM milestone m WHERE m.project = p.id AND m._deleted = 0 \
              AND m.status = 'done') \
             FROM project p LEFT JOIN \
             (SELECT project, max(period_end) AS pe, rag FROM project_update \
              WHERE _deleted = 0 GROUP BY project) u ON u.project = p.id \
             WHERE p._deleted = 0 ORDER BY lower(p.code), p.id",
        )?;
        let rows = stmt.query_map([], |r| {
            let lead: Option<String> = r.get(5)?;
            let budget: Option<f64> = r.get(7)?;
            let secured: Option<f64> = r.get(8)?;
            let status: Option<String> = r.get(4)?;
            let last_update: Option<String> = r.get(9)?;
            let rag: Option<String> = r.get(10)?;
            let status = status.unwrap_or_default();
            let attention = if REPORTING_STATUSES.contains(&status.as_str()) {
                AttentionReason::of(
                    last_update
                        .as_deref()
                        .map(|p| (p, rag.as_deref().unwrap_or_default())),
                    as_of,
                )
            } else {
                None
            };
            Ok(PortfolioRow {
                id: r.get(0)?,
                code: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                title: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                pillar: r.get(3)?,
                lead_country_name: lead
                    .as_deref()
                    .and_then(crate::schema::country)
                    .map(|c| c.name.to_string()),
                lead_country: lead,
                currency: r.get(6)?,
                funded_percent: match (budget, secured) {
                    (Some(b), Some(s)) if b > 0.0 => Some((s / b * 1000.0).round() / 10.0),
                    _ => None,
                },
                budget,
                funding_secured: secured,
                status,
                rag,
                last_update,
                attention,
                milestones: r.get::<_, i64>(11)?.clamp(0, u32::MAX as i64) as u32,
                milestones_done: r.get::<_, i64>(12)?.clamp(0, u32::MAX as i64) as u32,
                indicators: 0,
                indicator_progress: None,
            })
        })?;
        let mut rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        let mut progress: std::collections::HashMap<String, (u32, Vec<f64>)> =
            std::collections::HashMap::new();
        for (project, series) in self.all_series()? {
            let e = progress.entry(project).or_default();
            e.0 += 1;
            e.1.extend(series.progress());
        }
        for row in &mut rows {
            if let Some((n, values)) = progress.remove(&row.id) {
                row.indicators = n;
                if !values.is_empty() {
                    let mean = values.iter().sum::<f64>() / values.len() as f64;
                    row.indicator_progress = Some((mean * 10.0).round() / 10.0);
                }
            }
        }
        Ok(rows)
    }
}

/// A milestone on a project's timeline ([`Replica::milestones`]).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MilestonePoint {
    pub id: String,
    pub title: String,
    pub due_date: Option<String>,
    pub completed_date: Option<String>,
    pub status: String,
    /// Past its due date on the day asked and neither done nor dropped.
    pub late: bool,
}

impl Replica {
    /// A live project's live milestones by due date (undated last), each marked late when
    /// past due on `as_of` and neither done nor dropped.
    pub fn milestones(&self, project: &str, as_of: NaiveDate) -> Result<Vec<MilestonePoint>> {
        let p = self.get(crate::schema::Entity::Project, project)?;
        if p.deleted {
            return Err(crate::Error::Deleted {
                entity: "project",
                id: project.to_string(),
            });
        }
        let day = as_of.format("%Y-%m-%d").to_string();
        let mut stmt = self.reader().prepare_cached(
            "SELECT id, title, due_date, completed_date, status FROM milestone \
             WHERE project = ?1 AND _deleted = 0 \
             ORDER BY due_date IS NULL, due_date, completed_date, title, id",
        )?;
        let rows = stmt.query_map([&p.id], |r| {
            let due_date: Option<String> = r.get(2)?;
            let status: String = r.get::<_, Option<String>>(4)?.unwrap_or_default();
            let late = !matches!(status.as_str(), "done" | "dropped")
                && due_date.as_deref().is_some_and(|d| d < day.as_str());
            Ok(MilestonePoint {
                id: r.get(0)?,
                title: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                due_date,
                completed_date: r.get(3)?,
                status,
                late,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

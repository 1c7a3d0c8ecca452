//! Indicator history: each indicator's actual values over time, for charts and tables.
//!
//! A value is an `indicator_value` record (indicator, date, value, note): a child of the
//! indicator, so values added in different offices are different records and sync simply
//! brings them together (nothing to merge field by field, nothing lost). The indicator's
//! current actual is its latest point: by date, then by change order (the point written
//! last), computed here — never stored, so it cannot disagree with the points.
//!
//! The value recorded on the indicator itself (`actual`, dated `as_of`, else the day the
//! indicator was last changed) — what every indicator had before version 7, and what older
//! versions keep writing — is read as one more point of the series, before any point of
//! the same date. It is not copied into an `indicator_value` at upgrade: every replica that
//! upgrades would make its own copy, and sync would then show the value once per office.

use crate::error::{Error, Result};
use crate::replica::{Record, Replica};
use crate::schema::Entity;
use crate::ListQuery;
use serde::Serialize;
use serde_json::Value;

/// One dated value of an indicator.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct IndicatorPoint {
    /// The `indicator_value` record; none for the value recorded on the indicator itself.
    pub id: Option<String>,
    /// YYYY-MM-DD.
    pub date: String,
    pub value: f64,
    pub note: Option<String>,
}

/// An indicator's baseline, target and actual values over time: what a chart needs.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct IndicatorSeries {
    /// The indicator's id.
    pub indicator: String,
    pub name: String,
    pub unit: Option<String>,
    pub baseline: Option<f64>,
    pub target: Option<f64>,
    /// Oldest first: by date, then in the order they were written; the value recorded on the
    /// indicator itself before any point of its date.
    pub points: Vec<IndicatorPoint>,
    /// The current actual: the last of `points`.
    pub latest: Option<IndicatorPoint>,
}

fn real(rec: &Record, f: &str) -> Option<f64> {
    rec.fields.get(f).and_then(Value::as_f64)
}

impl Replica {
    /// The series of one indicator (live or deleted; its live values only).
    pub fn indicator_series(&self, indicator: &str) -> Result<IndicatorSeries> {
        let rec = self.get(Entity::Indicator, indicator)?;
        self.series_of(rec)
    }

    /// The series of a project's live indicators, in the project's order of indicators.
    pub fn project_indicators(&self, project: &str) -> Result<Vec<IndicatorSeries>> {
        self.list(
            Entity::Indicator,
            &ListQuery {
                parent: Some(project.to_string()),
                ..Default::default()
            },
        )?
        .into_iter()
        .map(|rec| self.series_of(rec))
        .collect()
    }

    fn series_of(&self, rec: Record) -> Result<IndicatorSeries> {
        if rec.entity != Entity::Indicator.name() {
            return Err(Error::invalid(
                rec.entity,
                "indicator",
                "is not an indicator",
            ));
        }
        let mut stmt = self.reader().prepare_cached(
            "SELECT id, date, value, note FROM indicator_value \
             WHERE indicator = ?1 AND _deleted = 0 AND date IS NOT NULL AND value IS NOT NULL \
             ORDER BY date, _updated, id",
        )?;
        let points: Vec<IndicatorPoint> = stmt
            .query_map([&rec.id], |r| {
                Ok(IndicatorPoint {
                    id: Some(r.get(0)?),
                    date: r.get(1)?,
                    value: r.get(2)?,
                    note: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(series_from(rec, points))
    }

    /// Every live indicator's series with its project's id, read in two queries (for the
    /// portfolio's indicator progress).
    pub(crate) fn all_series(&self) -> Result<Vec<(String, IndicatorSeries)>> {
        let mut values: std::collections::HashMap<String, Vec<IndicatorPoint>> =
            std::collections::HashMap::new();
        let mut stmt = self.reader().prepare_cached(
            "SELECT indicator, id, date, value, note FROM indicator_value \
             WHERE _deleted = 0 AND date IS NOT NULL AND value IS NOT NULL \
             ORDER BY indicator, date, _updated, id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                IndicatorPoint {
                    id: Some(r.get(1)?),
                    date: r.get(2)?,
                    value: r.get(3)?,
                    note: r.get(4)?,
                },
            ))
        })?;
        for row in rows {
            let (indicator, point) = row?;
            values.entry(indicator).or_default().push(point);
        }
        Ok(self
            .list(Entity::Indicator, &ListQuery::default())?
            .into_iter()
            .map(|rec| {
                let project = rec.str("project").unwrap_or_default().to_string();
                let points = values.remove(&rec.id).unwrap_or_default();
                (project, series_from(rec, points))
            })
            .collect())
    }
}

impl IndicatorSeries {
    /// How far the latest actual has come from the baseline towards the target, 0–100 (past
    /// the target counts as 100, behind the baseline as 0); none without all three, or when
    /// the target is the baseline.
    pub fn progress(&self) -> Option<f64> {
        let (b, t, a) = (self.baseline?, self.target?, self.latest.as_ref()?.value);
        if (t - b).abs() < f64::EPSILON {
            return None;
        }
        Some((((a - b) / (t - b)).clamp(0.0, 1.0) * 1000.0).round() / 10.0)
    }
}

/// A series from an indicator record and its dated values (oldest first).
fn series_from(rec: Record, mut points: Vec<IndicatorPoint>) -> IndicatorSeries {
    if let Some(value) = real(&rec, "actual") {
        let date = rec
            .str("as_of")
            .map(str::to_string)
            .unwrap_or_else(|| rec.updated_at.get(..10).unwrap_or_default().to_string());
        // Entered again as a point (same day, same value): shown once.
        if !points.iter().any(|p| p.date == date && p.value == value) {
            let at = points.partition_point(|p| p.date < date);
            points.insert(
                at,
                IndicatorPoint {
                    id: None,
                    date,
                    value,
                    note: None,
                },
            );
        }
    }
    IndicatorSeries {
        latest: points.last().cloned(),
        indicator: rec.id.clone(),
        name: rec.str("name").unwrap_or_default().to_string(),
        unit: rec.str("unit").map(str::to_string),
        baseline: real(&rec, "baseline"),
        target: real(&rec, "target"),
        points,
    }
}

//! The conflict inbox: concurrent edits that disagree, and edits that raced a delete, recorded
//! by `apply_pull` with both values, who made them and when. Settling one is an ordinary
//! write (logged and synced like any edit), so the choice reaches every replica.

use crate::error::{Error, Result};
use crate::hlc::Hlc;
use crate::replica::{Fields, Record, Replica};
use crate::schema::{Entity, FieldKind};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::Value;

/// One conflict as the inbox shows it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Conflict {
    pub id: i64,
    pub entity: String,
    pub record: String,
    /// The record's title, for people.
    pub label: String,
    pub field: String,
    /// `concurrent_edit` or `edited_while_deleted`.
    pub kind: String,
    /// The value this replica held ("mine").
    pub held: Value,
    pub held_at: String,
    pub held_device: String,
    /// The value that arrived ("theirs"); for an edit that raced a delete, the edited fields.
    pub incoming: Value,
    pub incoming_at: String,
    pub incoming_device: String,
    /// Which value the merge rule kept for now: `held` or `incoming`.
    pub winner: String,
    pub resolved: bool,
}

/// How to settle a conflict.
#[derive(Debug, Clone, PartialEq)]
pub enum Take {
    Mine,
    Theirs,
    Value(Value),
}

impl Take {
    /// The words a person may use: keep mine, take theirs, or settle on a value given.
    pub const CHOICES: [&'static str; 3] = ["mine", "theirs", "value"];

    /// The choice from a front end's input: a word of [`Take::CHOICES`], a value, or both
    /// when the word is `value`. Neither, a word with a value it does not use, or `value`
    /// without one is refused, naming `conflict.take`.
    pub fn choose(take: Option<&str>, value: Option<Value>) -> Result<Take> {
        match (take, value) {
            (None | Some("value"), Some(v)) => Ok(Take::Value(v)),
            (None, None) => Err(Error::invalid(
                "conflict",
                "take",
                "say which value to keep: mine, theirs, or a value",
            )),
            (Some("value"), None) => Err(Error::invalid(
                "conflict",
                "take",
                "say which value to settle on",
            )),
            (Some(word), None) => word.parse(),
            (Some(word), Some(_)) => {
                word.parse::<Take>()?;
                Err(Error::invalid(
                    "conflict",
                    "take",
                    format!("keep {word} or settle on a value, not both"),
                ))
            }
        }
    }
}

impl std::str::FromStr for Take {
    type Err = Error;

    /// `mine` or `theirs` (a value is given as a value, see [`Take::choose`]).
    fn from_str(word: &str) -> Result<Take> {
        match word {
            "mine" => Ok(Take::Mine),
            "theirs" => Ok(Take::Theirs),
            _ => Err(Error::invalid(
                "conflict",
                "take",
                format!(
                    "no choice called {word:?}: the choices are {}",
                    Take::CHOICES.join(", ")
                ),
            )),
        }
    }
}

impl Replica {
    /// Conflicts, newest first; only unsettled ones unless `all`.
    pub fn conflicts(&self, all: bool) -> Result<Vec<Conflict>> {
        let sql = format!(
            "SELECT id, entity, record, field, kind, held, held_hlc, held_device, incoming, \
             incoming_hlc, incoming_device, winner, resolved_tx FROM conflict {} ORDER BY id DESC",
            if all { "" } else { "WHERE resolved_tx IS NULL" }
        );
        let mut stmt = self.reader().prepare(&sql)?;
        let rows = stmt.query_map([], |r| {
            let parse = |s: String| serde_json::from_str(&s).unwrap_or(Value::String(s));
            Ok(Conflict {
                id: r.get(0)?,
                entity: r.get(1)?,
                record: r.get(2)?,
                label: String::new(),
                field: r.get(3)?,
                kind: r.get(4)?,
                held: parse(r.get(5)?),
                held_at: Hlc(r.get::<_, i64>(6)? as u64).to_rfc3339(),
                held_device: r.get(7)?,
                incoming: parse(r.get(8)?),
                incoming_at: Hlc(r.get::<_, i64>(9)? as u64).to_rfc3339(),
                incoming_device: r.get(10)?,
                winner: r.get(11)?,
                resolved: r.get::<_, Option<i64>>(12)?.is_some(),
            })
        })?;
        let mut out = Vec::new();
        for c in rows {
            let mut c = c?;
            if let Some(e) = Entity::parse(&c.entity) {
                if let Ok(rec) = self.get(e, &c.record) {
                    c.label = self.label(&rec);
                }
            }
            out.push(c);
        }
        Ok(out)
    }

    /// `rec` as people should read it while long free text (minutes, decisions, notes, talking
    /// points, briefs) has versions that clashed and nobody has settled: both versions are
    /// kept in view, the one that won first, then each other one under a marker. Short
    /// fields show the winner (their other value waits in the inbox). Nothing is written.
    pub fn with_unsettled(&self, mut rec: Record) -> Result<Record> {
        let Some(e) = Entity::parse(rec.entity) else {
            return Ok(rec);
        };
        let d = e.desc();
        let mut stmt = self.reader().prepare_cached(
            "SELECT field, held, incoming FROM conflict WHERE entity = ?1 AND record = ?2 \
             AND kind = 'concurrent_edit' AND resolved_tx IS NULL ORDER BY id",
        )?;
        let rows = stmt.query_map(params![d.name, rec.id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (field, held, incoming) = row?;
            if !matches!(d.field(&field).map(|f| f.kind), Some(FieldKind::LongText)) {
                continue;
            }
            let text = |s: String| match serde_json::from_str::<Value>(&s) {
                Ok(Value::String(t)) => t,
                Ok(Value::Null) => String::new(),
                Ok(other) => other.to_string(),
                Err(_) => s,
            };
            let current = rec.str(&field).unwrap_or_default().to_string();
            let mut shown = current.clone();
            for other in [text(held), text(incoming)] {
                if !other.is_empty() && other != current && !shown.contains(&other) {
                    shown.push_str(&format!(
                        "\n\n[Another version, not yet settled (see Conflicts):]\n{other}"
                    ));
                }
            }
            rec.fields.insert(field, Value::String(shown));
        }
        Ok(rec)
    }

    /// Settles a conflict: writes the chosen value as a new edit (or, for an edit that raced a
    /// delete, restores the record when taking theirs) and marks the conflict settled.
    pub fn resolve_conflict(&mut self, id: i64, take: Take) -> Result<Record> {
        /// entity, record, field, kind, held, incoming, resolved_tx
        type Row = (String, String, String, String, String, String, Option<i64>);
        let row: Option<Row> = self
            .reader()
            .query_row(
                "SELECT entity, record, field, kind, held, incoming, resolved_tx FROM conflict WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
            )
            .optional()?;
        let Some((entity, record, field, kind, held, incoming, resolved)) = row else {
            return Err(Error::NotFound {
                entity: "conflict",
                id: id.to_string(),
            });
        };
        if resolved.is_some() {
            return Err(Error::invalid(
                "conflict",
                "id",
                format!("conflict {id} is already settled"),
            ));
        }
        let e = Entity::parse(&entity).ok_or(Error::UnknownEntity(entity))?;
        let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
        self.write(|w| {
            if kind == "edited_while_deleted" {
                match take {
                    Take::Theirs => w.restore(e, &record)?,
                    Take::Mine => {}
                    Take::Value(_) => {
                        return Err(Error::invalid(
                            "conflict",
                            "take",
                            "an edit that raced a delete is settled by keeping the delete (mine) or restoring (theirs)",
                        ))
                    }
                }
            } else {
                let value = match take {
                    Take::Mine => parse(&held),
                    Take::Theirs => parse(&incoming),
                    Take::Value(v) => v,
                };
                let mut f = Fields::new();
                f.insert(field.clone(), value);
                w.update(e, &record, &f)?;
            }
            let tx = w.tx_no();
            w.tx.execute("UPDATE conflict SET resolved_tx = ?1 WHERE id = ?2", params![tx, id])?;
            Ok(())
        })?;
        self.get(e, &record)
    }
}

#[cfg(test)]
mod tests {
    use super::Take;
    use serde_json::json;

    #[test]
    fn a_choice_is_a_word_or_a_value() {
        assert_eq!("mine".parse::<Take>().ok(), Some(Take::Mine));
        assert_eq!(Take::choose(Some("theirs"), None).ok(), Some(Take::Theirs));
        assert_eq!(
            Take::choose(None, Some(json!("x"))).ok(),
            Some(Take::Value(json!("x")))
        );
        assert_eq!(
            Take::choose(Some("value"), Some(json!(3))).ok(),
            Some(Take::Value(json!(3)))
        );
        for (take, value) in [
            (None, None),
            (Some("value"), None),
            (Some("mine"), Some(json!("x"))),
        ] {
            let e = Take::choose(take, value).expect_err("refused");
            assert_eq!(e.field(), Some("take"));
        }
        let e = "ours".parse::<Take>().expect_err("unknown word");
        let text = e.to_string();
        assert!(
            text.contains("ours") && text.contains("mine, theirs, value"),
            "{text}"
        );
    }
}

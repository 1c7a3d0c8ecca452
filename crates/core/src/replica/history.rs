//! A record's history by person: every logged change to it, newest first, with the user of the
//! device that made it ("who moved this deadline"). The change log names devices; the names of
//! their users come from the sync server (kept in the `device` table's `user`, filled by sync)
//! — a device the server has not named yet shows as its id.

use super::{display_value, Replica};
use crate::error::{Error, Result};
use crate::hlc::Hlc;
use crate::schema::{Entity, FieldKind};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// One field as a change left it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldEdit {
    pub field: String,
    /// The value it was given, as shown (a reference by its record's label; empty: cleared).
    pub value: String,
    /// What it held before this change, when an earlier change here set it.
    pub was: Option<String>,
}

/// One change to a record.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    pub seq: i64,
    /// When, on the changing device's clock (RFC 3339, UTC).
    pub at: String,
    pub device: String,
    /// The user of that device, when known.
    pub user: Option<String>,
    /// Made on this replica.
    pub here: bool,
    /// "created", "edited", "deleted" or "restored".
    pub what: String,
    pub fields: Vec<FieldEdit>,
}

/// The most entries a history returns.
pub const HISTORY_MAX: usize = 500;

impl Replica {
    /// The history of record `id`, newest first (at most `limit`, itself at most
    /// [`HISTORY_MAX`]): who changed which fields to what, and what they held before.
    pub fn history(&self, id: &str, limit: usize) -> Result<(Entity, Vec<HistoryEntry>)> {
        let entity: Option<String> = self
            .conn
            .query_row(
                "SELECT entity FROM change_log WHERE record = ?1 ORDER BY seq DESC LIMIT 1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        let entity = entity
            .as_deref()
            .and_then(Entity::parse)
            .ok_or_else(|| Error::NotFound {
                entity: "record",
                id: id.to_string(),
            })?;
        let desc = entity.desc();
        let mut st = self.conn.prepare(
            "SELECT c.seq, c.hlc, d.id, d.user, c.device = 1, c.fields FROM change_log c \
             JOIN device d ON d.n = c.device WHERE c.record = ?1 ORDER BY c.hlc, c.seq",
        )?;
        let rows = st.query_map(params![id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut held: HashMap<String, String> = HashMap::new();
        let mut out = Vec::new();
        let mut labels: HashMap<(Entity, String), String> = HashMap::new();
        for row in rows {
            let (seq, hlc, device, user, here, fields) = row?;
            let values: Map<String, Value> =
                serde_json::from_str(&fields).map_err(|e| Error::BadChange {
                    seq,
                    message: e.to_string(),
                })?;
            let mut what = if out.is_empty() { "created" } else { "edited" };
            let mut edits = Vec::new();
            for (field, value) in values {
                if field == "_deleted" {
                    what = if value == Value::Bool(true) {
                        "deleted"
                    } else {
                        "restored"
                    };
                    continue;
                }
                let mut shown = display_value(&value);
                if let Some(FieldKind::Ref(target)) = desc.field(&field).map(|f| f.kind) {
                    if !shown.is_empty() {
                        let key = (target, shown.clone());
                        shown = match labels.get(&key) {
                            Some(l) => l.clone(),
                            None => {
                                let l = self
                                    .get(target, &shown)
                                    .map(|rec| self.label(&rec))
                                    .unwrap_or(shown);
                                labels.insert(key, l.clone());
                                l
                            }
                        };
                    }
                }
                let was = held.insert(field.clone(), shown.clone());
                edits.push(FieldEdit {
                    field,
                    value: shown,
                    was,
                });
            }
            out.push(HistoryEntry {
                seq,
                at: Hlc(hlc as u64).to_rfc3339(),
                device,
                user,
                here,
                what: what.to_string(),
                fields: edits,
            });
        }
        out.reverse();
        out.truncate(limit.min(HISTORY_MAX));
        Ok((entity, out))
    }

    /// Devices in the change log whose user is not known yet (this one included), at most
    /// `limit`: sync asks the server for their names.
    pub fn unnamed_devices(&self, limit: usize) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare("SELECT id FROM device WHERE user IS NULL ORDER BY n LIMIT ?1")?;
        let rows = st.query_map([limit as i64], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Names devices' users, as the sync server knows them: (device id, user).
    pub fn name_devices(&mut self, names: &[(String, String)]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare("UPDATE device SET user = ?2 WHERE id = ?1")?;
            for (device, user) in names {
                st.execute(params![device, user])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{Entity, Key, Replica};
    use serde_json::json;

    fn fields(v: serde_json::Value) -> crate::Fields {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_history_says_who_set_what_and_what_it_was_before() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Replica::init(&dir.path().join("r.db"), &Key::Raw([6; 32])).unwrap();
        let org = r
            .create(
                Entity::Organisation,
                &fields(json!({"name": "Mekong Institute", "acronym": "MI"})),
            )
            .unwrap();
        let c = r
            .create(
                Entity::Contact,
                &fields(json!({"name": "Somchai Jaidee", "org": org.id})),
            )
            .unwrap();
        r.update(
            Entity::Contact,
            &c.id,
            &fields(json!({"title": "Director"})),
        )
        .unwrap();
        r.update(
            Entity::Contact,
            &c.id,
            &fields(json!({"title": "Deputy Director"})),
        )
        .unwrap();
        r.delete(Entity::Contact, &c.id).unwrap();
        // Until the server names the device, its id stands for the user.
        assert_eq!(
            r.unnamed_devices(10).unwrap(),
            vec![r.device_id().to_string()]
        );
        let me = r.device_id().to_string();
        r.name_devices(&[(me.clone(), "ana".into())]).unwrap();
        assert!(r.unnamed_devices(10).unwrap().is_empty());

        let (entity, h) = r.history(&c.id, 100).unwrap();
        assert_eq!(entity, Entity::Contact);
        let whats: Vec<&str> = h.iter().map(|e| e.what.as_str()).collect();
        assert_eq!(whats, ["deleted", "edited", "edited", "created"]);
        assert!(h
            .iter()
            .all(|e| e.user.as_deref() == Some("ana") && e.here && e.device == me));
        let title = &h[1].fields[0];
        assert_eq!(
            (
                title.field.as_str(),
                title.value.as_str(),
                title.was.as_deref()
            ),
            ("title", "Deputy Director", Some("Director"))
        );
        // A reference by its record's label.
        let created = &h[3].fields;
        let o = created.iter().find(|f| f.field == "org").unwrap();
        assert_eq!(o.value, "Mekong Institute");
        assert_eq!(r.history(&c.id, 1).unwrap().1.len(), 1);
        assert!(r.history("no-such-record", 10).is_err());
    }
}

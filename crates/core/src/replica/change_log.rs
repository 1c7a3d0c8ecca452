//! The change log read back (by sequence, for sync and replay), and the bookkeeping sync
//! keeps beside it: the outbox, the server's acknowledgements, the pull cursor.

use super::{set_meta, Change, FieldChange, Replica, SetOps};
use crate::error::{Error, Result};
use crate::hlc::Hlc;
use rusqlite::{params, OptionalExtension};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

impl Replica {
    /// Change-log entries after `after_seq`, oldest first, at most `limit`.
    pub fn changes(&self, after_seq: i64, limit: usize) -> Result<Vec<Change>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.seq, d.id, c.dev_seq, c.tx, c.entity, c.record, c.hlc, c.schema_version, \
             c.fields, c.bases, c.sets FROM change_log c JOIN device d ON d.n = c.device \
             WHERE c.seq > ?1 ORDER BY c.seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after_seq, limit as i64], |r| {
            Ok((
                Change {
                    seq: r.get(0)?,
                    device: r.get(1)?,
                    dev_seq: r.get(2)?,
                    tx: r.get(3)?,
                    entity: r.get(4)?,
                    record: r.get(5)?,
                    hlc: Hlc(r.get::<_, i64>(6)? as u64),
                    schema_version: r.get(7)?,
                    fields: Vec::new(),
                },
                r.get::<_, String>(8)?,
                r.get::<_, Option<String>>(9)?,
                r.get::<_, Option<String>>(10)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (mut c, fields, bases, sets) = row?;
            let bad = |e: serde_json::Error| Error::BadChange {
                seq: c.seq,
                message: e.to_string(),
            };
            let values: Map<String, Value> = serde_json::from_str(&fields).map_err(bad)?;
            let bases: BTreeMap<String, u64> = match bases {
                Some(b) => serde_json::from_str(&b).map_err(bad)?,
                None => BTreeMap::new(),
            };
            let mut sets: BTreeMap<String, SetOps> = match sets {
                Some(s) => serde_json::from_str(&s).map_err(bad)?,
                None => BTreeMap::new(),
            };
            c.fields = values
                .into_iter()
                .map(|(field, value)| FieldChange {
                    base: Hlc(bases.get(&field).copied().unwrap_or(0)),
                    set: sets.remove(&field),
                    field,
                    value,
                })
                .collect();
            out.push(c);
        }
        Ok(out)
    }

    /// This replica's own changes the sync server has not yet acknowledged, oldest first: the
    /// outbox. An entry leaves it only when [`Replica::acknowledge`] records the server's
    /// durable commit, so nothing is lost to a dropped connection or a crash.
    pub fn outbox(&self, limit: usize) -> Result<Vec<Change>> {
        let acked = self.acknowledged()?;
        let own: i64 =
            self.conn
                .query_row("SELECT n FROM device WHERE id = ?1", [&self.device], |r| {
                    r.get(0)
                })?;
        let seqs: Vec<i64> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT seq FROM change_log WHERE device = ?1 AND dev_seq > ?2 \
                 ORDER BY dev_seq LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![own, acked, limit as i64], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut out = Vec::with_capacity(seqs.len());
        for seq in seqs {
            out.extend(self.changes(seq - 1, 1)?);
        }
        Ok(out)
    }

    /// Rows this connection has written since it opened (free to ask: no query). Two readings
    /// that differ mean something was written between them.
    pub fn writes(&self) -> u64 {
        self.conn.total_changes()
    }

    /// The sequence number of the last change this device logged (0 before any): it moves
    /// with every local edit, undo and restore, and only with them — not with pulled changes
    /// or the replica's own bookkeeping. Free to ask (kept in memory).
    pub fn local_seq(&self) -> i64 {
        self.next_dev_seq - 1
    }

    /// How many changes wait in the outbox (cheap; for progress).
    pub fn outbox_len(&self) -> Result<usize> {
        let acked = self.acknowledged()?;
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM change_log WHERE device = 1 AND dev_seq > ?1",
            [acked],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    /// The highest sequence number held from `device` (0 if none): the server's high-water mark
    /// for that device.
    pub fn high_water(&self, device: &str) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT coalesce(max(c.dev_seq), 0) FROM change_log c \
                 JOIN device d ON d.n = c.device WHERE d.id = ?1",
            [device],
            |r| r.get(0),
        )?)
    }

    /// The highest own sequence number the sync server has acknowledged.
    pub fn acknowledged(&self) -> Result<i64> {
        Ok(self.meta_or("pushed")?.parse().unwrap_or(0))
    }

    /// Records the server's acknowledgement of every own change up to `dev_seq` (never moves
    /// back: a late or repeated acknowledgement is harmless).
    pub fn acknowledge(&mut self, dev_seq: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        let current: i64 = tx
            .query_row("SELECT value FROM meta WHERE key = 'pushed'", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if dev_seq > current {
            set_meta(&tx, "pushed", &dev_seq.to_string())?;
        }
        tx.commit()?;
        Ok(())
    }

    /// How far the sync server's stream has been applied here (0: nothing yet).
    pub fn pull_cursor(&self) -> Result<i64> {
        Ok(self.meta_or("pulled")?.parse().unwrap_or(0))
    }

    /// The sequence number of the newest change-log entry (0 when empty).
    pub fn last_seq(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(seq), 0) FROM change_log", [], |r| {
                r.get(0)
            })?)
    }

    /// Change-log entries by sequence number (those that exist), in the order asked.
    pub fn changes_at(&self, seqs: &[i64]) -> Result<Vec<Change>> {
        let mut out = Vec::with_capacity(seqs.len());
        for &seq in seqs {
            out.extend(
                self.changes(seq - 1, 1)?
                    .into_iter()
                    .filter(|c| c.seq == seq),
            );
        }
        Ok(out)
    }
}

//! Removing records this replica may no longer hold: one record and its children (a purge
//! the server sends), or every record (a wipe). Own edits the server has not acknowledged
//! stay in the outbox.

use super::{set_meta, Replica, Tx};
use crate::error::Result;
use crate::schema::Entity;
use crate::search;
use rusqlite::{params, OptionalExtension};

impl Replica {
    /// Removes every record, its history, conflicts and search entries, and starts the pull
    /// cursor again from zero: for a device whose access was revoked (wiped) or whose user's
    /// role changed (pulled again under the new role). Own edits the server has not
    /// acknowledged stay in the outbox. One transaction. Returns how many records went.
    pub fn wipe(&mut self) -> Result<usize> {
        self.write(|w| {
            let mut n = 0;
            for e in Entity::ALL {
                let d = e.desc();
                n += w.tx.execute(&format!("DELETE FROM {}", d.table), [])?;
            }
            w.tx.execute("DELETE FROM search_tri", [])?;
            w.tx.execute("DELETE FROM conflict", [])?;
            w.tx.execute("DELETE FROM undo", [])?;
            w.tx.execute("DELETE FROM deferred", [])?;
            w.tx.execute("DELETE FROM set_dot", [])?;
            w.tx.execute("DELETE FROM blob_chunk", [])?;
            w.tx.execute("DELETE FROM blob", [])?;
            // The sync engine's note of files the server holds (made again when needed).
            w.tx.execute("DROP TABLE IF EXISTS sync_file_sent", [])?;
            let acked = acked_in(&w.tx)?;
            w.tx.execute(
                "DELETE FROM change_log WHERE NOT (device = 1 AND dev_seq > ?1)",
                [acked],
            )?;
            set_meta(&w.tx, "pulled", "0")?;
            Ok(n)
        })
    }
}

impl Tx<'_> {
    /// Removes a record and its children from this replica entirely (rows, history except own
    /// unacknowledged edits, conflicts, search entries). Nothing is logged: a purge is not an
    /// edit, and other replicas never hear of it. Unknown ids are ignored.
    pub(crate) fn purge(&mut self, entity: Entity, id: &str) -> Result<()> {
        let d = entity.desc();
        for child in entity.children() {
            let (pf, _) = child.parent.unwrap_or(("", entity));
            let sql = format!("SELECT id FROM {} WHERE {pf} = ?1", child.table);
            let ids: Vec<String> = self
                .tx
                .prepare(&sql)?
                .query_map([id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for cid in ids {
                self.purge(child.entity, &cid)?;
            }
        }
        if let Ok((rowid, _)) = self.locate(d, id) {
            if !d.search.is_empty() {
                self.tx
                    .prepare_cached("DELETE FROM search_tri WHERE rowid = ?1")?
                    .execute([(d.search_code << search::SHIFT) | rowid])?;
            }
            self.tx.execute(
                &format!("DELETE FROM {} WHERE rowid = ?1", d.table),
                [rowid],
            )?;
        }
        self.tx.execute(
            "DELETE FROM conflict WHERE entity = ?1 AND record = ?2",
            params![d.name, id],
        )?;
        self.tx
            .execute("DELETE FROM deferred WHERE record = ?1", [id])?;
        crate::sets::forget(&self.tx, id)?;
        let acked = acked_in(&self.tx)?;
        self.tx.execute(
            "DELETE FROM change_log WHERE record = ?1 AND entity = ?2 \
             AND NOT (device = 1 AND dev_seq > ?3)",
            params![id, d.name, acked],
        )?;
        Ok(())
    }
}

/// The highest own sequence number the server acknowledged, read inside a transaction.
fn acked_in(tx: &rusqlite::Transaction<'_>) -> Result<i64> {
    Ok(tx
        .query_row("SELECT value FROM meta WHERE key = 'pushed'", [], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

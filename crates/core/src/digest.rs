//! A digest of a replica's records, to tell whether two copies hold the same thing: a client
//! compares its own with the server's over what its user may see (`desk_sync::verify`).

use crate::error::Result;
use crate::replica::{ListQuery, Record, Replica};
use crate::schema::Entity;
use sha2::{Digest, Sha256};

impl Replica {
    /// (how many records, hex SHA-256) over the records `keep` selects, deleted ones included:
    /// each record's JSON (entity, id, fields, times, deleted) and a newline, by entity then id.
    pub fn records_digest(&self, keep: &dyn Fn(&Record) -> bool) -> Result<(u64, String)> {
        let mut h = Sha256::new();
        let mut records = 0u64;
        for e in Entity::ALL {
            let mut all = self.list(
                e,
                &ListQuery {
                    include_deleted: true,
                    ..Default::default()
                },
            )?;
            all.sort_by(|a, b| a.id.cmp(&b.id));
            for rec in all.iter().filter(|x| keep(x)) {
                h.update(serde_json::to_vec(rec).unwrap_or_default());
                h.update(b"\n");
                records += 1;
            }
        }
        let digest = h
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        Ok((records, digest))
    }
}

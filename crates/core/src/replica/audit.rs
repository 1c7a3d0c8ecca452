//! What this device did that the server's audit log must show — a briefing pack made, the
//! replica's key changed — kept in the replica (even offline) until a sync hands it to the
//! server, which adds who (the signed-in user) and which device from the token it came with.

use super::Replica;
use crate::error::{Error, Result};
use desk_protocol::v1::{AuditEvent, AUDIT_ACTIONS, AUDIT_DETAIL_MAX};
use rusqlite::params;

impl Replica {
    /// Records `action` (one of [`AUDIT_ACTIONS`]) with its detail (cut to
    /// [`AUDIT_DETAIL_MAX`] characters), on this computer's clock. Returns its number.
    pub fn record_audit(&mut self, action: &str, detail: &str) -> Result<i64> {
        if !AUDIT_ACTIONS.contains(&action) {
            return Err(Error::invalid(
                "audit",
                "action",
                format!(
                    "'{action}' is not an audited action ({})",
                    AUDIT_ACTIONS.join(", ")
                ),
            ));
        }
        let detail: String = detail.chars().take(AUDIT_DETAIL_MAX).collect();
        let at = chrono::Utc::now().timestamp_millis();
        self.conn.execute(
            "INSERT INTO audit_outbox (at, action, detail) VALUES (?1, ?2, ?3)",
            params![at, action, detail],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Events the server does not have yet, oldest first, at most `limit`.
    pub fn audit_unsent(&self, limit: usize) -> Result<Vec<AuditEvent>> {
        let mut st = self.conn.prepare(
            "SELECT seq, at, action, detail FROM audit_outbox WHERE sent = 0 ORDER BY seq LIMIT ?1",
        )?;
        let rows = st.query_map([limit as i64], event)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// This device's events, newest first, at most `limit`, each with whether the server has it.
    pub fn audit_events(&self, limit: usize) -> Result<Vec<(AuditEvent, bool)>> {
        let mut st = self.conn.prepare(
            "SELECT seq, at, action, detail, sent FROM audit_outbox ORDER BY seq DESC LIMIT ?1",
        )?;
        let rows = st.query_map([limit as i64], |r| {
            Ok((event(r)?, r.get::<_, i64>(4)? != 0))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The server has every event up to `acked`.
    pub fn audit_acked(&mut self, acked: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE audit_outbox SET sent = 1 WHERE seq <= ?1 AND sent = 0",
            [acked],
        )?;
        Ok(())
    }
}

fn event(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEvent> {
    Ok(AuditEvent {
        seq: r.get(0)?,
        at: r.get(1)?,
        action: r.get(2)?,
        detail: r.get(3)?,
    })
}

#[cfg(test)]
mod tests {
    use crate::{Key, Replica};

    #[test]
    fn events_wait_until_the_server_has_them_and_unknown_actions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Replica::init(&dir.path().join("r.db"), &Key::Raw([5; 32])).unwrap();
        let err = r.record_audit("deleted everything", "x").unwrap_err();
        assert!(err.to_string().contains("not an audited action"), "{err}");
        let a = r
            .record_audit("pack", "ACMECS SOM 2026, 6 sections")
            .unwrap();
        let b = r.record_audit("rekey", &"é".repeat(5_000)).unwrap();
        assert!(b > a);
        let unsent = r.audit_unsent(10).unwrap();
        assert_eq!(unsent.len(), 2);
        assert_eq!(unsent[1].detail.chars().count(), 1_000);
        r.audit_acked(a).unwrap();
        assert_eq!(r.audit_unsent(10).unwrap()[0].seq, b);
        let all = r.audit_events(10).unwrap();
        assert_eq!(
            all.iter()
                .map(|(e, sent)| (e.seq, *sent))
                .collect::<Vec<_>>(),
            vec![(b, false), (a, true)]
        );
        // A wipe for a new role keeps them: they are this device's doing, not records.
        r.wipe().unwrap();
        assert_eq!(r.audit_unsent(10).unwrap().len(), 1);
    }
}

//! Documents' files on the sync server: who may read one, who may send one, and the limits.
//!
//! Naming a hash grants nothing. A file is read through a document that names it *and whose
//! author held the file*: every push that sets a document's `sha256` records a claim (document,
//! hash, user), and a user *holds* a file once they have sent it whole (verified against its
//! hash) or could already read it when they named it. A user may read a file when they may see
//! a document naming it that one of its holders named. So a focal point who copies the hash of
//! another country's restricted file into a document of their own gets nothing: they cannot
//! send the bytes, so their claim has no holder.
//!
//! Each sender's unfinished upload is their own (per hash and user), so nobody can block
//! another's upload by declaring a wrong size first; a file is bounded by
//! [`FileLimits::max_file`], what a user sends or holds by [`FileLimits::quota`], and an
//! upload untouched for [`FileLimits::stale_secs`] is removed.

use crate::access::Principal;
use crate::error::HubError;
use crate::store::{self, Sql, TablesExt};
use crate::{auth, hub::Hub};
use desk_core::{BlobStatus, Change};
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// The server's limits on files (`desk-server` config: `max_file_mb`, `file_quota_mb`,
/// `upload_expiry_hours`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimits {
    /// The largest file, in bytes.
    pub max_file: u64,
    /// What one user may have sent (whole files they hold and unfinished uploads), in bytes.
    pub quota: u64,
    /// An unfinished upload untouched this long (seconds) is removed.
    pub stale_secs: i64,
}

impl Default for FileLimits {
    fn default() -> FileLimits {
        FileLimits {
            max_file: 512 << 20,
            quota: 4 << 30,
            stale_secs: 7 * 86_400,
        }
    }
}

fn as_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn check_name(sha: &str) -> Result<(), HubError> {
    let ok = sha.len() == 64 && sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if ok {
        Ok(())
    } else {
        // (No file has such a name: "not found", as the document says for any name.)
        Err(HubError::NotFound(
            "no such file: a file is named by its SHA-256 (64 lowercase hex digits)".into(),
        ))
    }
}

fn unseen(sha: &str) -> HubError {
    HubError::NotFound(format!("no document you may see names the file {sha}"))
}

/// The documents of `changes` that name a file: (document, hash).
pub(crate) fn named(changes: &[Change]) -> Vec<(String, String)> {
    changes
        .iter()
        .filter(|c| c.entity == "document")
        .flat_map(|c| {
            c.fields
                .iter()
                .filter(|f| f.field == "sha256")
                .filter_map(|f| f.value.as_str())
                .filter(|s| !s.is_empty())
                .map(|s| (c.record.clone(), s.to_string()))
        })
        .collect()
}

/// Records claims in a push's transaction: `claims` are (document, hash, whether the pusher
/// already holds it).
pub(crate) fn record_claims(
    sql: &mut dyn Sql,
    user: &str,
    claims: &[(String, String, bool)],
) -> Result<(), HubError> {
    for (doc, sha, holds) in claims {
        sql.exec(
            "INSERT INTO srv_file_claim (document, sha256, \"user\") VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
            &[doc.into(), sha.into(), user.into()],
        )?;
        if *holds {
            sql.exec(
                "INSERT INTO srv_file_holder (sha256, \"user\") VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
                &[sha.into(), user.into()],
            )?;
        }
    }
    Ok(())
}

/// Removes unfinished uploads untouched since `before` (seconds); how many.
fn sweep(sql: &mut dyn Sql, before: i64) -> Result<u64, HubError> {
    sql.exec(
        "DELETE FROM srv_upload_chunk WHERE EXISTS (SELECT 1 FROM srv_upload u WHERE \
         u.sha256 = srv_upload_chunk.sha256 AND u.\"user\" = srv_upload_chunk.\"user\" AND \
         u.touched < $1)",
        &[before.into()],
    )?;
    sql.exec(
        "DELETE FROM srv_upload WHERE touched < $1",
        &[before.into()],
    )
}

impl Hub {
    /// The limits on files this hub enforces; removes uploads already stale under them.
    pub fn set_file_limits(&mut self, limits: FileLimits) -> Result<u64, HubError> {
        self.files = limits;
        self.sweep_uploads()
    }

    /// Removes unfinished uploads untouched for longer than the limit; how many.
    pub fn sweep_uploads(&mut self) -> Result<u64, HubError> {
        let before = auth::now_secs() - self.files.stale_secs;
        self.store.write_with(|sql| sweep(sql, before))
    }

    /// (document, hash, whether `who` holds the file already) for each document of `changes`
    /// naming a file.
    pub(crate) fn claims(
        &self,
        who: &Principal,
        changes: &[Change],
    ) -> Result<Vec<(String, String, bool)>, HubError> {
        named(changes)
            .into_iter()
            .map(|(doc, sha)| {
                let holds = self.readable(who, &sha)?;
                Ok((doc, sha, holds))
            })
            .collect()
    }

    /// Whether `who` may read file `sha`: a document they may see names it, and the user who
    /// named it there held it.
    fn readable(&self, who: &Principal, sha: &str) -> Result<bool, HubError> {
        let docs: Vec<String> = {
            let mut stmt = self
                .store
                .state()
                .reader()
                .prepare_cached("SELECT id FROM document WHERE sha256 = ?1")?;
            let rows = stmt.query_map([sha], |r| r.get(0))?;
            rows.collect::<desk_core::rusqlite::Result<_>>()?
        };
        let head = self.index.head;
        let seen: Vec<&String> = docs
            .iter()
            .filter(|id| self.index.visible(&who.role, id, head))
            .collect();
        if seen.is_empty() {
            return Ok(false);
        }
        let held: HashSet<String> = self.store.read_with(|sql| {
            sql.rows(
                "SELECT c.document FROM srv_file_claim c JOIN srv_file_holder h \
                 ON h.sha256 = c.sha256 AND h.\"user\" = c.\"user\" WHERE c.sha256 = $1",
                &[sha.into()],
            )?
            .iter()
            .map(|r| r.text(0))
            .collect()
        })?;
        Ok(seen.iter().any(|id| held.contains(*id)))
    }

    /// Whether `who` named file `sha` in a document (and so may send it).
    fn claimed(&self, who: &Principal, sha: &str) -> Result<bool, HubError> {
        self.store.read_with(|sql| {
            Ok(sql
                .row(
                    "SELECT 1 FROM srv_file_claim WHERE sha256 = $1 AND \"user\" = $2",
                    &[sha.into(), (&who.user).into()],
                )?
                .is_some())
        })
    }

    /// How much of file `sha` there is for `who`: the whole file when they may read it; else,
    /// when they named it, how much of their own upload has arrived; else "not found".
    pub fn blob_status(&self, who: &Principal, sha: &str) -> Result<BlobStatus, HubError> {
        check_name(sha)?;
        if self.readable(who, sha)? {
            let held = self.store.read_with(|sql| store::blob_status(sql, sha))?;
            if let Some(s) = held.filter(|s| s.complete) {
                return Ok(s);
            }
        }
        if !self.claimed(who, sha)? {
            return Err(unseen(sha));
        }
        self.store
            .read_with(|sql| upload_status(sql, sha, &who.user))
    }

    /// Takes the next bytes of `who`'s upload of file `sha` (`size` bytes in all), which must
    /// start where their upload ends. When the last byte arrives the whole is hashed: a match
    /// makes the file whole on the server (if it was not) and `who` one of its holders; a
    /// mismatch drops the upload (the sender starts again) and is reported.
    pub fn blob_put(
        &mut self,
        who: &Principal,
        sha: &str,
        size: u64,
        offset: u64,
        data: &[u8],
    ) -> Result<BlobStatus, HubError> {
        check_name(sha)?;
        if !who.role.may_write() {
            return Err(HubError::NotPermitted(format!(
                "{} may read but not send files",
                who.user
            )));
        }
        if !self.claimed(who, sha)? {
            return Err(unseen(sha));
        }
        let limits = self.files;
        if size > limits.max_file {
            return Err(HubError::Limit(
                "too_large",
                format!(
                    "file {sha} is {size} bytes; this server takes files of up to {} bytes",
                    limits.max_file
                ),
            ));
        }
        let user = who.user.clone();
        let now = auth::now_secs();
        let outcome = self.store.write_with(|sql| {
            sweep(sql, now - limits.stale_secs)?;
            let mut held = upload_status(sql, sha, &user)?;
            if held.have > 0 && held.size != size && offset == 0 {
                // The sender starts again with another size: its old upload goes.
                drop_upload(sql, sha, &user)?;
                held = BlobStatus {
                    size,
                    have: 0,
                    complete: false,
                };
            }
            if held.have == 0 {
                held.size = size;
                let used = used(sql, &user, sha)?;
                if used.saturating_add(size) > limits.quota {
                    return Err(HubError::Limit(
                        "quota_exceeded",
                        format!(
                            "{user} has sent {used} bytes of files; a further {size} would pass \
                             the quota of {} bytes",
                            limits.quota
                        ),
                    ));
                }
            }
            let Some(have) = desk_core::blobs::next_chunk(&held, sha, size, offset, data.len())?
            else {
                return Ok(Some(held));
            };
            sql.exec(
                "INSERT INTO srv_upload_chunk (sha256, \"user\", \"offset\", data) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (sha256, \"user\", \"offset\") \
                 DO UPDATE SET data = excluded.data",
                &[
                    sha.into(),
                    (&user).into(),
                    as_i64(offset).into(),
                    data.into(),
                ],
            )?;
            sql.exec(
                "INSERT INTO srv_upload (sha256, \"user\", size, have, touched) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256, \"user\") DO UPDATE SET \
                 size = excluded.size, have = excluded.have, touched = excluded.touched",
                &[
                    sha.into(),
                    (&user).into(),
                    as_i64(size).into(),
                    as_i64(have).into(),
                    now.into(),
                ],
            )?;
            if have < size {
                return Ok(Some(BlobStatus {
                    size,
                    have,
                    complete: false,
                }));
            }
            let mut hash = Sha256::new();
            for r in sql.rows(
                "SELECT data FROM srv_upload_chunk WHERE sha256 = $1 AND \"user\" = $2 \
                 ORDER BY \"offset\"",
                &[sha.into(), (&user).into()],
            )? {
                hash.update(r.bytes(0)?);
            }
            let got: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
            if got != sha {
                drop_upload(sql, sha, &user)?;
                return Ok(None);
            }
            let whole = store::blob_status(sql, sha)?.is_some_and(|s| s.complete);
            if !whole {
                sql.exec("DELETE FROM blob_chunk WHERE sha256 = $1", &[sha.into()])?;
                sql.exec(
                    "INSERT INTO blob_chunk (sha256, \"offset\", data) SELECT sha256, \
                     \"offset\", data FROM srv_upload_chunk WHERE sha256 = $1 AND \"user\" = $2",
                    &[sha.into(), (&user).into()],
                )?;
                sql.exec(
                    "INSERT INTO blob (sha256, size, have, complete) VALUES ($1, $2, $2, 1) \
                     ON CONFLICT (sha256) DO UPDATE SET size = excluded.size, \
                     have = excluded.have, complete = 1",
                    &[sha.into(), as_i64(size).into()],
                )?;
            }
            drop_upload(sql, sha, &user)?;
            sql.exec(
                "INSERT INTO srv_file_holder (sha256, \"user\") VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
                &[sha.into(), (&user).into()],
            )?;
            Ok(Some(BlobStatus {
                size,
                have: size,
                complete: true,
            }))
        })?;
        outcome.ok_or_else(|| {
            HubError::Invalid(format!(
                "file {sha} arrived damaged (its bytes hash differently); send it again"
            ))
        })
    }

    /// Up to `len` bytes of file `sha` from `offset`, for a user who may read it.
    pub fn blob_get(
        &self,
        who: &Principal,
        sha: &str,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>, HubError> {
        check_name(sha)?;
        if !self.readable(who, sha)? {
            return Err(unseen(sha));
        }
        self.store.read_with(|sql| {
            store::blob_read(sql, sha, offset, len.min(desk_core::blobs::CHUNK), false)
        })
    }
}

/// How much of `user`'s upload of `sha` has arrived (nothing yet: size 0).
fn upload_status(sql: &mut dyn Sql, sha: &str, user: &str) -> Result<BlobStatus, HubError> {
    Ok(sql
        .row(
            "SELECT size, have FROM srv_upload WHERE sha256 = $1 AND \"user\" = $2",
            &[sha.into(), user.into()],
        )?
        .map(|r| {
            Ok::<_, HubError>(BlobStatus {
                size: u64::try_from(r.int(0)?).unwrap_or(0),
                have: u64::try_from(r.int(1)?).unwrap_or(0),
                complete: false,
            })
        })
        .transpose()?
        .unwrap_or(BlobStatus {
            size: 0,
            have: 0,
            complete: false,
        }))
}

fn drop_upload(sql: &mut dyn Sql, sha: &str, user: &str) -> Result<(), HubError> {
    sql.exec(
        "DELETE FROM srv_upload_chunk WHERE sha256 = $1 AND \"user\" = $2",
        &[sha.into(), user.into()],
    )?;
    sql.exec(
        "DELETE FROM srv_upload WHERE sha256 = $1 AND \"user\" = $2",
        &[sha.into(), user.into()],
    )?;
    Ok(())
}

/// Bytes `user` has sent: the files they hold and their unfinished uploads (other than of
/// `sha`, which is being counted anew).
fn used(sql: &mut dyn Sql, user: &str, sha: &str) -> Result<u64, HubError> {
    let row = sql.row(
        "SELECT CAST((SELECT coalesce(sum(size), 0) FROM srv_upload WHERE \"user\" = $1 \
         AND sha256 != $2) + (SELECT coalesce(sum(b.size), 0) FROM blob b JOIN srv_file_holder h \
         ON h.sha256 = b.sha256 WHERE h.\"user\" = $1 AND b.sha256 != $2) AS BIGINT)",
        &[user.into(), sha.into()],
    )?;
    Ok(row
        .map(|r| r.int(0))
        .transpose()?
        .map_or(0, |n| u64::try_from(n).unwrap_or(0)))
}

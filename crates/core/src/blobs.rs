//! Documents' files, stored by SHA-256 inside the encrypted replica, in chunks. A file arrives
//! in order, chunk by chunk (a transfer interrupted at any point resumes at the first missing
//! byte), and counts as held only once all of it hashes to its name; a file that does not is
//! dropped whole and fetched again. Files of documents a replica may no longer see go with them
//! (see `purge`).

use crate::error::{Error, Result};
use crate::replica::Replica;
use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

/// Chunks are stored (and sent) at most this large.
pub const CHUNK: usize = 1024 * 1024;

/// How much of a file a replica holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BlobStatus {
    pub size: u64,
    /// Bytes held, from the start.
    pub have: u64,
    /// All of it, and it hashed right.
    pub complete: bool,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of `data` as 64 lowercase hex digits.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn bad(message: String) -> Error {
    Error::invalid("document", "sha256", message)
}

fn check_name(sha: &str) -> Result<()> {
    if sha.len() == 64
        && sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(bad(format!(
            "'{sha}' is not a SHA-256 (64 lowercase hex digits)"
        )))
    }
}

/// Where a chunk of file `sha` (`size` bytes in all) starting at `offset` fits what is held:
/// `None` when it brings nothing new (held already: a harmless repeat), else how much will be
/// held with it. It must start where the held part ends, within the file, and not be empty.
/// The same rule on replicas and on the server.
pub fn next_chunk(
    held: &BlobStatus,
    sha: &str,
    size: u64,
    offset: u64,
    len: usize,
) -> Result<Option<u64>> {
    check_name(sha)?;
    if held.complete || offset.saturating_add(len as u64) <= held.have {
        return Ok(None);
    }
    if held.size != size {
        return Err(bad(format!(
            "file {sha} is {} bytes, not {size}",
            held.size
        )));
    }
    if offset != held.have {
        return Err(bad(format!(
            "file {sha}: the next chunk starts at byte {}, not {offset}",
            held.have
        )));
    }
    if len == 0 && size > 0 {
        return Err(bad(format!("file {sha}: an empty chunk")));
    }
    let have = offset + len as u64;
    if have > size {
        return Err(bad(format!("file {sha}: more than its {size} bytes")));
    }
    Ok(Some(have))
}

impl Replica {
    /// Stores a whole file; returns its SHA-256 (the value a document's `sha256` takes).
    pub fn put_blob(&mut self, data: &[u8]) -> Result<String> {
        let sha = sha256_hex(data);
        if self.blob_status(&sha)?.is_some_and(|s| s.complete) {
            return Ok(sha);
        }
        self.with_transaction(|tx| {
            tx.execute("DELETE FROM blob_chunk WHERE sha256 = ?1", [&sha])?;
            for (i, chunk) in data.chunks(CHUNK).enumerate() {
                tx.execute(
                    "INSERT INTO blob_chunk (sha256, offset, data) VALUES (?1, ?2, ?3)",
                    params![sha, (i * CHUNK) as i64, chunk],
                )?;
            }
            tx.execute(
                "INSERT INTO blob (sha256, size, have, complete) VALUES (?1, ?2, ?2, 1) \
                 ON CONFLICT (sha256) DO UPDATE SET size = excluded.size, have = excluded.have, \
                 complete = 1",
                params![sha, data.len() as i64],
            )?;
            Ok(())
        })?;
        Ok(sha)
    }

    pub fn blob_status(&self, sha: &str) -> Result<Option<BlobStatus>> {
        Ok(self
            .reader()
            .query_row(
                "SELECT size, have, complete FROM blob WHERE sha256 = ?1",
                [sha],
                |r| {
                    Ok(BlobStatus {
                        size: r.get::<_, i64>(0)? as u64,
                        have: r.get::<_, i64>(1)? as u64,
                        complete: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Adds the bytes at `offset` of the file `sha` of `size` bytes. `offset` must be where the
    /// held part ends (a repeat of a chunk already held is ignored). When the last byte
    /// arrives the whole file is hashed: right, it is complete; wrong, it is dropped and the
    /// error says so. One transaction per chunk.
    pub fn append_blob(
        &mut self,
        sha: &str,
        size: u64,
        offset: u64,
        data: &[u8],
    ) -> Result<BlobStatus> {
        check_name(sha)?;
        let held = self.blob_status(sha)?.unwrap_or(BlobStatus {
            size,
            have: 0,
            complete: false,
        });
        let Some(have) = next_chunk(&held, sha, size, offset, data.len())? else {
            return Ok(held);
        };
        let mut complete = false;
        self.with_transaction(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO blob_chunk (sha256, offset, data) VALUES (?1, ?2, ?3)",
                params![sha, offset as i64, data],
            )?;
            tx.execute(
                "INSERT INTO blob (sha256, size, have, complete) VALUES (?1, ?2, ?3, 0) \
                 ON CONFLICT (sha256) DO UPDATE SET have = excluded.have",
                params![sha, size as i64, have as i64],
            )?;
            Ok(())
        })?;
        if have == size {
            let all = self.read_blob(sha, 0, size as usize, true)?;
            if sha256_hex(&all) == sha {
                self.with_transaction(|tx| {
                    tx.execute("UPDATE blob SET complete = 1 WHERE sha256 = ?1", [sha])
                        .map(|_| ())
                })?;
                complete = true;
            } else {
                self.drop_blob(sha)?;
                return Err(bad(format!(
                    "file {sha} arrived damaged (its bytes hash differently); it will be fetched again"
                )));
            }
        }
        Ok(BlobStatus {
            size,
            have,
            complete,
        })
    }

    /// Up to `len` bytes of a complete file from `offset` (`partial`: of what is held so far).
    pub fn read_blob(&self, sha: &str, offset: u64, len: usize, partial: bool) -> Result<Vec<u8>> {
        let status = self.blob_status(sha)?.ok_or_else(|| Error::NotFound {
            entity: "file",
            id: sha.to_string(),
        })?;
        if !status.complete && !partial {
            return Err(Error::NotFound {
                entity: "file",
                id: sha.to_string(),
            });
        }
        let end = (offset + len as u64).min(status.have);
        let mut out = Vec::with_capacity(end.saturating_sub(offset) as usize);
        let mut stmt = self.reader().prepare_cached(
            "SELECT offset, data FROM blob_chunk WHERE sha256 = ?1 AND offset < ?3 \
             AND offset + length(data) > ?2 ORDER BY offset",
        )?;
        let rows = stmt.query_map(params![sha, offset as i64, end as i64], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Vec<u8>>(1)?))
        })?;
        for row in rows {
            let (at, data) = row?;
            let from = offset.saturating_sub(at) as usize;
            let to = ((end - at) as usize).min(data.len());
            if from < to {
                out.extend_from_slice(&data[from..to]);
            }
        }
        Ok(out)
    }

    /// Removes a file (held or partial).
    pub fn drop_blob(&mut self, sha: &str) -> Result<()> {
        self.with_transaction(|tx| {
            tx.execute("DELETE FROM blob_chunk WHERE sha256 = ?1", [sha])?;
            tx.execute("DELETE FROM blob WHERE sha256 = ?1", [sha])?;
            Ok(())
        })
    }

    /// Files named by this replica's documents (live or deleted) that it does not hold whole.
    pub fn missing_blobs(&self) -> Result<Vec<String>> {
        let mut stmt = self.reader().prepare(
            "SELECT DISTINCT d.sha256 FROM document d LEFT JOIN blob b ON b.sha256 = d.sha256 \
             WHERE d.sha256 IS NOT NULL AND d.sha256 != '' AND coalesce(b.complete, 0) = 0 \
             ORDER BY d.sha256",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Files this replica holds whole that its documents name.
    pub fn held_blobs(&self) -> Result<Vec<String>> {
        let mut stmt = self.reader().prepare(
            "SELECT DISTINCT d.sha256 FROM document d JOIN blob b ON b.sha256 = d.sha256 \
             WHERE b.complete = 1 ORDER BY d.sha256",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The held files (as [`Replica::held_blobs`]) that the sync server has not yet confirmed
    /// it holds whole: the sync client asks about these only, not about every file each round.
    /// The note of confirmed files is local bookkeeping (never synced, emptied by a purge), so
    /// it lives outside the record schema and is made here when first needed.
    pub fn unconfirmed_blobs(&mut self) -> Result<Vec<String>> {
        self.with_transaction(|tx| {
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS sync_file_sent (sha256 TEXT PRIMARY KEY); \
                 DELETE FROM sync_file_sent WHERE sha256 NOT IN (SELECT sha256 FROM blob);",
            )
        })?;
        let mut stmt = self.reader().prepare(
            "SELECT DISTINCT d.sha256 FROM document d JOIN blob b ON b.sha256 = d.sha256 \
             WHERE b.complete = 1 AND d.sha256 NOT IN (SELECT sha256 FROM sync_file_sent) \
             ORDER BY d.sha256",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Notes that the sync server holds the file `sha256` whole (see
    /// [`Replica::unconfirmed_blobs`]).
    pub fn confirm_blob_sent(&mut self, sha256: &str) -> Result<()> {
        self.with_transaction(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO sync_file_sent (sha256) VALUES (?1)",
                [sha256],
            )
        })?;
        Ok(())
    }
}

/// Inside a transaction: drops the files no document names any more (after a purge).
pub(crate) fn drop_unreferenced(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM blob_chunk WHERE sha256 NOT IN \
         (SELECT sha256 FROM document WHERE sha256 IS NOT NULL)",
        [],
    )?;
    tx.execute(
        "DELETE FROM blob WHERE sha256 NOT IN \
         (SELECT sha256 FROM document WHERE sha256 IS NOT NULL)",
        [],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{Key, Replica};

    #[test]
    fn files_arrive_in_chunks_resume_and_are_verified() {
        let dir = tempfile::tempdir().expect("tmp");
        let key = Key::Raw([6u8; 32]);
        let mut a = Replica::init(&dir.path().join("a.db"), &key).expect("a");
        let mut b = Replica::init(&dir.path().join("b.db"), &key).expect("b");
        let data: Vec<u8> = (0..(2 * super::CHUNK + 1234))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let sha = a.put_blob(&data).expect("put");
        assert_eq!(a.read_blob(&sha, 0, data.len(), false).expect("read"), data);
        assert_eq!(a.read_blob(&sha, 5, 10, false).expect("slice"), data[5..15]);
        let size = data.len() as u64;
        // Out of order: refused; in order: accepted; a repeat: ignored.
        let first = a.read_blob(&sha, 0, super::CHUNK, false).expect("chunk");
        assert!(b.append_blob(&sha, size, 10, &first).is_err());
        b.append_blob(&sha, size, 0, &first).expect("first");
        b.append_blob(&sha, size, 0, &first).expect("repeat");
        // "Interrupted": reopen and carry on from what is held.
        let path = b.path().to_path_buf();
        drop(b);
        let mut b = Replica::open(&path, &key).expect("reopen");
        let mut at = b.blob_status(&sha).expect("status").expect("some").have;
        while at < size {
            let chunk = a.read_blob(&sha, at, super::CHUNK, false).expect("chunk");
            at = b.append_blob(&sha, size, at, &chunk).expect("append").have;
        }
        assert!(b.blob_status(&sha).expect("status").expect("some").complete);
        assert_eq!(b.read_blob(&sha, 0, data.len(), false).expect("read"), data);
        // Damaged in transit: dropped whole, clear error.
        let mut c = Replica::init(&dir.path().join("c.db"), &key).expect("c");
        let mut bad = data.clone();
        bad[100] ^= 1;
        let mut at = 0;
        let mut err = None;
        while at < size {
            let end = (at as usize + super::CHUNK).min(bad.len());
            match c.append_blob(&sha, size, at, &bad[at as usize..end]) {
                Ok(s) => at = s.have,
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        assert!(err.expect("damage noticed").to_string().contains("damaged"));
        assert!(c.blob_status(&sha).expect("status").is_none());
        assert!(c.append_blob("not-a-sha", 1, 0, b"x").is_err());
    }
}

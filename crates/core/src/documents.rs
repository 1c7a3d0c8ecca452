//! Document versions. A new version of a document is a new `document` record that names the one
//! it supersedes (`previous`) and carries the next version number, its title, symbol, kind,
//! meeting, agenda item, classification and scope; the superseded one is marked `superseded`. Both writes
//! are one transaction (one undo step). Earlier versions stay readable with their files: a
//! version's chain is followed through `previous` back to the first and forward to the latest.
//!
//! A document's file is stored by its hash ([`crate::blobs`]) and named by the record's
//! `sha256` and `filename`; [`Replica::attach_file`] and [`Replica::document_file`] are the one
//! way every front end attaches and reads one.

use crate::error::{Error, Result};
use crate::replica::{Fields, Record, Replica};
use crate::schema::Entity;
use serde_json::Value;

/// The fields a new version takes over from the one it supersedes.
const CARRIED: [&str; 7] = [
    "title",
    "symbol",
    "kind",
    "meeting",
    "agenda_item",
    "classification",
    "scope",
];

impl Replica {
    /// Makes a new version of live document `id`: `changes` (e.g. a new symbol or status) on
    /// top of what it carries over, version + 1, `previous` = `id`; marks `id` superseded.
    /// A document already superseded by a live version is refused (version the latest one).
    pub fn new_document_version(&mut self, id: &str, changes: &Fields) -> Result<Record> {
        let old = self.get(Entity::Document, id)?;
        if old.deleted {
            return Err(Error::Deleted {
                entity: "document",
                id: id.to_string(),
            });
        }
        if let Some(newer) = self.newer_versions(id)?.into_iter().next() {
            return Err(Error::invalid(
                "document",
                "previous",
                format!(
                    "version {} of this document exists already ({}): make the new version from it",
                    newer
                        .fields
                        .get("version")
                        .and_then(Value::as_i64)
                        .unwrap_or(0),
                    newer.id
                ),
            ));
        }
        let mut fields = Fields::new();
        for f in CARRIED {
            if let Some(v) = old.fields.get(f).filter(|v| !v.is_null()) {
                fields.insert(f.into(), v.clone());
            }
        }
        let version = old
            .fields
            .get("version")
            .and_then(Value::as_i64)
            .unwrap_or(1)
            + 1;
        fields.insert("version".into(), Value::from(version));
        fields.insert("previous".into(), Value::String(id.to_string()));
        fields.insert("status".into(), Value::String("draft".into()));
        for (k, v) in changes {
            if k == "previous" || k == "version" {
                return Err(Error::invalid(
                    "document",
                    k,
                    format!("a new version's {k} follows from the one it supersedes"),
                ));
            }
            fields.insert(k.clone(), v.clone());
        }
        let mut superseded = Fields::new();
        superseded.insert("status".into(), Value::String("superseded".into()));
        let new_id = self.write(|w| {
            let new_id = w.insert(Entity::Document, &fields)?;
            w.update(Entity::Document, id, &superseded)?;
            Ok(new_id)
        })?;
        self.get(Entity::Document, &new_id)
    }

    /// Every version of the document `id` belongs to, oldest first (live ones; `id` itself
    /// even when deleted).
    pub fn document_versions(&self, id: &str) -> Result<Vec<Record>> {
        let start = self.get(Entity::Document, id)?;
        let mut back = Vec::new();
        let mut seen = std::collections::HashSet::from([start.id.clone()]);
        let mut at = start.str("previous").map(str::to_string);
        while let Some(p) = at {
            if !seen.insert(p.clone()) {
                break;
            }
            match self.get(Entity::Document, &p) {
                Ok(rec) => {
                    at = rec.str("previous").map(str::to_string);
                    if !rec.deleted {
                        back.push(rec);
                    }
                }
                Err(Error::NotFound { .. }) => break,
                Err(e) => return Err(e),
            }
        }
        back.reverse();
        back.push(start);
        let mut at = back.last().map(|r| r.id.clone());
        while let Some(cur) = at {
            at = None;
            for newer in self.newer_versions(&cur)? {
                if seen.insert(newer.id.clone()) {
                    at = Some(newer.id.clone());
                    back.push(newer);
                    break;
                }
            }
        }
        Ok(back)
    }

    /// Stores `data` as the file of live document `id` (kept by hash: the same bytes are kept
    /// once) and records its hash and `filename` on the document: one change, synced with the
    /// file. An empty file or name is refused.
    pub fn attach_file(&mut self, id: &str, filename: &str, data: &[u8]) -> Result<Record> {
        let name = filename.trim();
        if name.is_empty() {
            return Err(Error::invalid(
                "document",
                "filename",
                "a file needs a name",
            ));
        }
        if data.is_empty() {
            return Err(Error::invalid(
                "document",
                "file",
                format!("{name} is empty"),
            ));
        }
        let doc = self.get(Entity::Document, id)?;
        if doc.deleted {
            return Err(Error::Deleted {
                entity: "document",
                id: id.to_string(),
            });
        }
        let sha = self.put_blob(data)?;
        let mut f = Fields::new();
        f.insert("sha256".into(), Value::String(sha));
        f.insert("filename".into(), Value::String(name.to_string()));
        self.update(Entity::Document, id, &f)
    }

    /// The file of document `id`, checked against its hash. Errors say whether the document
    /// has no file, the file has not arrived yet (sync brings it), or it is damaged here.
    pub fn document_file(&self, id: &str) -> Result<Vec<u8>> {
        let rec = self.get(Entity::Document, id)?;
        let sha = rec.str("sha256").unwrap_or_default().to_string();
        if sha.is_empty() {
            return Err(Error::invalid(
                "document",
                "sha256",
                format!("document {id} has no file attached"),
            ));
        }
        let size = self
            .blob_status(&sha)?
            .filter(|s| s.complete)
            .ok_or_else(|| {
                Error::invalid(
                    "document",
                    "sha256",
                    format!("the file of document {id} is not here yet: sync brings it"),
                )
            })?
            .size;
        let data = self.read_blob(&sha, 0, size as usize, false)?;
        if crate::blobs::sha256_hex(&data) != sha {
            return Err(Error::invalid(
                "document",
                "sha256",
                format!("the file of document {id} is damaged here"),
            ));
        }
        Ok(data)
    }

    /// A meeting's live documents, each in its latest version (a version superseded by a live
    /// one is left out: [`Replica::document_versions`] lists them), by symbol then title.
    pub fn meeting_documents(&self, meeting: &str) -> Result<Vec<Record>> {
        let docs = self.list(
            Entity::Document,
            &crate::ListQuery {
                filters: vec![crate::Filter {
                    field: "meeting".into(),
                    op: crate::FilterOp::Eq,
                    value: meeting.to_string(),
                }],
                ..crate::ListQuery::default()
            },
        )?;
        let superseded: std::collections::HashSet<String> = docs
            .iter()
            .filter_map(|d| d.str("previous").map(str::to_string))
            .collect();
        Ok(docs
            .into_iter()
            .filter(|d| !superseded.contains(&d.id))
            .collect())
    }

    /// Live documents that name `id` as the version they supersede.
    fn newer_versions(&self, id: &str) -> Result<Vec<Record>> {
        self.list(
            Entity::Document,
            &crate::ListQuery {
                filters: vec![crate::Filter {
                    field: "previous".into(),
                    op: crate::FilterOp::Eq,
                    value: id.to_string(),
                }],
                ..crate::ListQuery::default()
            },
        )
    }
}

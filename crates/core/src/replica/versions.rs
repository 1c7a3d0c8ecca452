//! Field versions: the version of every field of a row, and the device numbers they name.

use super::sql::{row_to_record, select_cols};
use super::{Record, Tx};
use crate::error::{Error, Result};
use crate::hlc::{Hlc, Version};
use crate::schema::EntityDesc;
use rusqlite::types::Value as Sql;
use rusqlite::OptionalExtension;
use std::collections::BTreeMap;

impl Tx<'_> {
    pub(super) fn current(
        &self,
        d: &'static EntityDesc,
        id: &str,
    ) -> Result<(i64, Record, Versions)> {
        let sql = format!(
            "{}, _hlc, _dev, _fv FROM {} WHERE id = ?1",
            select_cols(d),
            d.table
        );
        type Raw = (i64, Record, (i64, i64, Option<String>));
        let (rowid, rec, (hlc, dev, fv)): Raw = self
            .tx
            .prepare_cached(&sql)?
            .query_row([id], |r| {
                let rec = row_to_record(d, r)?;
                let n = 6 + d.fields.len();
                Ok((r.get(4)?, rec, (r.get(n)?, r.get(n + 1)?, r.get(n + 2)?)))
            })
            .optional()?
            .ok_or_else(|| Error::NotFound {
                entity: d.name,
                id: id.to_string(),
            })?;
        let versions = Versions::read(hlc, dev, fv, &|n| self.device_id(n))?;
        Ok((rowid, rec, versions))
    }

    /// The id of a device by its number in this file (1 is this replica; 0 none).
    fn device_id(&self, n: i64) -> Result<String> {
        match n {
            0 => Ok(String::new()),
            1 => Ok(self.device.to_string()),
            _ => Ok(self
                .tx
                .prepare_cached("SELECT id FROM device WHERE n = ?1")?
                .query_row([n], |r| r.get(0))?),
        }
    }

    /// The number of a device in this file, adding it if it is new.
    pub(super) fn device_n(&self, id: &str) -> Result<i64> {
        if id == self.device {
            return Ok(1);
        }
        if id.is_empty() {
            return Ok(0);
        }
        let n: Option<i64> = self
            .tx
            .prepare_cached("SELECT n FROM device WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        match n {
            Some(n) => Ok(n),
            None => {
                self.tx
                    .execute("INSERT INTO device (id) VALUES (?1)", [id])?;
                Ok(self.tx.last_insert_rowid())
            }
        }
    }
}

/// The versions of a row's fields: a default (the create) and overrides for later writes.
pub(super) struct Versions {
    pub(super) default: Version,
    pub(super) overrides: BTreeMap<String, Version>,
}

impl Versions {
    /// Reads a row's versions; devices are stored as numbers of the `device` table and
    /// resolved to their ids here, so comparisons use the ids every replica agrees on.
    pub(super) fn read(
        hlc: i64,
        dev_n: i64,
        fv: Option<String>,
        id_of: &dyn Fn(i64) -> Result<String>,
    ) -> Result<Versions> {
        let mut overrides = BTreeMap::new();
        let stored = fv
            .and_then(|s| serde_json::from_str::<BTreeMap<String, (u64, i64)>>(&s).ok())
            .unwrap_or_default();
        for (k, (h, n)) in stored {
            overrides.insert(
                k,
                Version {
                    hlc: Hlc(h),
                    device: id_of(n)?,
                },
            );
        }
        Ok(Versions {
            default: Version {
                hlc: Hlc(hlc as u64),
                device: id_of(dev_n)?,
            },
            overrides,
        })
    }
    /// The version of a field. A field with no override has the row's create version if it
    /// holds a value, and the zero version if it was never written (so an older change that
    /// arrives after a newer one still fills the fields the newer one did not touch). The
    /// tombstone always has an explicit version once written.
    pub(super) fn get(&self, field: &str, present: bool) -> Version {
        match self.overrides.get(field) {
            Some(v) => v.clone(),
            None if present && field != "_deleted" => self.default.clone(),
            None => Version {
                hlc: Hlc::ZERO,
                device: String::new(),
            },
        }
    }
    /// Records that `field` now has version `v`. A write at the create version needs no
    /// override, unless it wrote nothing (a null): then "never written" and "cleared at the
    /// create version" would look the same, and an older value arriving later would win.
    pub(super) fn set(&mut self, field: &str, v: Version, is_null: bool) {
        if v == self.default && !is_null && field != "_deleted" {
            self.overrides.remove(field);
        } else {
            self.overrides.insert(field.to_string(), v);
        }
    }
    pub(super) fn overrides_json(&self, n_of: &dyn Fn(&str) -> Result<i64>) -> Result<Sql> {
        if self.overrides.is_empty() {
            return Ok(Sql::Null);
        }
        let mut m: BTreeMap<&str, (u64, i64)> = BTreeMap::new();
        for (k, v) in &self.overrides {
            m.insert(k.as_str(), (v.hlc.0, n_of(&v.device)?));
        }
        Ok(Sql::Text(serde_json::to_string(&m).unwrap_or_default()))
    }
}

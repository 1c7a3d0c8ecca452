//! Secretariat Desk core (`desk-core`): the domain (organisations, contacts, projects, meetings
//! and their parts, documents), validation, and the local replica — one encrypted SQLite file
//! with a field-level change log, the merge of changes made elsewhere, full-text search, undo,
//! conflicts for review, diplomatic precedence ([`precedence`]) and records as people read them
//! ([`RecordView`]: labels, resolved references).
//!
//! What it is not:
//! - not the sync transport: it hands out its outbox and applies what it is given
//!   ([`Replica::apply_pull`]), but never talks HTTP (that is `desk-sync`);
//! - not the server: no accounts, tokens, access rules or review of what others push
//!   (`desk-server`); it only validates and merges changes, as every replica does;
//! - not PDF or any rendering (`desk-brief`), nor the OS keychain (`desk-keys`), Tauri or a
//!   terminal: front ends (the `desk` CLI, the desktop shell) call it; it never talks to a user;
//! - not the wire format's owner: clocks, versions, the merge rule and the wire types
//!   ([`Change`] and its parts, re-exported here) come from `desk-protocol`.
//!
//! Every mutation goes through [`Replica`] in one transaction and records its field changes
//! ([`Change`]) with a hybrid logical clock ([`hlc`]).

pub mod blobs;
mod conflicts;
pub mod demo;
pub mod describe;
mod digest;
pub mod error;
pub mod followup;
pub mod indicators;
/// Clocks and versions come from the protocol crate, so the core and the server share one rule.
pub use desk_protocol::hlc;
mod documents;
mod migrations;
pub mod order;
pub mod outline;
pub mod precedence;
mod replica;
mod role;
pub mod schema;
mod search;
pub mod sets;
pub mod text;
mod undo;
mod validate;
mod view;

pub use blobs::BlobStatus;
pub use conflicts::{Conflict, Take};
pub use describe::{countries, describe, EntitySchema, FieldSchema, KindSchema, ParentSchema};
pub use error::{Error, ErrorKind, Result};
pub use followup::{
    due_state, DecisionRef, DueFilter, DueState, FollowupPage, FollowupQuery, FollowupRow,
    Framework, MeetingRef,
};
pub use indicators::{IndicatorPoint, IndicatorSeries};
pub use migrations::{BROWSE_INDEXES, SCHEMA_VERSION};
pub use outline::{
    MeetingOutline, OutlineAction, OutlineDecision, OutlineDocument, OutlineItem, OutlinePoint,
};
pub use replica::{
    display_value, ActionDue, AttentionReason, Batch, Change, Checkpoint, Dot, FieldChange,
    FieldEdit, FieldFilter, Fields, Filter, FilterKind, FilterOp, HistoryEntry, Home, Key,
    ListQuery, MilestonePoint, Page, PageQuery, PortfolioRow, Progress, ProjectAttention, Record,
    RecordRef, Replica, SetOps, Summary, DEFAULT_PAGE, HISTORY_MAX, MAX_PAGE, RESTING_CACHE_MIB,
};
pub use role::Role;
/// The SQLite binding the replica is built on (for [`Replica::with_transaction`]).
pub use rusqlite;
pub use schema::{Entity, EntityDesc, Field, FieldKind};
pub use search::{HitParent, SearchHit};
pub use undo::UndoReport;
pub use validate::{check_change, check_element, check_stored, LONG_TEXT_MAX, MAX_ITEMS};
pub use view::{RecordView, Row, RowPage};

impl Replica {
    /// Searches contacts, organisations, projects, meetings, agenda items, decisions, action
    /// items and documents; see [`search`](crate::search). Each hit's subtitle is the line a
    /// list shows under the record ([`Replica::subtitle`]), so a record reads the same in both.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>> {
        let mut hits = search::search(self.reader(), query, limit)?;
        for h in &mut hits {
            if let Some(rec) = Entity::parse(h.entity).and_then(|e| self.get(e, &h.id).ok()) {
                h.subtitle = self.subtitle(&rec);
            }
        }
        Ok(hits)
    }
}

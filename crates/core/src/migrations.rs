//! Versioned schema migrations. Each entry is applied once, in order, in its own transaction,
//! and `PRAGMA user_version` records how far a replica has come. Never edit a released entry:
//! add a new one. A test checks that every field of every descriptor has its column.

/// Columns every record table carries besides its fields:
/// - `id`: UUIDv7 made offline;
/// - `_hlc`, `_dev`: the version (clock, device number in the `device` table) of the create, and
///   the default version of every field not listed in `_fv`;
/// - `_fv`: JSON object `{field: [hlc, device number]}` for fields written after the create;
/// - `_updated`: the highest clock applied to the row;
/// - `_deleted`: the tombstone (itself a versioned field; tombstones never expire).
macro_rules! record_table {
    ($name:literal, $cols:literal) => {
        concat!(
            "CREATE TABLE ",
            $name,
            " (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, \
             _hlc INTEGER NOT NULL, _dev INTEGER NOT NULL, _fv TEXT, _updated INTEGER NOT NULL, \
             _deleted INTEGER NOT NULL DEFAULT 0, ",
            $cols,
            ");\n"
        )
    };
}

const V1: &str = concat!(
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;\n",
    // The change log, local and applied-from-elsewhere changes in local order. One entry holds
    // the fields one device changed on one record in one transaction: `fields` is a JSON object
    // field -> new value, `bases` field -> the version the editor had seen (absent when zero).
    // (device, dev_seq) identifies the entry everywhere; in this file a device is a small number
    // from the `device` table (this replica's own device is 1), which keeps entries compact.
    "CREATE TABLE device (n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);\n",
    "CREATE TABLE change_log (seq INTEGER PRIMARY KEY, device INTEGER NOT NULL REFERENCES device(n), dev_seq INTEGER NOT NULL, \
     tx INTEGER NOT NULL, entity TEXT NOT NULL, record TEXT NOT NULL, hlc INTEGER NOT NULL, \
     schema_version INTEGER NOT NULL, fields TEXT NOT NULL, bases TEXT, UNIQUE (device, dev_seq));\n",
    record_table!(
        "organisation",
        "name TEXT, acronym TEXT, native_name TEXT, kind TEXT, country TEXT, \
         parent TEXT REFERENCES organisation(id) DEFERRABLE INITIALLY DEFERRED, website TEXT, \
         notes TEXT, classification TEXT, scope TEXT"
    ),
    "CREATE INDEX organisation_acronym ON organisation (acronym COLLATE NOCASE);\n",
    record_table!(
        "contact",
        "name TEXT, native_name TEXT, honorific TEXT, given_name TEXT, family_name TEXT, title TEXT, \
         org TEXT REFERENCES organisation(id) DEFERRABLE INITIALLY DEFERRED, country TEXT, email TEXT, \
         phone TEXT, languages TEXT, precedence INTEGER, tags TEXT, notes TEXT, classification TEXT, \
         scope TEXT"
    ),
    "CREATE INDEX contact_name ON contact (name COLLATE NOCASE);\n",
    "CREATE INDEX contact_org ON contact (org);\n",
    record_table!(
        "project",
        "code TEXT, title TEXT, pillar TEXT, sector TEXT, status TEXT, lead_country TEXT, \
         countries TEXT, agencies TEXT, partners TEXT, budget REAL, currency TEXT, \
         funding_secured REAL, start_date TEXT, end_date TEXT, summary TEXT, classification TEXT, \
         scope TEXT"
    ),
    "CREATE INDEX project_code ON project (code COLLATE NOCASE);\n",
    record_table!(
        "milestone",
        "project TEXT REFERENCES project(id) DEFERRABLE INITIALLY DEFERRED, title TEXT, \
         due_date TEXT, completed_date TEXT, status TEXT"
    ),
    "CREATE INDEX milestone_project ON milestone (project);\n",
    record_table!(
        "indicator",
        "project TEXT REFERENCES project(id) DEFERRABLE INITIALLY DEFERRED, name TEXT, unit TEXT, \
         baseline REAL, target REAL, actual REAL, as_of TEXT, position INTEGER"
    ),
    "CREATE INDEX indicator_project ON indicator (project);\n",
    record_table!(
        "project_update",
        "project TEXT REFERENCES project(id) DEFERRABLE INITIALLY DEFERRED, period_end TEXT, \
         rag TEXT, narrative TEXT, risks TEXT"
    ),
    "CREATE INDEX project_update_project ON project_update (project);\n",
    record_table!(
        "meeting",
        "title TEXT, short_title TEXT, kind TEXT, framework TEXT, start_date TEXT, end_date TEXT, \
         timezone TEXT, venue TEXT, city TEXT, host_country TEXT, \
         chair TEXT REFERENCES contact(id) DEFERRABLE INITIALLY DEFERRED, status TEXT, notes TEXT, \
         classification TEXT, scope TEXT"
    ),
    "CREATE INDEX meeting_start ON meeting (start_date DESC, title);\n",
    record_table!(
        "agenda_item",
        "meeting TEXT REFERENCES meeting(id) DEFERRABLE INITIALLY DEFERRED, number TEXT, title TEXT, \
         position INTEGER, annotation TEXT, purpose TEXT, action_requested TEXT, lead_country TEXT, \
         presenter TEXT REFERENCES contact(id) DEFERRABLE INITIALLY DEFERRED, projects TEXT, \
         objectives TEXT, points_to_make TEXT, their_objectives TEXT, our_response TEXT, \
         press_line TEXT, background TEXT"
    ),
    "CREATE INDEX agenda_item_meeting ON agenda_item (meeting);\n",
    record_table!(
        "participant",
        "meeting TEXT REFERENCES meeting(id) DEFERRABLE INITIALLY DEFERRED, \
         contact TEXT REFERENCES contact(id) DEFERRABLE INITIALLY DEFERRED, delegation TEXT, \
         delegation_org TEXT REFERENCES organisation(id) DEFERRABLE INITIALLY DEFERRED, role TEXT, \
         attendance TEXT, precedence INTEGER"
    ),
    "CREATE INDEX participant_meeting ON participant (meeting);\n",
    "CREATE INDEX participant_contact ON participant (contact);\n",
    record_table!(
        "decision",
        "meeting TEXT REFERENCES meeting(id) DEFERRABLE INITIALLY DEFERRED, \
         agenda_item TEXT REFERENCES agenda_item(id) DEFERRABLE INITIALLY DEFERRED, number TEXT, \
         text TEXT"
    ),
    "CREATE INDEX decision_meeting ON decision (meeting);\n",
    record_table!(
        "action_item",
        "meeting TEXT REFERENCES meeting(id) DEFERRABLE INITIALLY DEFERRED, \
         decision TEXT REFERENCES decision(id) DEFERRABLE INITIALLY DEFERRED, title TEXT, owner TEXT, \
         owner_country TEXT, owner_contact TEXT REFERENCES contact(id) DEFERRABLE INITIALLY DEFERRED, \
         due_date TEXT, status TEXT, evidence TEXT, \
         reported_at TEXT REFERENCES meeting(id) DEFERRABLE INITIALLY DEFERRED, notes TEXT"
    ),
    "CREATE INDEX action_item_meeting ON action_item (meeting);\n",
    record_table!(
        "talking_point",
        "meeting TEXT REFERENCES meeting(id) DEFERRABLE INITIALLY DEFERRED, \
         agenda_item TEXT REFERENCES agenda_item(id) DEFERRABLE INITIALLY DEFERRED, kind TEXT, \
         text TEXT, position INTEGER"
    ),
    "CREATE INDEX talking_point_meeting ON talking_point (meeting);\n",
    record_table!(
        "document",
        "title TEXT, symbol TEXT, kind TEXT, status TEXT, \
         meeting TEXT REFERENCES meeting(id) DEFERRABLE INITIALLY DEFERRED, filename TEXT, \
         sha256 TEXT, version INTEGER, previous TEXT REFERENCES document(id) DEFERRABLE INITIALLY DEFERRED, \
         classification TEXT, scope TEXT"
    ),
    // Search (see search.rs and docs/design/search.md). Text is folded in Rust before it gets
    // here (NFC, lower case, Latin diacritics removed). The trigram index finds any substring of
    // three or more characters in every script; it is contentless (the text lives in the record
    // tables) and its rowid is (entity search_code << 40) | record rowid. It keeps no positions
    // (detail = none): a query is the AND of its trigrams, and candidates are confirmed against
    // the record's text. One- and two-letter queries use the prefix indexes below instead.
    "CREATE VIRTUAL TABLE search_tri USING fts5(body, tokenize = 'trigram', content = '', contentless_delete = 1, detail = 'none');\n",
    // A larger in-memory term buffer (the default is 1 MB) makes bulk loads write fewer,
    // larger segments, with less merging.
    "INSERT INTO search_tri (search_tri, rank) VALUES ('hashsize', 4194304);\n",
    "CREATE INDEX contact_native_name ON contact (native_name COLLATE NOCASE);\n",
);

/// Version 2: protocol. A meeting states how its delegations are ordered; a contact may record
/// gender, which picks gendered forms of address (U/Daw, Ông/Bà, Lok/Lok Srey).
/// Also the conflict inbox (concurrent edits that disagree, edits that raced a delete: both
/// values, who and when, for a person to settle), and the undo bookkeeping: which local transaction was undone by which (local only, never
/// synced: an undo reaches other replicas as the ordinary edit it is).
const V2: &str = "ALTER TABLE meeting ADD COLUMN precedence TEXT;\n\
                  ALTER TABLE contact ADD COLUMN gender TEXT;\n\
                  CREATE TABLE undo (tx INTEGER PRIMARY KEY, by_tx INTEGER NOT NULL);\n\
                  CREATE TABLE conflict (id INTEGER PRIMARY KEY, entity TEXT NOT NULL, \
                   record TEXT NOT NULL, field TEXT NOT NULL, kind TEXT NOT NULL, \
                   held TEXT NOT NULL, held_hlc INTEGER NOT NULL, held_device TEXT NOT NULL, \
                   incoming TEXT NOT NULL, incoming_hlc INTEGER NOT NULL, \
                   incoming_device TEXT NOT NULL, winner TEXT NOT NULL, resolved_tx INTEGER);\n\
                  CREATE INDEX conflict_open ON conflict (resolved_tx, id);\n";

/// Version 3: sync. Changes from a newer schema wait here, whole, for the fields and entities
/// this build does not know yet (what it knows is applied at once); they are applied in full
/// after an upgrade. Never a reset that discards anything.
/// Also the attachment store: documents' files by SHA-256, in chunks (a transfer resumes at
/// the first missing byte; `complete` only once the whole file hashed right), inside the
/// encrypted file like everything else.
const V3: &str = "CREATE TABLE deferred (rowid INTEGER PRIMARY KEY, device TEXT NOT NULL, \
                  dev_seq INTEGER NOT NULL, record TEXT NOT NULL, change TEXT NOT NULL, \
                  UNIQUE (device, dev_seq));\n\
                  CREATE TABLE blob (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, \
                   have INTEGER NOT NULL DEFAULT 0, complete INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;\n\
                  CREATE TABLE blob_chunk (sha256 TEXT NOT NULL, offset INTEGER NOT NULL, \
                   data BLOB NOT NULL, PRIMARY KEY (sha256, offset)) WITHOUT ROWID;\n";

/// Version 4: add-wins sets. A list field edited since (tags, languages, agencies, partners,
/// countries) holds its elements as *dots* — each the change that added it — so an element
/// added on one device survives a concurrent removal elsewhere (see `sets.rs`); the change
/// log keeps each change's adds and removals beside its values, and is indexed by record (a
/// set's first edit finds the change that wrote its value; a purge finds a record's history).
const V4: &str = "CREATE TABLE set_dot (record TEXT NOT NULL, field TEXT NOT NULL, \
                   elem TEXT NOT NULL, dev TEXT NOT NULL, seq INTEGER NOT NULL, \
                   hlc INTEGER NOT NULL, pos INTEGER NOT NULL, legacy INTEGER NOT NULL, \
                   PRIMARY KEY (record, field, elem, dev, seq)) WITHOUT ROWID;\n\
                  CREATE INDEX set_dot_change ON set_dot (dev, seq);\n\
                  ALTER TABLE change_log ADD COLUMN sets TEXT;\n\
                  CREATE INDEX change_log_record ON change_log (record);\n";

/// Version 5: paged lists ([`crate::Replica::page`]). Each list order and the commonly
/// filtered fields get an index ending in the id, so a page is an index range (`key > v`,
/// `key = v AND id > i`) rather than a sort of every row: names and codes (without regard to
/// case, as lists compare them), contacts by country, meetings by date and by framework,
/// projects by status and pillar, action items by due date and status, and each project's
/// updates by period (the home view's latest update). `contact_name` and `project_code`
/// give way to the same indexes with the id (the one- and two-letter search still uses them:
/// the name or code is their first column). They end in `_deleted`, so a count of the live
/// rows matching a list's filters (`Page::total`) reads the index alone: counting 100,000
/// live contacts took 4.8 ms from the table and 2.9 ms from such an index (bench). Not
/// partial indexes (`WHERE _deleted = 0`), which count faster (0.9 ms): without statistics
/// SQLite then walked one of them, reading rows in index order, for any query on live rows
/// that no index serves (a list by title took 70 ms instead of 20, a two-letter search 6 ms
/// instead of 1.3). Readers that sort or search by a field no index serves write the live
/// test as `+t._deleted = 0` for the same reason (see `page.rs`).
const V5: &str = "DROP INDEX IF EXISTS contact_name;\n\
                  CREATE INDEX contact_name_id ON contact (name COLLATE NOCASE, id, _deleted);\n\
                  CREATE INDEX contact_country_name ON contact (country, name COLLATE NOCASE, id, _deleted);\n\
                  CREATE INDEX organisation_name_id ON organisation (name COLLATE NOCASE, id, _deleted);\n\
                  DROP INDEX IF EXISTS project_code;\n\
                  CREATE INDEX project_code_id ON project (code COLLATE NOCASE, id, _deleted);\n\
                  CREATE INDEX project_status ON project (status, code COLLATE NOCASE, id, _deleted);\n\
                  CREATE INDEX project_pillar ON project (pillar, code COLLATE NOCASE, id, _deleted);\n\
                  CREATE INDEX meeting_start_id ON meeting (start_date, id, _deleted);\n\
                  CREATE INDEX meeting_framework ON meeting (framework, start_date, id, _deleted);\n\
                  CREATE INDEX action_item_due ON action_item (due_date, id, _deleted);\n\
                  CREATE INDEX action_item_status ON action_item (status, due_date, id, _deleted);\n\
                  CREATE INDEX project_update_period ON project_update (project, period_end);\n";

/// Version 6: agenda items, decisions, action items and documents become searchable (their
/// search fields are in the descriptors). SQL cannot fold text as search does, so the index
/// entries of the records already there are written by the migration step in Rust
/// (`Replica::migrate` calls `search::index_all` after this). Documents get the index by
/// meeting that listing a meeting's documents and naming a document hit's meeting use.
const V6: &str = "CREATE INDEX IF NOT EXISTS document_meeting ON document (meeting);\n";

/// Version 7: ordering that merges, indicator history, the follow-up tracker.
/// - Agenda items and decisions get `rank`: the key a move writes (see `order.rs`); records
///   never moved have none and keep their place by position and number, so nothing is
///   rewritten here.
/// - `indicator_value`: dated values of an indicator, a child record that syncs and merges by
///   itself. Existing `actual`/`as_of` values are not copied into it: each replica that
///   upgrades would make its own copy (its own id) and sync would then show every point once
///   per office. An indicator's own `actual` is read as the first point of its series instead
///   (see `indicators.rs`), which older versions keep writing.
/// - The tracker lists the action items of a framework's meetings: `action_item_meeting`
///   already narrows them per meeting; `meeting_framework` (version 5) finds the meetings.
const V7: &str = concat!(
    "ALTER TABLE agenda_item ADD COLUMN rank TEXT;\n",
    "ALTER TABLE decision ADD COLUMN rank TEXT;\n",
    record_table!(
        "indicator_value",
        "indicator TEXT REFERENCES indicator(id) DEFERRABLE INITIALLY DEFERRED, date TEXT, \
         value REAL, note TEXT"
    ),
    "CREATE INDEX indicator_value_indicator ON indicator_value (indicator, date);\n",
);

/// Version 8: a document can be for one agenda item of its meeting (papers tabled under an
/// item); the meeting page lists them under the item.
const V8: &str = "ALTER TABLE document ADD COLUMN agenda_item TEXT;\n\
CREATE INDEX IF NOT EXISTS document_agenda_item ON document (agenda_item);\n";

/// Version 9: a meeting's opening and closing times (local at the venue, in its time zone), so
/// calendars get timed events.
const V9: &str = "ALTER TABLE meeting ADD COLUMN start_time TEXT;\n\
ALTER TABLE meeting ADD COLUMN end_time TEXT;\n";

/// Version 10: what this device did that the server's audit log must show (briefing packs
/// made, key changes), kept here until the server has them (`sent`) — local: never synced as
/// records, and untouched by a wipe for a new role; and the user of each device in the change
/// log, as the sync server names them (a record's history by person).
const V10: &str = "CREATE TABLE audit_outbox (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, \
action TEXT NOT NULL, detail TEXT NOT NULL, sent INTEGER NOT NULL DEFAULT 0);\n\
ALTER TABLE device ADD COLUMN user TEXT;\n";

/// The entities that version 6 made searchable, indexed by its migration step.
pub(crate) const V6_SEARCHED: &[crate::schema::Entity] = &[
    crate::schema::Entity::AgendaItem,
    crate::schema::Entity::Decision,
    crate::schema::Entity::Action,
    crate::schema::Entity::Document,
];

/// Indexes that only serve people browsing a replica (lists ordered or filtered by name, code
/// or date). The sync server's copy never browses and drops them (see
/// `Replica::serve_only`); a later migration must name them with `IF EXISTS` (version 5
/// replaced `contact_name` and `project_code` so).
pub const BROWSE_INDEXES: &[&str] = &[
    "organisation_acronym",
    "contact_native_name",
    "meeting_start",
    "contact_name_id",
    "contact_country_name",
    "organisation_name_id",
    "project_code_id",
    "project_status",
    "project_pillar",
    "meeting_start_id",
    "meeting_framework",
    "action_item_due",
    "action_item_status",
    "project_update_period",
];

/// All migrations, in order; index + 1 is the schema version they bring a replica to.
pub const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8, V9, V10];

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

//! Data in and out of a replica in the formats staff already use (`desk-exchange`).
//!
//! What it is: readers and writers of files — CSV (Outlook, Google Contacts, Excel sheets),
//! vCard 3.0/4.0, iCalendar, XLSX and the whole-replica JSON backup — and the mapping of their
//! rows and cards to the core's records. Everything it brings in goes through the core's one
//! writer path ([`desk_core::Replica::batch`]), so imported records are validated, logged,
//! searchable, undoable and synced like any typed in.
//!
//! What it is not: a place for the domain's rules. Validation, labels, due states, protocol
//! order and the portfolio's figures are the core's; this crate only lays them out.

pub mod backup;
pub mod calendar;
pub mod cards;
pub mod csv;
pub mod export;
pub mod ical;
pub mod import;
pub mod mapping;
pub mod records;
pub mod reports;
pub mod text;
pub mod vcard;
pub mod xlsx;

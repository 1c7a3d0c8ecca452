//! Printing results: aligned text for people, JSON (`--json`) for scripts. Errors go to stderr
//! with an exit code by kind: 3 bad input, 4 not found, 5 wrong key or passphrase; for sync, 6
//! signed out or revoked, 7 server unreachable, 8 refused by the server, 9 program too old;
//! 1 otherwise.

use desk_core::demo::DemoReport;
use desk_core::{Change, Entity, ErrorKind, Record, Replica, SearchHit, Summary};
use desk_exchange::{backup, cards, import, records};
use desk_keys::KeyError;
use desk_sync::explain::{classify, Trouble};
use serde_json::{json, Value};
use std::io::Write;
use std::process::ExitCode;

pub struct Out {
    pub json: bool,
    stdout: std::io::StdoutLock<'static>,
}

type R = anyhow::Result<()>;

impl Out {
    pub fn new(json: bool) -> Out {
        Out {
            json,
            stdout: std::io::stdout().lock(),
        }
    }

    fn emit_json(&mut self, v: &impl serde::Serialize) -> R {
        serde_json::to_writer_pretty(&mut self.stdout, v)?;
        writeln!(self.stdout)?;
        Ok(())
    }

    pub fn init(&mut self, r: &Replica, created: bool) -> R {
        if self.json {
            return self.emit_json(&json!({"path": r.path().display().to_string(), "created": created, "device": r.device_id()}));
        }
        let verb = if created {
            "Created"
        } else {
            "Opened existing"
        };
        writeln!(
            self.stdout,
            "{verb} encrypted replica {}",
            r.path().display()
        )?;
        Ok(())
    }

    pub fn demo(&mut self, r: &Replica, report: &DemoReport) -> R {
        let summary = r.summary()?;
        if self.json {
            return self.emit_json(&json!({"demo": report, "summary": summary}));
        }
        if report.already_loaded {
            writeln!(self.stdout, "Demo data was already loaded.")?;
        } else {
            writeln!(self.stdout, "Loaded {} demo records.", report.records)?;
        }
        self.summary(&summary)
    }

    pub fn conflicts(&mut self, list: &[desk_core::Conflict]) -> R {
        if self.json {
            return self.emit_json(&list);
        }
        if list.is_empty() {
            writeln!(self.stdout, "No conflicts.")?;
        }
        for c in list {
            let state = if c.resolved { " (settled)" } else { "" };
            writeln!(
                self.stdout,
                "#{} {} {} \"{}\", {}: {}{state}",
                c.id,
                c.kind.replace('_', " "),
                c.entity,
                c.label,
                c.field,
                if c.winner == "held" {
                    "kept mine"
                } else {
                    "took theirs"
                }
            )?;
            writeln!(
                self.stdout,
                "    mine   {}  ({} by {})",
                c.held, c.held_at, c.held_device
            )?;
            writeln!(
                self.stdout,
                "    theirs {}  ({} by {})",
                c.incoming, c.incoming_at, c.incoming_device
            )?;
        }
        Ok(())
    }

    pub fn undo(&mut self, report: Option<&desk_core::UndoReport>) -> R {
        if self.json {
            return self.emit_json(&report);
        }
        match report {
            None => writeln!(self.stdout, "Nothing to undo.")?,
            Some(u) => {
                for (entity, id) in &u.records {
                    writeln!(self.stdout, "Undid the last change to {entity} {id}")?;
                }
                for f in &u.kept_newer {
                    writeln!(self.stdout, "Kept {f}: it was changed again since")?;
                }
            }
        }
        Ok(())
    }

    pub fn text(&mut self, s: &str) -> R {
        self.stdout.write_all(s.as_bytes())?;
        Ok(())
    }

    pub fn summary(&mut self, s: &Summary) -> R {
        if self.json {
            return self.emit_json(s);
        }
        writeln!(
            self.stdout,
            "Replica {} (schema {}, device {})",
            s.path, s.schema_version, s.device
        )?;
        for (name, n) in &s.counts {
            writeln!(self.stdout, "  {:<14} {n:>8}", name.replace('_', " "))?;
        }
        writeln!(self.stdout, "  {:<14} {:>8}", "changes", s.changes)?;
        Ok(())
    }

    pub fn record(&mut self, r: &Replica, rec: &Record) -> R {
        if self.json {
            return self.emit_json(rec);
        }
        for line in r.view(rec.clone(), true).lines() {
            writeln!(self.stdout, "{line}")?;
        }
        Ok(())
    }

    pub fn records(&mut self, r: &Replica, recs: &[Record]) -> R {
        if self.json {
            return self.emit_json(&recs);
        }
        for rec in recs {
            // The same line the app shows under a record's label.
            let sub = r.subtitle(rec);
            let mark = if rec.deleted { " [deleted]" } else { "" };
            writeln!(self.stdout, "{}  {}  {sub}{mark}", rec.id, r.label(rec))?;
        }
        if recs.is_empty() {
            writeln!(self.stdout, "(none)")?;
        }
        Ok(())
    }

    /// The follow-up tracker, one action item a line: due date and state, the meeting where
    /// it was agreed, who is responsible, status, title; then evidence and where it was last
    /// reported, when there are.
    pub fn followup(&mut self, rows: &[desk_core::FollowupRow]) -> R {
        if self.json {
            return self.emit_json(&rows);
        }
        for a in rows {
            let due = serde_json::to_value(a.due)
                .ok()
                .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
                .unwrap_or_default();
            writeln!(
                self.stdout,
                "{:<10}  {:<8}  {}  {}  {}  {}  {}",
                a.due_date.as_deref().unwrap_or("-"),
                due,
                a.meeting.label,
                a.responsible,
                a.status.replace('_', " "),
                a.title,
                a.id
            )?;
            if let Some(d) = &a.decision {
                let n = d
                    .number
                    .as_deref()
                    .map(|n| format!("{n}. "))
                    .unwrap_or_default();
                writeln!(
                    self.stdout,
                    "            decision: {n}{}",
                    d.text.lines().next().unwrap_or_default()
                )?;
            }
            if let Some(e) = &a.evidence {
                writeln!(
                    self.stdout,
                    "            evidence: {}",
                    e.lines().next().unwrap_or_default()
                )?;
            }
            if let Some(m) = &a.reported_at {
                writeln!(self.stdout, "            reported at: {}", m.label)?;
            }
        }
        if rows.is_empty() {
            writeln!(self.stdout, "(none)")?;
        } else {
            writeln!(
                self.stdout,
                "{} action item{}",
                rows.len(),
                if rows.len() == 1 { "" } else { "s" }
            )?;
        }
        Ok(())
    }

    /// An indicator's series: baseline, target, then each value by date (the last is the
    /// current actual).
    pub fn series(&mut self, s: &desk_core::IndicatorSeries) -> R {
        if self.json {
            return self.emit_json(s);
        }
        let unit = s
            .unit
            .as_deref()
            .map(|u| format!(" ({u})"))
            .unwrap_or_default();
        writeln!(self.stdout, "{}{unit}", s.name)?;
        let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
        writeln!(self.stdout, "  baseline  {}", num(s.baseline))?;
        writeln!(self.stdout, "  target    {}", num(s.target))?;
        for p in &s.points {
            let source = match &p.id {
                Some(id) => id.clone(),
                None => "(recorded on the indicator)".to_string(),
            };
            let note = p
                .note
                .as_deref()
                .map(|n| format!("  {n}"))
                .unwrap_or_default();
            writeln!(self.stdout, "  {}  {}  {source}{note}", p.date, p.value)?;
        }
        if s.points.is_empty() {
            writeln!(self.stdout, "  (no values yet)")?;
        }
        Ok(())
    }

    pub fn hits(&mut self, hits: &[SearchHit]) -> R {
        if self.json {
            return self.emit_json(&hits);
        }
        for h in hits {
            writeln!(
                self.stdout,
                "{:<13} {}  {}  {}",
                h.entity, h.id, h.title, h.subtitle
            )?;
        }
        if hits.is_empty() {
            writeln!(self.stdout, "(no match)")?;
        }
        Ok(())
    }

    pub fn changes(&mut self, changes: &[Change]) -> R {
        if self.json {
            return self.emit_json(&changes);
        }
        for c in changes {
            for f in &c.fields {
                writeln!(
                    self.stdout,
                    "{:>6} {} {} {}.{} = {}",
                    c.seq,
                    c.hlc.to_rfc3339(),
                    c.record,
                    c.entity,
                    f.field,
                    f.value
                )?;
            }
        }
        Ok(())
    }

    /// A record's history by person, newest first.
    pub fn history(&mut self, e: Entity, id: &str, entries: &[desk_core::HistoryEntry]) -> R {
        if self.json {
            return self.emit_json(&json!({"entity": e.name(), "id": id, "history": entries}));
        }
        for h in entries {
            let when = h.at.get(..16).unwrap_or(&h.at).replace('T', " ");
            let short: String = h.device.chars().take(8).collect();
            let who = match &h.user {
                Some(u) if h.here => format!("{u} (this device)"),
                Some(u) => format!("{u} (device {short}…)"),
                None if h.here => "this device".to_string(),
                None => format!("device {short}… (user not yet known: sync)"),
            };
            writeln!(self.stdout, "{when} UTC  {who}  {}", h.what)?;
            for f in &h.fields {
                let value = if f.value.is_empty() {
                    "(cleared)"
                } else {
                    &f.value
                };
                match &f.was {
                    Some(was) if !was.is_empty() => {
                        writeln!(self.stdout, "    {}: {value} (was {was})", f.field)?
                    }
                    _ => writeln!(self.stdout, "    {}: {value}", f.field)?,
                }
            }
        }
        Ok(())
    }

    pub fn deleted(&mut self, e: Entity, id: &str, n: usize) -> R {
        if self.json {
            return self.emit_json(&json!({"deleted": id, "entity": e.name(), "records": n}));
        }
        writeln!(
            self.stdout,
            "Deleted {} {id} ({n} record{} in all)",
            e.name(),
            if n == 1 { "" } else { "s" }
        )?;
        Ok(())
    }

    pub fn logged_in(&mut self, url: &str, user: &str, role: &str, expires: i64, kept: &str) -> R {
        let until = chrono::DateTime::from_timestamp(expires, 0)
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        if self.json {
            return self.emit_json(&json!({"server": url, "user": user, "role": role, "expires": until, "token_in": kept}));
        }
        writeln!(
            self.stdout,
            "Signed in to {url} as {user} ({role}) until {until}; the token is in {kept}"
        )?;
        Ok(())
    }

    pub fn line(&mut self, text: &str) -> R {
        if self.json {
            return self.emit_json(&json!({"ok": true, "message": text}));
        }
        writeln!(self.stdout, "{text}")?;
        Ok(())
    }

    pub fn synced(&mut self, r: &desk_sync::SyncReport, open_conflicts: usize) -> R {
        if self.json {
            return self.emit_json(&json!({"pushed": r.pushed, "pulled": r.pulled, "applied": r.applied, "open_conflicts": open_conflicts, "purged": r.purged, "kept_for_review": r.quarantined, "restamped": r.restamped, "rescoped": r.rescoped, "files_sent": r.files_sent, "files_received": r.files_received}));
        }
        if r.rescoped {
            writeln!(self.stdout, "Your role changed: this replica was emptied and filled again with what you may now see")?;
        }
        if r.purged > 0 {
            writeln!(
                self.stdout,
                "Removed {} record{} you may no longer see",
                r.purged,
                if r.purged == 1 { "" } else { "s" }
            )?;
        }
        if r.quarantined > 0 {
            writeln!(self.stdout, "{} of your edits were to records you may no longer see: the server kept them for the secretariat to review", r.quarantined)?;
        }
        if r.files_sent + r.files_received > 0 {
            writeln!(
                self.stdout,
                "Files: sent {}, received {}",
                r.files_sent, r.files_received
            )?;
        }
        if r.restamped > 0 {
            writeln!(self.stdout, "This computer's clock is ahead: the server stamped {} of your edits with its own time (check the date and time settings)", r.restamped)?;
        }
        writeln!(
            self.stdout,
            "Sent {} change{}, received {} ({} new here); {} open conflict{}",
            r.pushed,
            if r.pushed == 1 { "" } else { "s" },
            r.pulled,
            r.applied,
            open_conflicts,
            if open_conflicts == 1 { "" } else { "s" }
        )?;
        Ok(())
    }

    pub fn brief(
        &mut self,
        path: &std::path::Path,
        pack: &desk_brief::Rendered,
        took: std::time::Duration,
    ) -> R {
        if self.json {
            return self.emit_json(&json!({
                "file": path.display().to_string(),
                "pages": pack.pages,
                "bytes": pack.pdf.len(),
                "millis": took.as_millis() as u64,
                "contents": pack.contents.iter().map(|c| json!({"level": c.level, "title": c.title, "page": c.page})).collect::<Vec<_>>(),
            }));
        }
        writeln!(
            self.stdout,
            "Wrote {} ({} pages, {} KB) in {} ms",
            path.display(),
            pack.pages,
            pack.pdf.len().div_ceil(1024),
            took.as_millis()
        )?;
        for c in pack.contents.iter().filter(|c| c.level == 0) {
            writeln!(self.stdout, "  p. {:>3}  {}", c.page, c.title)?;
        }
        Ok(())
    }

    /// What an import did: rows read, created, matched, and each refused row by row and
    /// column.
    fn import_report(&mut self, report: &records::Report, unit: &str) -> R {
        let verb = if report.dry_run {
            "Dry run (nothing written)"
        } else if report.written {
            "Imported"
        } else if report.invalid.is_empty() {
            "Nothing to change"
        } else {
            "Not imported"
        };
        let filled = report
            .merged
            .iter()
            .filter(|m| !m.filled.is_empty())
            .count();
        writeln!(
            self.stdout,
            "{verb}: {} {unit}s read; {} new {}s, {filled} known ones filled in, {} already here unchanged, {} refused",
            report.read,
            report.created,
            report.entity,
            report.unchanged,
            report.invalid.len()
        )?;
        if !report.organisations_created.is_empty() {
            writeln!(
                self.stdout,
                "New organisations: {}",
                report.organisations_created.join("; ")
            )?;
        }
        for m in &report.merged {
            if !m.filled.is_empty() {
                writeln!(
                    self.stdout,
                    "  {unit} {}: {} ({}) — added {}",
                    m.at,
                    m.label,
                    m.id,
                    m.filled.join(", ")
                )?;
            }
            for d in &m.differing {
                writeln!(
                    self.stdout,
                    "  {unit} {}: {} ({}) — kept {} \"{}\", the file says \"{}\"",
                    m.at, m.label, m.id, d.field, d.kept, d.offered
                )?;
            }
        }
        for e in &report.invalid {
            let column = e
                .column
                .as_deref()
                .map(|c| format!(", column {c}"))
                .unwrap_or_default();
            let field = e
                .field
                .as_deref()
                .map(|f| format!("{f}: "))
                .unwrap_or_default();
            writeln!(
                self.stdout,
                "  {unit} {}{column}: {field}{}",
                e.at, e.message
            )?;
        }
        Ok(())
    }

    pub fn csv_imported(&mut self, done: &import::CsvReport) -> R {
        if self.json {
            return self.emit_json(done);
        }
        writeln!(
            self.stdout,
            "Read as {}, separated by {}",
            done.encoding,
            match done.delimiter {
                '\t' => "tabs".to_string(),
                d => format!("'{d}'"),
            }
        )?;
        for m in &done.mapping {
            match &m.field {
                Some(f) => writeln!(self.stdout, "  {} {:<28} -> {f}", m.letter, m.column)?,
                None if m.sample.is_some() => writeln!(
                    self.stdout,
                    "  {} {:<28}    (not imported)",
                    m.letter, m.column
                )?,
                None => {}
            }
        }
        self.import_report(&done.report, "row")
    }

    pub fn vcard_imported(&mut self, done: &cards::VcardReport) -> R {
        if self.json {
            return self.emit_json(done);
        }
        self.import_report(&done.report, "card at line")
    }

    pub fn restored(&mut self, done: &backup::Restored) -> R {
        if self.json {
            return self.emit_json(done);
        }
        writeln!(
            self.stdout,
            "Restored {} records ({} changes of history, {} files)",
            done.records, done.changes, done.files
        )?;
        if done.unsent > 0 {
            writeln!(self.stdout, "Note: {} changes of the backed-up device had not reached the sync server; this replica does not send them", done.unsent)?;
        }
        Ok(())
    }

    pub fn rekeyed(&mut self, done: &desk_keys::Rekeyed) -> R {
        if self.json {
            return self.emit_json(done);
        }
        let by = match done.key_source {
            desk_keys::KeySource::Keychain => "a new key in the OS keychain",
            desk_keys::KeySource::Passphrase => "the new passphrase",
        };
        writeln!(
            self.stdout,
            "Re-encrypted the replica ({} records) under {by}; the old key no longer opens it",
            done.records
        )?;
        Ok(())
    }

    pub fn exported(&mut self, path: &std::path::Path, bytes: usize) -> R {
        if self.json {
            return self.emit_json(&json!({"path": path.display().to_string(), "bytes": bytes}));
        }
        writeln!(self.stdout, "Wrote {} ({bytes} bytes)", path.display())?;
        Ok(())
    }

    pub fn error(&mut self, e: &anyhow::Error) -> ExitCode {
        let core = e
            .chain()
            .find_map(|c| c.downcast_ref::<desk_core::Error>())
            .or_else(|| e.chain().find_map(exchange_core_error))
            .or_else(|| {
                e.chain().find_map(|c| match c.downcast_ref::<KeyError>() {
                    Some(KeyError::Core(inner)) => Some(inner),
                    _ => None,
                })
            });
        let kind = match core.map(desk_core::Error::kind) {
            Some(k) => k,
            None if e.chain().any(|c| {
                matches!(
                    c.downcast_ref::<KeyError>(),
                    Some(KeyError::PassphraseNeeded)
                )
            }) =>
            {
                ErrorKind::WrongKey
            }
            // A file that is not what it should be is bad input.
            None if e.chain().any(|c| {
                c.is::<import::ImportError>()
                    || c.is::<desk_exchange::export::ExportError>()
                    || c.is::<backup::BackupError>()
            }) =>
            {
                ErrorKind::Validation
            }
            None => ErrorKind::Internal,
        };
        // A sync error is read once, by desk-sync; its kind of trouble picks the exit code.
        let trouble = e
            .chain()
            .find_map(|c| c.downcast_ref::<desk_sync::SyncError>())
            .map(|s| classify(s).trouble);
        let code = match (kind, trouble) {
            (_, Some(Trouble::SignedOut | Trouble::Revoked)) => 6,
            (_, Some(Trouble::Offline)) => 7,
            (_, Some(Trouble::Upgrade)) => 9,
            (_, Some(Trouble::Refused)) => 8,
            (k, _) => match k {
                ErrorKind::Validation => 3,
                ErrorKind::NotFound => 4,
                ErrorKind::WrongKey => 5,
                _ => 1,
            },
        };
        let message = e
            .chain()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(": ");
        if self.json {
            let v: Value = json!({"error": {"kind": kind, "field": core.and_then(|c| c.field()), "message": message}});
            eprintln!("{v}");
        } else {
            eprintln!("error: {message}");
        }
        ExitCode::from(code)
    }
}

/// The core error inside an import, export or backup error, whose kind then picks the code.
fn exchange_core_error<'a>(
    c: &'a (dyn std::error::Error + 'static),
) -> Option<&'a desk_core::Error> {
    match (
        c.downcast_ref::<import::ImportError>(),
        c.downcast_ref::<desk_exchange::export::ExportError>(),
        c.downcast_ref::<backup::BackupError>(),
    ) {
        (Some(import::ImportError::Replica(e)), _, _)
        | (_, Some(desk_exchange::export::ExportError::Replica(e)), _)
        | (_, _, Some(backup::BackupError::Replica(e))) => Some(e),
        _ => None,
    }
}

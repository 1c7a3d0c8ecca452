//! `desk`: the command line of Secretariat Desk, for back-office and scripted work.
//!
//! What it is: a thin front end that parses arguments, asks for passphrases and passwords, calls
//! one library function per command and prints its answer (aligned text, or JSON with
//! `--json`), with an exit code by kind of error ([`output`]). The record commands are generated
//! from the core's entity descriptors, so every field the core knows has a flag here with the
//! same name (underscores as hyphens).
//!
//! What it is not: a place for rules. Validation, labels and references (`desk-core`'s record
//! view), conflict choices (`desk_core::Take`), brief options and writing the PDF
//! (`desk_brief::print`), the sync account and the reading of sync errors (`desk_sync::account`,
//! `desk_sync::explain`) are the libraries'; the desktop app calls the same functions.

mod output;

use anyhow::anyhow;
use clap::{Arg, ArgAction, ArgMatches, Command};
use desk_core::{demo::Size, Entity, Fields, ListQuery, Replica};
use desk_keys::{KeyError, Keychain, Protect};
use output::Out;
use serde_json::Value;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const RECORD_ENTITIES: &[Entity] = &Entity::ALL;

fn flag(name: &str) -> String {
    name.replace('_', "-")
}

fn field_args(e: Entity, for_add: bool) -> Vec<Arg> {
    e.desc()
        .fields
        .iter()
        .map(|f| {
            let mut help = f.help.to_string();
            if for_add && f.required {
                help.push_str(" [required]");
            }
            if let Some(d) = f.default {
                help.push_str(&format!(" [default: {d}]"));
            }
            if !for_add {
                help.push_str(" (empty to clear)");
            }
            Arg::new(f.name)
                .long(flag(f.name))
                .value_name("VALUE")
                .help(help)
                .num_args(1)
                .allow_hyphen_values(true)
        })
        .collect()
}

fn entity_command(e: Entity) -> Command {
    let d = e.desc();
    let mut list = Command::new("list")
        .about(format!("List {} records", d.name))
        .arg(
            Arg::new("limit")
                .long("limit")
                .value_name("N")
                .value_parser(clap::value_parser!(usize))
                .help("at most N records"),
        )
        .arg(
            Arg::new("offset")
                .long("offset")
                .value_name("N")
                .value_parser(clap::value_parser!(usize))
                .help("skip the first N records"),
        )
        .arg(
            Arg::new("deleted")
                .long("deleted")
                .action(ArgAction::SetTrue)
                .help("include deleted records"),
        );
    if let Some((pf, pe)) = d.parent {
        list = list.arg(
            Arg::new(pf)
                .long(flag(pf))
                .value_name("ID")
                .help(format!("only those of this {}", pe.name())),
        );
    }
    let id_arg = || {
        Arg::new("id")
            .value_name("ID")
            .required(true)
            .help("record id")
    };
    let mut cmd = Command::new(d.cli);
    if matches!(e, Entity::AgendaItem | Entity::Decision) {
        let parent = d.parent.map_or("parent", |(_, p)| p.name());
        cmd = cmd.subcommand(
            Command::new("move")
                .about(format!(
                    "Move a {} right after another of the same {parent}, or to the top (one change; numbers not typed follow the new order)",
                    d.name.replace('_', " ")
                ))
                .arg(id_arg())
                .arg(
                    Arg::new("after")
                        .long("after")
                        .value_name("OTHER")
                        .help(format!("the {} it goes after", d.name.replace('_', " ")))
                        .conflicts_with("top"),
                )
                .arg(
                    Arg::new("top")
                        .long("top")
                        .action(ArgAction::SetTrue)
                        .help("move it to the top"),
                )
                .group(
                    clap::ArgGroup::new("where")
                        .args(["after", "top"])
                        .required(true),
                ),
        );
    }
    if e == Entity::Indicator {
        cmd = cmd.subcommand(
            Command::new("series")
                .about("An indicator's baseline, target and actual values over time (add values with `desk indicator-value add`)")
                .arg(id_arg()),
        );
    }
    if e == Entity::Document {
        cmd = cmd
            .subcommand(
                Command::new("attach")
                    .about("Attach a file to a document (kept by its SHA-256 inside the encrypted replica; sync moves it)")
                    .arg(id_arg())
                    .arg(Arg::new("file").value_name("FILE").required(true)),
            )
            .subcommand(
                Command::new("save")
                    .about("Write a document's file out (verified against its SHA-256)")
                    .arg(id_arg())
                    .arg(Arg::new("output").short('o').long("output").value_name("FILE").required(true)),
            );
    }
    cmd.about(format!(
        "Create, list, show, edit and delete {} records",
        d.name.replace('_', " ")
    ))
    .subcommand_required(true)
    .arg_required_else_help(true)
    .subcommand(
        Command::new("add")
            .about(format!("Create a {}; prints it with its new id", d.name))
            .args(field_args(e, true)),
    )
    .subcommand(list)
    .subcommand(
        Command::new("show")
            .about(format!("Show one {}", d.name))
            .arg(id_arg()),
    )
    .subcommand(
        Command::new("edit")
            .about(format!("Change fields of a {}", d.name))
            .arg(id_arg())
            .args(field_args(e, false)),
    )
    .subcommand(
        Command::new("rm")
            .about(format!("Delete a {} (and its parts)", d.name))
            .arg(id_arg()),
    )
    .subcommand(
        Command::new("restore")
            .about(format!("Bring back a deleted {}", d.name))
            .arg(id_arg()),
    )
}

fn cli() -> Command {
    let mut cmd = Command::new("desk")
        .about("Secretariat Desk: meetings, projects and contacts of a regional secretariat, offline first")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .arg_required_else_help(true)
        .arg(
            Arg::new("data-dir")
                .long("data-dir")
                .env("DESK_DATA_DIR")
                .value_name("DIR")
                .global(true)
                .help("where the replica lives [default: the OS data dir]"),
        )
        .arg(Arg::new("json").long("json").action(ArgAction::SetTrue).global(true).help("machine-readable output"))
        .subcommand(
            Command::new("init")
                .about("Create an empty encrypted replica (does nothing if one exists)")
                .arg(Arg::new("passphrase").long("passphrase").action(ArgAction::SetTrue).help("protect it with a passphrase instead of the OS keychain")),
        )
        .subcommand(
            Command::new("demo").about("Load realistic demo data (once)").arg(
                Arg::new("size")
                    .long("size")
                    .value_parser(["small", "large"])
                    .default_value("small")
                    .help("small: a working secretariat; large: ≥100,000 contacts and 10,000 meetings"),
            ),
        )
        .subcommand(
            Command::new("search")
                .about("Search contacts, organisations, projects and meetings (any script; 2+ letters)")
                .arg(Arg::new("text").required(true).num_args(1..).value_name("TEXT"))
                .arg(Arg::new("limit").long("limit").value_parser(clap::value_parser!(usize)).default_value("20")),
        )
        .subcommand(Command::new("summary").about("Counts of records in the replica"))
        .subcommand(
            Command::new("followup")
                .about("The follow-up tracker: every action item of a framework's meetings, with its meeting, decision, who is responsible, due date and state, evidence and where it was last reported")
                .arg(Arg::new("framework").long("framework").required(true).value_name("NAME").help("the meetings' framework, e.g. ACMECS or \"Mekong-U.S. Partnership\""))
                .arg(Arg::new("overdue").long("overdue").action(ArgAction::SetTrue).conflicts_with("due").help("only overdue ones (same as --due overdue)"))
                .arg(
                    Arg::new("due")
                        .long("due")
                        .value_name("STATE")
                        .value_parser(desk_core::DueFilter::NAMES)
                        .default_value("any")
                        .help("where they stand on the day: any, overdue, due_soon, open (due later or undated), done, pending (not done)"),
                )
                .arg(Arg::new("country").long("country").value_name("COUNTRY").help("only those of this responsible country (code or name)"))
                .arg(Arg::new("status").long("status").value_name("STATUS").help("only those with this status: not_started, ongoing, completed, overtaken"))
                .arg(Arg::new("as-of").long("as-of").value_name("YYYY-MM-DD").help("the day due states are for [default: today]"))
                .arg(Arg::new("before").long("before").value_name("YYYY-MM-DD").help("only meetings that started before this day")),
        )
        .subcommand(
            Command::new("brief")
                .about("Print a meeting's briefing pack to PDF (cover, contents, agenda, briefs, delegations, projects, follow-up, talking points, documents)")
                .arg(Arg::new("meeting").required(true).value_name("MEETING").help("meeting id, or its exact short title or title"))
                .arg(Arg::new("output").short('o').long("output").required(true).value_name("FILE.pdf").help("where to write the PDF (replaced in one step: a failed run leaves any old file as it was)"))
                .arg(
                    Arg::new("paper")
                        .long("paper")
                        .value_parser(|s: &str| named(desk_brief::Paper::named(s), s))
                        .default_value("a4")
                        .help(format!("paper size: {}", desk_brief::Paper::NAMES.join(", "))),
                )
                .arg(
                    Arg::new("sections")
                        .long("sections")
                        .value_name("LIST")
                        .value_delimiter(',')
                        .value_parser(|s: &str| named(desk_brief::SectionKind::named(s), s))
                        .help(format!(
                            "which sections, in pack order: {} [default: all that have data]",
                            desk_brief::SectionKind::NAMES.join(", ")
                        )),
                )
                .arg(Arg::new("classification").long("classification").value_name("MARKING").help("marking for every page [default: the meeting's own]"))
                .arg(Arg::new("buddhist-era").long("buddhist-era").action(ArgAction::SetTrue).help("also give years in the Thai Buddhist Era"))
                .arg(Arg::new("previous").long("previous").value_parser(clap::value_parser!(usize)).default_value("3").help("previous meetings of the framework whose decisions are reprinted"))
                .arg(Arg::new("prepared-for").long("prepared-for").value_name("NAME").allow_hyphen_values(true).help("every page says \"Prepared for NAME, DATE\" (\"\" for none) [default: for a restricted meeting, the signed-in user, else this computer's]")),
        )
        .subcommand(
            Command::new("login")
                .about("Sign this replica in to a sync server (password from DESK_PASSWORD, --password-stdin or a prompt); the token goes to the OS keychain, or inside the encrypted replica where there is none")
                .arg(Arg::new("server").long("server").env("DESK_SERVER").required(true).value_name("URL").help("the desk-server address, e.g. http://127.0.0.1:8730"))
                .arg(Arg::new("user").long("user").required(true).value_name("NAME"))
                .arg(Arg::new("password-stdin").long("password-stdin").action(ArgAction::SetTrue).help("read the password from the first line of standard input")),
        )
        .subcommand(
            Command::new("lease")
                .about("The offline lease: how long this computer may go without reaching the sync server before the app locks (set by the server); `unlock CODE` enters a one-time code from an administrator")
                .subcommand(Command::new("unlock").about("Enter a one-time unlock code (works offline, once, on this computer only)").arg(Arg::new("code").required(true).value_name("CODE"))),
        )
        .subcommand(Command::new("logout").about("Sign out on the sync server (when reachable) and forget this replica's sync token (local work is unaffected)"))
        .subcommand(
            Command::new("sync")
                .about("Send this replica's changes to the sync server and fetch everyone else's (resumable; safe to repeat)")
                .arg(Arg::new("server").long("server").env("DESK_SERVER").value_name("URL").help("the desk-server address [default: the one signed in to]"))
                .arg(Arg::new("verify").long("verify").action(ArgAction::SetTrue).help("then compare a digest of this replica with the server's view of what you may see"))
                .arg(Arg::new("progress").long("progress").action(ArgAction::SetTrue).help("report progress on stderr, one line per batch, even when not on a terminal"))
                .arg(Arg::new("page").long("page").value_parser(clap::value_parser!(usize)).value_name("N").help("changes per request [default: 2000, the most the server sends]"))
                .arg(Arg::new("export").long("export").value_name("FILE").conflicts_with_all(["import", "server", "verify"]).help("no network: write this replica's unsent changes and audit events to FILE, sealed for the server (desk-server import FILE)"))
                .arg(Arg::new("import").long("import").value_name("FILE").conflicts_with_all(["server", "verify"]).help("no network: take the server's bundle for this replica (desk-server export --device ID)")),
        )
        .subcommand(Command::new("undo").about("Undo the last local change (again to go further back)"))
        .subcommand(
            Command::new("conflicts")
                .about("List conflicting edits that arrived by sync, and settle them")
                .arg(Arg::new("all").long("all").action(ArgAction::SetTrue).help("include settled ones"))
                .subcommand(
                    Command::new("resolve")
                        .about("Settle a conflict by keeping one value (written as a new edit)")
                        .arg(Arg::new("id").required(true).value_parser(clap::value_parser!(i64)).help("conflict number"))
                        .arg(Arg::new("take").long("take").value_parser(desk_core::Take::CHOICES).help("mine: the value held here; theirs: the one that arrived; value: the --value given"))
                        .arg(Arg::new("value").long("value").value_name("VALUE").allow_hyphen_values(true).help("a new value to settle on")),
                ),
        )
        .subcommand(
            Command::new("rekey")
                .about("Re-encrypt the replica under a new key (a laptop's key may have been seen): copied under the new key, compared whole, then put in place; nothing is lost, and an interrupted change still opens")
                .arg(Arg::new("passphrase").long("passphrase").action(ArgAction::SetTrue).conflicts_with("keychain").help("protect it with a new passphrase (DESK_NEW_PASSPHRASE, or asked twice)"))
                .arg(Arg::new("keychain").long("keychain").action(ArgAction::SetTrue).help("protect it with a new random key in the OS keychain")),
        )
        .subcommand(import_command())
        .subcommand(export_command())
        .subcommand(Command::new("dump").about("Print a canonical text dump of every record and the search index (for diffs)"))
        .subcommand(
            Command::new("log")
                .about("Show the field-level change log, or with ID one record's history: who changed what, when")
                .arg(Arg::new("record").value_name("ID").help("a record's id: its changes, newest first, with the user of each device that made them (named by the sync server)"))
                .arg(Arg::new("after").long("after").value_parser(clap::value_parser!(i64)).default_value("0").help("entries after this sequence number"))
                .arg(Arg::new("limit").long("limit").value_parser(clap::value_parser!(usize)).default_value("100")),
        );
    for e in RECORD_ENTITIES {
        cmd = cmd.subcommand(entity_command(*e));
    }
    cmd
}

fn restricted_arg() -> Arg {
    Arg::new("include-restricted")
        .long("include-restricted")
        .action(ArgAction::SetTrue)
        .help("also export records classified restricted (refused without it when there are any)")
}

fn output_arg(required: bool) -> Arg {
    Arg::new("output")
        .short('o')
        .long("output")
        .value_name("FILE")
        .required(required)
        .help(if required {
            "where to write the file (replaced in one step)"
        } else {
            "where to write the file (replaced in one step) [default: standard output]"
        })
}

fn import_command() -> Command {
    let file = || Arg::new("file").value_name("FILE").required(true);
    let checks = |c: Command| {
        c.arg(
            Arg::new("dry-run")
                .long("dry-run")
                .action(ArgAction::SetTrue)
                .help("check every row and report; write nothing"),
        )
        .arg(
            Arg::new("skip-invalid")
                .long("skip-invalid")
                .action(ArgAction::SetTrue)
                .help("write the valid rows even when some are not (they are reported)"),
        )
    };
    Command::new("import")
        .about("Bring records in from CSV (Outlook, Google Contacts, Excel), vCard, or a JSON backup: validated as typed ones, one undo step")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(checks(
            Command::new("csv")
                .about("Import contacts (or organisations, projects) from a CSV file: headers are matched to fields, known records are matched and filled, every bad row is reported, and nothing is written unless every row is valid (or --skip-invalid)")
                .arg(file())
                .arg(Arg::new("entity").long("entity").value_parser(["contact", "organisation", "project"]).default_value("contact").help("what each row is"))
                .arg(Arg::new("map").long("map").value_name("COLUMN=FIELD").action(ArgAction::Append).help("fill FIELD from COLUMN (its header or letter); COLUMN= leaves it out"))
                .arg(Arg::new("encoding").long("encoding").value_name("NAME").value_parser(desk_exchange::text::Encoding::NAMES.to_vec()).help("the file's encoding [default: detected: UTF-8 with or without BOM, UTF-16, else Windows-1252]"))
                .arg(Arg::new("delimiter").long("delimiter").value_name("CHAR").value_parser([",", ";", "tab"]).help("the separator [default: detected]")),
        ))
        .subcommand(checks(
            Command::new("vcard")
                .about("Import contacts from a vCard file (2.1, 3.0, 4.0; many cards): known contacts (same e-mail, or same name and organisation) are matched and filled, never duplicated")
                .arg(file()),
        ))
        .subcommand(
            Command::new("json")
                .about("Restore a backup made by `desk export json` into an empty replica (identical records, history and files)")
                .arg(file()),
        )
}

fn export_command() -> Command {
    Command::new("export")
        .about("Write records out: CSV, vCard, iCalendar, XLSX reports, or a JSON backup of the whole replica")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            Command::new("csv")
                .about("Contacts, organisations or projects as CSV (UTF-8 with BOM; the headers `desk import csv` reads back)")
                .arg(Arg::new("what").value_parser(["contacts", "organisations", "projects"]).default_value("contacts"))
                .arg(output_arg(false))
                .arg(restricted_arg()),
        )
        .subcommand(
            Command::new("vcard")
                .about("Every contact as vCards, names in native scripts included")
                .arg(Arg::new("version").long("version").value_parser(["3", "4"]).default_value("4").help("vCard 3.0 (older address books; no languages or gender) or 4.0"))
                .arg(output_arg(false))
                .arg(restricted_arg()),
        )
        .subcommand(
            Command::new("ics")
                .about("Meetings as an iCalendar file (re-exports update the same events): one meeting, a date range, or a framework's meetings")
                .arg(Arg::new("meeting").long("meeting").value_name("MEETING").help("one meeting (id, or its exact short title or title)"))
                .arg(Arg::new("from").long("from").value_name("YYYY-MM-DD").requires("to").help("meetings with a day from this date…"))
                .arg(Arg::new("to").long("to").value_name("YYYY-MM-DD").requires("from").help("…to this date"))
                .arg(Arg::new("framework").long("framework").value_name("NAME").help("every meeting of a framework, e.g. ACMECS"))
                .group(clap::ArgGroup::new("which").args(["meeting", "from", "framework"]).required(true))
                .arg(output_arg(false))
                .arg(restricted_arg()),
        )
        .subcommand(
            Command::new("xlsx")
                .about("Reports as spreadsheets: followup (a framework's action items), participants (a meeting's, by delegation in protocol order), portfolio (the projects)")
                .arg(Arg::new("report").value_parser(["followup", "participants", "portfolio"]).required(true))
                .arg(Arg::new("framework").long("framework").value_name("NAME").help("for followup: the framework, e.g. ACMECS"))
                .arg(Arg::new("meeting").long("meeting").value_name("MEETING").help("for participants: the meeting (id or exact title)"))
                .arg(Arg::new("as-of").long("as-of").value_name("YYYY-MM-DD").help("the day overdue and attention are for [default: today]"))
                .arg(output_arg(true))
                .arg(restricted_arg()),
        )
        .subcommand(
            Command::new("json")
                .about("A backup of the whole replica (every record and its history; with --files, document files too) in a documented JSON format")
                .arg(Arg::new("files").long("files").action(ArgAction::SetTrue).help("include every document file held"))
                .arg(output_arg(false))
                .arg(restricted_arg()),
        )
}

/// A brief option checked by the library when the command line is read (so an unknown name is
/// a usage error naming the choices), kept as the name for [`desk_brief::Choices`].
fn named<T>(parsed: Result<T, desk_brief::Error>, name: &str) -> Result<String, String> {
    parsed.map(|_| name.to_string()).map_err(|e| e.to_string())
}

/// A sync error for [`Out::error`]: a replica error as itself, so its kind picks the exit code.
fn sync_error(e: desk_sync::SyncError) -> anyhow::Error {
    match e {
        desk_sync::SyncError::Replica(e) => e.into(),
        other => other.into(),
    }
}

/// A brief error for [`Out::error`], likewise.
/// The wall clock in milliseconds since 1970.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn brief_error(e: desk_brief::Error) -> anyhow::Error {
    match e {
        desk_brief::Error::Replica(e) => e.into(),
        other => other.into(),
    }
}

fn data_dir(m: &ArgMatches) -> anyhow::Result<PathBuf> {
    if let Some(d) = m.get_one::<String>("data-dir") {
        return Ok(PathBuf::from(d));
    }
    desk_keys::default_data_dir()
        .ok_or_else(|| anyhow!("no data directory on this system; pass --data-dir"))
}

fn passphrase_from_env_or_prompt() -> Option<String> {
    if let Ok(p) = std::env::var("DESK_PASSPHRASE") {
        if !p.is_empty() {
            return Some(p);
        }
    }
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password("Replica passphrase: ").ok();
    }
    None
}

fn new_passphrase() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("DESK_PASSPHRASE") {
        if !p.is_empty() {
            return Ok(p);
        }
    }
    if !std::io::stdin().is_terminal() {
        return Err(anyhow!(
            "set DESK_PASSPHRASE to protect the replica with a passphrase"
        ));
    }
    let a = rpassword::prompt_password("New replica passphrase: ")?;
    let b = rpassword::prompt_password("Repeat passphrase: ")?;
    if a != b {
        return Err(anyhow!("the passphrases differ; nothing was created"));
    }
    if a.chars().count() < 8 {
        return Err(anyhow!(
            "a passphrase needs at least 8 characters; nothing was created"
        ));
    }
    Ok(a)
}

/// The new passphrase of `desk rekey`: DESK_NEW_PASSPHRASE, or asked twice.
fn rekey_passphrase() -> anyhow::Result<String> {
    let p = match std::env::var("DESK_NEW_PASSPHRASE") {
        Ok(p) if !p.is_empty() => p,
        _ if std::io::stdin().is_terminal() => {
            let a = rpassword::prompt_password("New replica passphrase: ")?;
            let b = rpassword::prompt_password("Repeat passphrase: ")?;
            if a != b {
                return Err(anyhow!("the passphrases differ; the key was not changed"));
            }
            a
        }
        _ => {
            return Err(anyhow!(
                "set DESK_NEW_PASSPHRASE to the new passphrase; the key was not changed"
            ))
        }
    };
    if p.chars().count() < 8 {
        return Err(anyhow!(
            "a passphrase needs at least 8 characters; the key was not changed"
        ));
    }
    Ok(p)
}

fn init(dir: &std::path::Path, force_passphrase: bool) -> anyhow::Result<(Replica, bool)> {
    let kc = Keychain::default();
    let env_pass = std::env::var("DESK_PASSPHRASE")
        .ok()
        .filter(|p| !p.is_empty());
    if force_passphrase || env_pass.is_some() {
        let p = new_passphrase()?;
        return Ok(desk_keys::init(
            dir,
            Protect::Passphrase(p),
            &kc,
            &passphrase_from_env_or_prompt,
        )?);
    }
    match desk_keys::init(
        dir,
        Protect::Keychain(&kc),
        &kc,
        &passphrase_from_env_or_prompt,
    ) {
        Err(KeyError::NoKeychain(why)) if std::io::stdin().is_terminal() => {
            eprintln!("No OS keychain is available ({why}); the replica will be protected by a passphrase.");
            let p = new_passphrase()?;
            Ok(desk_keys::init(
                dir,
                Protect::Passphrase(p),
                &kc,
                &passphrase_from_env_or_prompt,
            )?)
        }
        other => Ok(other?),
    }
}

fn open(dir: &std::path::Path) -> anyhow::Result<Replica> {
    Ok(desk_keys::open(
        dir,
        &Keychain::default(),
        &passphrase_from_env_or_prompt,
    )?)
}

/// Collects `--field value` flags into core input (strings; the core parses and validates).
fn collect_fields(e: Entity, m: &ArgMatches) -> Fields {
    let mut f = Fields::new();
    for field in e.desc().fields {
        if let Some(v) = m.get_one::<String>(field.name) {
            f.insert(field.name.to_string(), Value::String(v.clone()));
        }
    }
    f
}

fn run(m: &ArgMatches, out: &mut Out) -> anyhow::Result<()> {
    let dir = data_dir(m)?;
    let (name, sub) = m.subcommand().ok_or_else(|| anyhow!("no command"))?;
    match name {
        "init" => {
            let (r, created) = init(&dir, sub.get_flag("passphrase"))?;
            out.init(&r, created)?;
        }
        "demo" => {
            let size = sub
                .get_one::<String>("size")
                .and_then(|s| Size::parse(s))
                .unwrap_or(Size::Small);
            let (mut r, _) = init(&dir, false)?;
            let json = out.json;
            let mut last = 0;
            let report = r.load_demo(size, &mut |p| {
                if !json && std::io::stderr().is_terminal() && p.done >= last + 20_000 {
                    last = p.done;
                    eprint!("\rloading demo data: {} of ~{} records", p.done, p.total);
                }
            })?;
            if !json && last > 0 {
                eprintln!();
            }
            out.demo(&r, &report)?;
        }
        "search" => {
            let r = open(&dir)?;
            let text: Vec<String> = sub
                .get_many::<String>("text")
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            let limit = sub.get_one::<usize>("limit").copied().unwrap_or(20);
            out.hits(&r.search(&text.join(" "), limit)?)?;
        }
        "summary" => {
            let r = open(&dir)?;
            out.summary(&r.summary()?)?;
        }
        "followup" => {
            let r = open(&dir)?;
            let due = if sub.get_flag("overdue") {
                desk_core::DueFilter::Overdue
            } else {
                sub.get_one::<String>("due")
                    .and_then(|d| desk_core::DueFilter::named(d))
                    .unwrap_or_default()
            };
            let q = desk_core::FollowupQuery {
                framework: sub
                    .get_one::<String>("framework")
                    .cloned()
                    .unwrap_or_default(),
                due,
                owner_country: sub.get_one::<String>("country").cloned(),
                status: sub.get_one::<String>("status").cloned(),
                as_of: sub
                    .get_one::<String>("as-of")
                    .cloned()
                    .unwrap_or_else(|| chrono::Local::now().format("%Y-%m-%d").to_string()),
                before: sub.get_one::<String>("before").cloned(),
            };
            out.followup(&r.followup(&q)?)?;
        }
        "brief" => {
            let mut r = open(&dir)?;
            let raw = sub
                .get_one::<String>("meeting")
                .cloned()
                .unwrap_or_default();
            // An id, or a meeting's exact short title or title (as for `desk meeting show`).
            let id = r.resolve(Entity::Meeting, &raw).unwrap_or(raw);
            let opts = desk_brief::Choices {
                paper: sub.get_one::<String>("paper").cloned(),
                sections: sub
                    .get_many::<String>("sections")
                    .map(|list| list.cloned().collect()),
                classification: sub.get_one::<String>("classification").cloned(),
                buddhist_era: sub.get_flag("buddhist-era"),
                previous_meetings: sub.get_one::<usize>("previous").copied(),
                prepared_for: sub.get_one::<String>("prepared-for").cloned(),
                reader: desk_sync::account::reader_name(&r),
            }
            .options()
            .map_err(brief_error)?;
            let path = PathBuf::from(sub.get_one::<String>("output").cloned().unwrap_or_default());
            let started = std::time::Instant::now();
            let composed =
                desk_brief::compose(&r, &id, &opts).map_err(|e| brief_error(e.into()))?;
            let pack = desk_brief::render(&composed, opts.paper).map_err(brief_error)?;
            desk_brief::write_file(&path, &pack.pdf).map_err(brief_error)?;
            desk_brief::record_made(&mut r, &id, &composed, &pack, &path).map_err(brief_error)?;
            out.brief(&path, &pack, started.elapsed())?;
        }
        "login" => {
            let mut r = open(&dir)?;
            let url = sub.get_one::<String>("server").cloned().unwrap_or_default();
            let user = sub.get_one::<String>("user").cloned().unwrap_or_default();
            let password = if sub.get_flag("password-stdin") {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_string()
            } else if let Ok(p) = std::env::var("DESK_PASSWORD") {
                p
            } else {
                rpassword::prompt_password(format!("Password for {user} on {url}: "))?
            };
            let done =
                desk_sync::account::login(&mut r, &Keychain::default(), &url, &user, &password)
                    .map_err(sync_error)?;
            out.logged_in(
                &done.server,
                &done.user,
                &done.signed.role.as_string(),
                done.signed.expires,
                done.token_in,
            )?;
        }
        "lease" => {
            let mut r = open(&dir)?;
            if let Some(("unlock", u)) = sub.subcommand() {
                let code = u.get_one::<String>("code").cloned().unwrap_or_default();
                let days = desk_sync::lease::unlock(&mut r, &Keychain::default(), &code, now_ms())
                    .map_err(sync_error)?;
                out.line(&format!(
                    "Unlocked for {days} days; the next sync renews the lease"
                ))?;
            }
            let line = match desk_sync::lease::state(&r, now_ms()).map_err(sync_error)? {
                desk_sync::lease::Lease::None => "No offline lease".to_string(),
                desk_sync::lease::Lease::Ok { days_left, days } => {
                    format!("Offline lease of {days} days: {days_left} days left")
                }
                desk_sync::lease::Lease::Warning { hours_left, days } => format!(
                    "Offline lease of {days} days: {hours_left} hours left — sync soon, or the app locks"
                ),
                desk_sync::lease::Lease::Expired { days_over, days } => format!(
                    "Offline lease of {days} days: ended {days_over} days ago — the app stays locked until a sync gets through or an unlock code is entered"
                ),
            };
            out.line(&line)?;
        }
        "logout" => {
            let mut r = open(&dir)?;
            // Best effort: the server stops honouring the token; offline, it is only forgotten
            // here (and lapses on its own, or an administrator revokes the device).
            let done =
                desk_sync::account::logout(&mut r, &Keychain::default()).map_err(sync_error)?;
            out.line("Signed out; the replica and its unsent changes stay here")?;
            if let desk_sync::account::SignedOut::NotTold(e) = done {
                eprintln!("desk: the server was not told ({e}); the token is forgotten here");
            }
        }
        "sync" if sub.contains_id("export") || sub.contains_id("import") => {
            let mut r = open(&dir)?;
            let kc = Keychain::default();
            if let Some(file) = sub.get_one::<String>("export") {
                let (bytes, made) =
                    desk_sync::bundle::export(&mut r, &kc, now_ms() as i64).map_err(sync_error)?;
                desk_brief::write_file(Path::new(file), &bytes).map_err(brief_error)?;
                out.line(&format!(
                    "Wrote bundle {} to {file}: {} changes, {} audit events and {} files for the server (desk-server import)",
                    made.number, made.changes, made.audit, made.files
                ))?;
            } else if let Some(file) = sub.get_one::<String>("import") {
                let bytes = desk_protocol::bundle::read_file(Path::new(file))
                    .map_err(|e| sync_error(desk_sync::SyncError::Invalid(e.to_string())))?;
                let took =
                    desk_sync::bundle::import(&mut r, &kc, &bytes, now_ms()).map_err(sync_error)?;
                out.line(&format!(
                    "Took the server's bundle {}: received {} changes ({} new here) and {} files, removed {}; {} of yours still to send",
                    took.number, took.received, took.applied, took.files, took.purged, took.waiting
                ))?;
            }
        }
        "sync" => {
            let mut r = open(&dir)?;
            let url = match sub.get_one::<String>("server") {
                Some(u) => u.clone(),
                None => desk_sync::account::server(&r)
                    .map_err(sync_error)?
                    .ok_or_else(|| {
                        anyhow!("no sync server: run `desk login --server URL --user NAME` first")
                    })?,
            };
            let token = desk_sync::account::token(&r, &Keychain::default())
                .map_err(sync_error)?
                .ok_or_else(|| {
                    anyhow!("not signed in: run `desk login --server {url} --user NAME` first")
                })?;
            let mut t = desk_sync::http::Http::new(&url, Some(&token))?;
            let lines = sub.get_flag("progress");
            let show = lines || (!out.json && std::io::stderr().is_terminal());
            let (start, end) = if lines { ("", "\n") } else { ("\r", "   ") };
            let page = sub
                .get_one::<usize>("page")
                .copied()
                .unwrap_or(desk_sync::BATCH);
            let synced = desk_sync::sync_with(&mut r, &mut t, page, &mut |p| {
                if show {
                    match p {
                        desk_sync::SyncProgress::Pushed { done, left } => {
                            eprint!("{start}sent {done}, {left} to go{end}")
                        }
                        desk_sync::SyncProgress::Pulled { done, .. } => {
                            eprint!("{start}received {done}{end}")
                        }
                    }
                }
            });
            let report = match synced {
                // Revoked: the replica, its log, its opened files and its keys leave this
                // computer (what it had not sent is lost, by design).
                Err(desk_sync::SyncError::Denied(desk_sync::Denied::Revoked, msg)) => {
                    let wiped = desk_sync::account::wipe(&dir, r, &Keychain::default())?;
                    eprintln!(
                        "desk: this device's access was revoked: its replica and keys were removed from this computer ({} files); {}",
                        wiped.removed.len(),
                        match &wiped.confirmed {
                            Ok(()) => "the server has the wipe on record".to_string(),
                            Err(e) => format!("the server could not be told ({e})"),
                        }
                    );
                    return Err(sync_error(desk_sync::SyncError::Denied(
                        desk_sync::Denied::Revoked,
                        msg,
                    )));
                }
                other => other.map_err(sync_error)?,
            };
            if show && !lines {
                eprintln!();
            }
            desk_sync::lease::contacted(&mut r, now_ms()).map_err(sync_error)?;
            out.synced(&report, r.conflicts(false)?.len())?;
            if sub.get_flag("verify") {
                match desk_sync::verify(&r, &mut t).map_err(sync_error)? {
                    desk_sync::Verification::Same { records } => out.line(&format!(
                        "Verified: the {records} records here are exactly what the server holds for you"
                    ))?,
                    desk_sync::Verification::Behind { .. } => out.line(
                        "Not verified: the server received changes meanwhile; sync again",
                    )?,
                    desk_sync::Verification::Differs { server, here } => {
                        return Err(anyhow!(
                            "this replica differs from the server ({} records here, {} there): \
                             sign in on a new replica, or ask for help",
                            here.records,
                            server.records
                        ))
                    }
                }
            }
        }
        "conflicts" => match sub.subcommand() {
            Some(("resolve", rm)) => {
                let mut r = open(&dir)?;
                let id = rm.get_one::<i64>("id").copied().unwrap_or_default();
                // The library decides which combinations settle a conflict; this says so in
                // terms of the flags.
                let take = desk_core::Take::choose(
                    rm.get_one::<String>("take").map(String::as_str),
                    rm.get_one::<String>("value").cloned().map(Value::String),
                )
                .map_err(|_| {
                    anyhow!("say which value to keep: --take mine, --take theirs, or --value VALUE")
                })?;
                let rec = r.resolve_conflict(id, take)?;
                out.record(&r, &rec)?;
            }
            _ => {
                let r = open(&dir)?;
                out.conflicts(&r.conflicts(sub.get_flag("all"))?)?;
            }
        },
        "undo" => {
            let mut r = open(&dir)?;
            out.undo(r.undo()?.as_ref())?;
        }
        "rekey" => {
            let r = open(&dir)?;
            let current = desk_keys::key_source(&dir)?;
            let to_passphrase = sub.get_flag("passphrase")
                || (!sub.get_flag("keychain") && current == Some(desk_keys::KeySource::Passphrase));
            let kc = Keychain::default();
            let protect = if to_passphrase {
                Protect::Passphrase(rekey_passphrase()?)
            } else {
                Protect::Keychain(&kc)
            };
            let (_, done) = desk_keys::rekey(&dir, r, protect, &kc)?;
            out.rekeyed(&done)?;
        }
        "import" => import(&dir, sub, out)?,
        "export" => export(&dir, sub, out)?,
        "dump" => {
            let r = open(&dir)?;
            out.text(&r.dump()?)?;
        }
        "log" => {
            let r = open(&dir)?;
            let after = sub.get_one::<i64>("after").copied().unwrap_or(0);
            let limit = sub.get_one::<usize>("limit").copied().unwrap_or(100);
            match sub.get_one::<String>("record") {
                Some(id) => {
                    let (entity, entries) = r.history(id, limit)?;
                    out.history(entity, id, &entries)?;
                }
                None => out.changes(&r.changes(after, limit)?)?,
            }
        }
        cli_name => {
            let e = Entity::parse(cli_name).ok_or_else(|| anyhow!("unknown command {cli_name}"))?;
            let (verb, vm) = sub.subcommand().ok_or_else(|| anyhow!("missing verb"))?;
            let mut r = open(&dir)?;
            // An id, or a natural key (acronym, project code, exact name) of a live record.
            let id = |r: &Replica| -> String {
                let raw = vm
                    .get_one::<String>("id")
                    .map(String::as_str)
                    .unwrap_or_default();
                r.resolve(e, raw).unwrap_or_else(|_| raw.to_string())
            };
            match verb {
                "add" => {
                    let rec = r.create(e, &collect_fields(e, vm))?;
                    out.record(&r, &rec)?;
                }
                "list" => {
                    let mut q = ListQuery {
                        limit: vm.get_one::<usize>("limit").copied(),
                        offset: vm.get_one::<usize>("offset").copied().unwrap_or(0),
                        include_deleted: vm.get_flag("deleted"),
                        parent: None,
                        filters: Vec::new(),
                    };
                    if let Some((pf, pe)) = e.desc().parent {
                        if let Some(p) = vm.get_one::<String>(pf) {
                            q.parent = Some(r.resolve(pe, p)?);
                        }
                    }
                    // People read a page at a time: without --limit, text output stops at
                    // PAGE records and says how to see more. JSON output is never cut.
                    const PAGE: usize = 200;
                    let paged = q.limit.is_none() && !out.json;
                    if paged {
                        q.limit = Some(PAGE + 1);
                    }
                    let mut recs = r.list(e, &q)?;
                    let more = paged && recs.len() > PAGE;
                    recs.truncate(if paged { PAGE } else { recs.len() });
                    out.records(&r, &recs)?;
                    if more {
                        eprintln!(
                            "(first {PAGE} shown; use --offset {} for the next page, or --limit N)",
                            q.offset + PAGE
                        );
                    }
                }
                "show" => {
                    let id = id(&r);
                    out.record(&r, &r.get(e, &id)?)?;
                }
                "edit" => {
                    let id = id(&r);
                    let fields = collect_fields(e, vm);
                    if fields.is_empty() {
                        return Err(anyhow!(
                            "nothing to change: give at least one --field value"
                        ));
                    }
                    let rec = r.update(e, &id, &fields)?;
                    out.record(&r, &rec)?;
                }
                "rm" => {
                    let id = id(&r);
                    let n = r.delete(e, &id)?;
                    out.deleted(e, &id, n)?;
                }
                "restore" => {
                    let raw = vm.get_one::<String>("id").cloned().unwrap_or_default();
                    let rec = r.restore(e, &raw)?;
                    out.record(&r, &rec)?;
                }
                "move" => {
                    let id = id(&r);
                    let after = vm
                        .get_one::<String>("after")
                        .map(|raw| r.resolve(e, raw).unwrap_or_else(|_| raw.clone()));
                    let rec = r.move_record(e, &id, after.as_deref())?;
                    out.record(&r, &rec)?;
                }
                "series" => {
                    let id = id(&r);
                    out.series(&r.indicator_series(&id)?)?;
                }
                "attach" => {
                    let id = id(&r);
                    let file =
                        PathBuf::from(vm.get_one::<String>("file").cloned().unwrap_or_default());
                    let data = std::fs::read(&file)
                        .map_err(|err| anyhow!("cannot read {}: {err}", file.display()))?;
                    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("file");
                    let rec = r.attach_file(&id, name, &data)?;
                    out.record(&r, &rec)?;
                }
                "save" => {
                    let id = id(&r);
                    let data = r.document_file(&id)?;
                    let path =
                        PathBuf::from(vm.get_one::<String>("output").cloned().unwrap_or_default());
                    desk_brief::write_file(&path, &data).map_err(brief_error)?;
                    out.line(&format!("Saved {} ({} bytes)", path.display(), data.len()))?;
                }
                other => return Err(anyhow!("unknown verb {other}")),
            }
        }
    }
    Ok(())
}

/// Progress of a long import on stderr, when it is a terminal.
fn import_progress(json: bool) -> impl FnMut(desk_core::Progress) {
    let show = !json && std::io::stderr().is_terminal();
    move |p: desk_core::Progress| {
        if show && p.total >= 5_000 {
            eprint!("\rimporting: {} of {} rows", p.done, p.total);
            if p.done == p.total {
                eprintln!();
            }
        }
    }
}

fn import(dir: &std::path::Path, m: &ArgMatches, out: &mut Out) -> anyhow::Result<()> {
    use desk_exchange::{backup, cards, import, records};
    let (kind, sub) = m.subcommand().ok_or_else(|| anyhow!("missing format"))?;
    let path = PathBuf::from(sub.get_one::<String>("file").cloned().unwrap_or_default());
    let opts = records::Options {
        dry_run: sub
            .try_get_one::<bool>("dry-run")
            .ok()
            .flatten()
            .copied()
            .unwrap_or(false),
        skip_invalid: sub
            .try_get_one::<bool>("skip-invalid")
            .ok()
            .flatten()
            .copied()
            .unwrap_or(false),
    };
    let mut progress = import_progress(out.json);
    match kind {
        "csv" => {
            let bytes = import::read_file(&path)?;
            let mut r = open(dir)?;
            let entity = Entity::parse(
                sub.get_one::<String>("entity")
                    .map_or("contact", String::as_str),
            )
            .unwrap_or(Entity::Contact);
            let map = sub
                .get_many::<String>("map")
                .into_iter()
                .flatten()
                .map(|m| {
                    m.split_once('=')
                        .map(|(c, f)| (c.to_string(), f.to_string()))
                        .ok_or_else(|| anyhow!("--map {m}: write it as COLUMN=FIELD"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let csv_opts = import::CsvOptions {
                encoding: sub
                    .get_one::<String>("encoding")
                    .and_then(|e| desk_exchange::text::Encoding::named(e)),
                delimiter: sub
                    .get_one::<String>("delimiter")
                    .map(|d| match d.as_str() {
                        "tab" => '\t',
                        ";" => ';',
                        _ => ',',
                    }),
                map,
                import: opts,
            };
            let done = import::csv(&mut r, entity, &bytes, &csv_opts, &mut progress)?;
            out.csv_imported(&done)?;
            refuse_if_invalid(&done.report)
        }
        "vcard" => {
            let bytes = import::read_file(&path)?;
            let mut r = open(dir)?;
            let done = cards::import(&mut r, &bytes, opts, &mut progress)?;
            out.vcard_imported(&done)?;
            refuse_if_invalid(&done.report)
        }
        "json" => {
            let bytes = import::read_backup(&path)?;
            let (mut r, _) = init(dir, false)?;
            let b = backup::from_json(&bytes)?;
            let done = backup::restore(&mut r, &b)?;
            out.restored(&done)
        }
        other => Err(anyhow!("unknown format {other}")),
    }
}

/// Bad rows that stopped an import end the command with the bad-input exit code.
fn refuse_if_invalid(report: &desk_exchange::records::Report) -> anyhow::Result<()> {
    if !report.invalid.is_empty() && !report.written && !report.dry_run {
        return Err(desk_core::Error::Validation {
            entity: "import",
            field: "file".into(),
            message: format!(
                "{} of {} rows cannot be imported (listed above); nothing was written. Fix them, or pass --skip-invalid to import the others",
                report.invalid.len(),
                report.read
            ),
        }
        .into());
    }
    Ok(())
}

fn day_arg(m: &ArgMatches, name: &str) -> anyhow::Result<Option<chrono::NaiveDate>> {
    m.get_one::<String>(name)
        .map(|d| {
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| anyhow!("--{name} {d}: not a date YYYY-MM-DD"))
        })
        .transpose()
}

fn export(dir: &std::path::Path, m: &ArgMatches, out: &mut Out) -> anyhow::Result<()> {
    use desk_exchange::{backup, calendar, cards, export, reports, vcard, xlsx};
    let (kind, sub) = m.subcommand().ok_or_else(|| anyhow!("missing format"))?;
    let r = open(dir)?;
    let restricted = sub.get_flag("include-restricted");
    let today = chrono::Local::now().date_naive();
    let bytes: Vec<u8> = match kind {
        "csv" => {
            let entity = match sub.get_one::<String>("what").map(String::as_str) {
                Some("organisations") => Entity::Organisation,
                Some("projects") => Entity::Project,
                _ => Entity::Contact,
            };
            export::csv(&r, entity, restricted)?.into_bytes()
        }
        "vcard" => {
            let version = match sub.get_one::<String>("version").map(String::as_str) {
                Some("3") => vcard::Version::V3,
                _ => vcard::Version::V4,
            };
            cards::export(&r, version, restricted)?.into_bytes()
        }
        "ics" => {
            let sel = if let Some(raw) = sub.get_one::<String>("meeting") {
                calendar::Selection::Meeting(r.resolve(Entity::Meeting, raw).unwrap_or(raw.clone()))
            } else if let Some(f) = sub.get_one::<String>("framework") {
                calendar::Selection::Framework(f.clone())
            } else {
                calendar::Selection::Range {
                    from: day_arg(sub, "from")?.unwrap_or(today),
                    to: day_arg(sub, "to")?.unwrap_or(today),
                }
            };
            calendar::ics(
                &r,
                &sel,
                restricted,
                std::path::Path::new(desk_exchange::ical::SYSTEM_ZONEINFO),
            )?
            .into_bytes()
        }
        "xlsx" => {
            let as_of = day_arg(sub, "as-of")?.unwrap_or(today);
            let book = match sub.get_one::<String>("report").map(String::as_str) {
                Some("followup") => {
                    let f = sub.get_one::<String>("framework").ok_or_else(|| {
                        anyhow!("followup needs --framework NAME, e.g. --framework ACMECS")
                    })?;
                    reports::followup(&r, f, as_of, restricted)?
                }
                Some("participants") => {
                    let raw = sub
                        .get_one::<String>("meeting")
                        .ok_or_else(|| anyhow!("participants needs --meeting MEETING"))?;
                    let id = r.resolve(Entity::Meeting, raw).unwrap_or(raw.clone());
                    reports::participants(&r, &id, restricted)?
                }
                _ => reports::portfolio(&r, as_of, restricted)?,
            };
            xlsx::write(&book)?
        }
        "json" => {
            let b = backup::export(&r, sub.get_flag("files"), restricted)?;
            if b.restricted > 0 && !out.json {
                eprintln!(
                    "desk: this backup holds {} restricted records; keep it as you keep them",
                    b.restricted
                );
            }
            backup::to_json(&b)
        }
        other => return Err(anyhow!("unknown format {other}")),
    };
    match sub
        .get_one::<String>("output")
        .filter(|o| o.as_str() != "-")
    {
        Some(path) => {
            let path = PathBuf::from(path);
            desk_brief::write_file(&path, &bytes).map_err(brief_error)?;
            out.exported(&path, bytes.len())
        }
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&bytes)?;
            Ok(stdout.flush()?)
        }
    }
}

fn main() -> ExitCode {
    let m = cli().get_matches();
    let mut out = Out::new(m.get_flag("json"));
    match run(&m, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => out.error(&e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        super::cli().debug_assert();
    }
}

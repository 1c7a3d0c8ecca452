//! `desk` driven as a process, as scripts and the back office use it.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

struct Desk {
    dir: tempfile::TempDir,
    pass: String,
}

impl Desk {
    fn new() -> Desk {
        let d = Desk {
            dir: tempfile::tempdir().expect("tmp"),
            pass: "correct horse battery".into(),
        };
        let out = d.run(&["init"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        d
    }
    fn data(&self) -> &Path {
        self.dir.path()
    }
    fn run_with(&self, pass: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_desk"))
            .args(args)
            .env("DESK_DATA_DIR", self.data())
            .env("DESK_PASSPHRASE", pass)
            .output()
            .expect("run desk")
    }
    fn run(&self, args: &[&str]) -> Output {
        self.run_with(&self.pass, args)
    }
    /// Runs with --json and expects success; returns the parsed output.
    fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let out = self.run(&a);
        assert!(
            out.status.success(),
            "desk {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json output")
    }
    fn id(&self, args: &[&str]) -> String {
        let v = self.json(args);
        v["id"].as_str().expect("id").to_string()
    }
    fn dump(&self) -> String {
        let out = self.run(&["dump"]);
        assert!(out.status.success());
        String::from_utf8(out.stdout).expect("utf8")
    }
    /// Runs a command that must fail: returns (exit code, stderr).
    fn fails(&self, args: &[&str]) -> (i32, String) {
        let out = self.run(args);
        assert!(!out.status.success(), "desk {args:?} should fail");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }
}

#[test]
fn init_is_idempotent_and_the_file_is_encrypted() {
    let d = Desk::new();
    let again = d.json(&["init"]);
    assert_eq!(again["created"], false);
    let bytes = std::fs::read(d.data().join("replica.db")).expect("db");
    assert!(!bytes.starts_with(b"SQLite format 3"));
    let meta = std::fs::read_to_string(d.data().join("replica.json")).expect("meta");
    assert!(!meta.contains(&d.pass));
}

#[test]
fn wrong_passphrase_is_rejected_and_nothing_changes() {
    let d = Desk::new();
    d.id(&["contact", "add", "--name", "Somchai Jaidee"]);
    let before = d.dump();
    let bytes = std::fs::read(d.data().join("replica.db")).expect("db");
    let out = d.run_with(
        "not the passphrase",
        &["contact", "add", "--name", "Intruder"],
    );
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not open the replica"));
    assert_eq!(
        bytes,
        std::fs::read(d.data().join("replica.db")).expect("db")
    );
    assert_eq!(before, d.dump());
}

#[test]
fn every_entity_can_be_created_edited_listed_and_deleted() {
    let d = Desk::new();
    let org = d.id(&[
        "org",
        "add",
        "--name",
        "Ministry of Foreign Affairs",
        "--acronym",
        "MFA-TH",
        "--country",
        "Thailand",
        "--kind",
        "ministry",
    ]);
    let c = d.json(&[
        "contact",
        "add",
        "--name",
        "Somchai Jaidee",
        "--native-name",
        "สมชาย ใจดี",
        "--org",
        "MFA-TH",
        "--country",
        "TH",
        "--email",
        "somchai@mfa.go.th",
        "--title",
        "Director-General",
    ]);
    assert_eq!(c["org"], org.as_str());
    assert_eq!(c["native_name"], "สมชาย ใจดี");
    let contact = c["id"].as_str().expect("id").to_string();
    let project = d.id(&[
        "project",
        "add",
        "--code",
        "SC-01",
        "--title",
        "Southern Economic Corridor",
        "--pillar",
        "seamless_connectivity",
        "--budget",
        "1,500,000",
        "--countries",
        "KH,TH",
    ]);
    let meeting = d.id(&[
        "meeting",
        "add",
        "--title",
        "ACMECS Senior Officials' Meeting",
        "--start-date",
        "2026-12-08",
        "--end-date",
        "2026-12-09",
        "--host-country",
        "Lao PDR",
    ]);
    let item = d.id(&[
        "agenda",
        "add",
        "--meeting",
        &meeting,
        "--number",
        "1",
        "--title",
        "Adoption of the agenda",
        "--projects",
        "SC-01",
    ]);
    let part = d.id(&[
        "participant",
        "add",
        "--meeting",
        &meeting,
        "--contact",
        &contact,
        "--delegation",
        "TH",
        "--role",
        "head_of_delegation",
    ]);
    let dec = d.id(&[
        "decision",
        "add",
        "--meeting",
        &meeting,
        "--agenda-item",
        &item,
        "--text",
        "The Meeting adopted the agenda.",
    ]);
    let act = d.id(&[
        "action",
        "add",
        "--meeting",
        &meeting,
        "--decision",
        &dec,
        "--title",
        "Circulate the report",
        "--due-date",
        "2027-01-15",
        "--owner",
        "AIS",
    ]);

    let cases: [(&str, &str, &[&str], &str, &str); 8] = [
        (
            "org",
            &org,
            &["--website", "https://www.mfa.go.th"],
            "website",
            "https://www.mfa.go.th",
        ),
        (
            "contact",
            &contact,
            &["--title", "Permanent Secretary"],
            "title",
            "Permanent Secretary",
        ),
        (
            "project",
            &project,
            &["--status", "ongoing"],
            "status",
            "ongoing",
        ),
        (
            "meeting",
            &meeting,
            &["--venue", "National Convention Centre"],
            "venue",
            "National Convention Centre",
        ),
        (
            "agenda",
            &item,
            &["--purpose", "To adopt the agenda"],
            "purpose",
            "To adopt the agenda",
        ),
        (
            "participant",
            &part,
            &["--attendance", "confirmed"],
            "attendance",
            "confirmed",
        ),
        ("decision", &dec, &["--number", "1"], "number", "1"),
        (
            "action",
            &act,
            &["--status", "ongoing"],
            "status",
            "ongoing",
        ),
    ];
    for (cmd, id, edit, field, value) in cases {
        let shown = d.json(&[cmd, "show", id]);
        assert_eq!(shown["id"], id);
        let mut args = vec![cmd, "edit", id];
        args.extend_from_slice(edit);
        let edited = d.json(&args);
        assert_eq!(edited[field], value, "{cmd} edit");
        let listed = d.json(&[cmd, "list"]);
        assert!(
            listed
                .as_array()
                .expect("array")
                .iter()
                .any(|r| r["id"] == id),
            "{cmd} list"
        );
    }
    assert_eq!(
        d.json(&["agenda", "list", "--meeting", &meeting])
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // Text output names the referenced record.
    let shown = d.run(&["contact", "show", &contact]);
    assert!(String::from_utf8_lossy(&shown.stdout).contains("Ministry of Foreign Affairs"));

    // Deleting the meeting takes its agenda, participants, decisions and actions with it.
    let rm = d.json(&["meeting", "rm", &meeting]);
    assert_eq!(rm["records"], 5);
    for cmd in ["meeting", "agenda", "participant", "decision", "action"] {
        assert_eq!(
            d.json(&[cmd, "list"]).as_array().map(Vec::len),
            Some(0),
            "{cmd}"
        );
    }
    for (cmd, id) in [("contact", &contact), ("org", &org), ("project", &project)] {
        d.json(&[cmd, "rm", id]);
        assert_eq!(
            d.json(&[cmd, "list"]).as_array().map(Vec::len),
            Some(0),
            "{cmd}"
        );
        assert_eq!(d.json(&[cmd, "show", id])["deleted"], true);
    }
    d.json(&["contact", "restore", &contact]);
    assert_eq!(
        d.json(&["contact", "list"]).as_array().map(Vec::len),
        Some(1)
    );
}

#[test]
fn search_in_every_script() {
    let d = Desk::new();
    for (name, native) in [
        ("Somchai Jaidee", "สมชาย ใจดี"),
        ("Sok Vanna", "សុខ វណ្ណា"),
        ("Somphone Phommavong", "ສົມພອນ ພົມມະວົງ"),
        ("Aung Kyaw", "အောင်ကျော်"),
        ("Nguyen Thi Thu Ha", "Nguyễn Thị Thu Hà"),
    ] {
        d.id(&["contact", "add", "--name", name, "--native-name", native]);
    }
    d.id(&[
        "org",
        "add",
        "--name",
        "Bộ Kế hoạch và Đầu tư",
        "--acronym",
        "MPI-VN",
    ]);
    d.id(&[
        "project",
        "add",
        "--code",
        "SS-01",
        "--title",
        "Mekong water data sharing platform",
    ]);
    d.id(&[
        "meeting",
        "add",
        "--title",
        "ACMECS Senior Officials' Meeting",
        "--short-title",
        "SOM 2026",
        "--start-date",
        "2026-12-08",
    ]);
    for (query, expect) in [
        ("ใจดี", "Somchai Jaidee"),
        ("วณ្ណ", ""),
        ("វណ្ណា", "Sok Vanna"),
        ("ພົມມະ", "Somphone Phommavong"),
        ("ကျော်", "Aung Kyaw"),
        ("Nguyễn", "Nguyen Thi Thu Ha"),
        ("thu ha", "Nguyen Thi Thu Ha"),
        ("ke hoach", "Bộ Kế hoạch và Đầu tư"),
        ("water", "Mekong water data sharing platform"),
        ("senior off", "ACMECS Senior Officials' Meeting"),
        ("So", "Somchai Jaidee"),
    ] {
        let hits = d.json(&["search", query]);
        let titles: Vec<&str> = hits
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|h| h["title"].as_str())
            .collect();
        if expect.is_empty() {
            assert!(titles.is_empty(), "{query}: {titles:?}");
        } else {
            assert!(
                titles.contains(&expect),
                "{query} should find {expect}: {titles:?}"
            );
        }
    }
}

#[test]
fn bad_input_names_the_field_and_changes_nothing() {
    let d = Desk::new();
    let meeting = d.id(&[
        "meeting",
        "add",
        "--title",
        "SOM",
        "--start-date",
        "2026-12-08",
    ]);
    let contact = d.id(&["contact", "add", "--name", "Somchai Jaidee"]);
    let before = d.dump();
    let missing = "01a20900-0000-7000-8000-000000000000";
    for (args, field) in [
        (vec!["contact", "add", "--name", ""], "contact.name"),
        (
            vec!["contact", "add", "--name", "X", "--email", "somchai-at-mfa"],
            "contact.email",
        ),
        (
            vec!["contact", "add", "--name", "X", "--country", "Atlantis"],
            "contact.country",
        ),
        (
            vec![
                "meeting",
                "add",
                "--title",
                "SOM",
                "--start-date",
                "2026-12-08",
                "--end-date",
                "2026-12-01",
            ],
            "meeting.end_date",
        ),
        (
            vec!["meeting", "edit", &meeting, "--end-date", "2026-01-01"],
            "meeting.end_date",
        ),
        (
            vec![
                "meeting",
                "add",
                "--title",
                "SOM",
                "--start-date",
                "8 December",
            ],
            "meeting.start_date",
        ),
        (
            vec!["agenda", "add", "--meeting", missing, "--title", "x"],
            "agenda_item.meeting",
        ),
        (
            vec![
                "participant",
                "add",
                "--meeting",
                &meeting,
                "--contact",
                &contact,
                "--role",
                "king",
            ],
            "participant.role",
        ),
        (
            vec![
                "project", "add", "--code", "X", "--title", "t", "--budget", "-3",
            ],
            "project.budget",
        ),
        (
            vec!["contact", "edit", &contact, "--email", "bad"],
            "contact.email",
        ),
    ] {
        let (code, err) = d.fails(&args);
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(err.contains(field), "{args:?} should name {field}: {err}");
    }
    let (code, err) = d.fails(&["contact", "show", missing]);
    assert_eq!(code, 4, "{err}");
    let out = d.run(&["--json", "contact", "add", "--name", "X", "--email", "nope"]);
    let e: Value = serde_json::from_slice(&out.stderr).expect("json error");
    assert_eq!(e["error"]["kind"], "validation");
    assert_eq!(e["error"]["field"], "email");
    assert_eq!(before, d.dump(), "a rejected command changed the replica");
}

#[test]
fn demo_loads_once_and_is_searchable() {
    let d = Desk::new();
    let first = d.json(&["demo"]);
    assert_eq!(first["demo"]["already_loaded"], false);
    let counts = &first["summary"]["counts"];
    assert_eq!(counts["project"], 40);
    assert!(counts["meeting"].as_u64() >= Some(8));
    assert!(counts["contact"].as_u64() >= Some(30));
    let again = d.json(&["demo"]);
    assert_eq!(again["demo"]["already_loaded"], true);
    assert_eq!(again["summary"]["counts"], first["summary"]["counts"]);
    let hits = d.json(&["search", "Senior Officials"]);
    assert!(!hits.as_array().expect("array").is_empty());
    let hits = d.json(&["search", "กระทรวง"]);
    assert!(hits
        .as_array()
        .expect("array")
        .iter()
        .any(|h| h["entity"] == "organisation"));
}

#[test]
fn undo_takes_back_the_last_change() {
    let d = Desk::new();
    let id = d.id(&[
        "contact",
        "add",
        "--name",
        "Sok Vanna",
        "--title",
        "Counsellor",
    ]);
    d.json(&["contact", "edit", &id, "--title", "Minister Counsellor"]);
    let u = d.json(&["undo"]);
    assert_eq!(u["records"][0][1], id.as_str());
    assert_eq!(d.json(&["contact", "show", &id])["title"], "Counsellor");
    d.json(&["undo"]);
    assert_eq!(d.json(&["contact", "show", &id])["deleted"], true);
    assert_eq!(d.json(&["undo"]), Value::Null);
}

#[test]
fn conflicts_inbox_starts_empty_and_unknown_ones_are_not_found() {
    let d = Desk::new();
    assert_eq!(d.json(&["conflicts"]), serde_json::json!([]));
    let out = d.run(&["conflicts"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("No conflicts."));
    let (code, err) = d.fails(&["conflicts", "resolve", "7", "--take", "mine"]);
    assert_eq!(code, 4, "{err}");
    let (code, err) = d.fails(&["conflicts", "resolve", "7"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--take mine"), "{err}");
}

#[test]
fn brief_prints_a_pack_and_refuses_what_it_cannot_print() {
    let d = Desk::new();
    d.json(&["demo"]);
    let pdf = d.data().join("som.pdf");
    let pdf_s = pdf.to_string_lossy().to_string();
    // By short title, with options; JSON says where the sections start.
    let v = d.json(&[
        "brief",
        "ACMECS SOM 2026",
        "-o",
        &pdf_s,
        "--paper",
        "letter",
        "--buddhist-era",
        "--classification",
        "restricted",
    ]);
    assert_eq!(v["file"], pdf_s.as_str());
    assert!(v["pages"].as_u64() >= Some(8), "{v}");
    let contents = v["contents"].as_array().expect("contents");
    assert!(contents
        .iter()
        .any(|c| c["title"] == "Delegations and participants" && c["page"].as_u64() > Some(2)));
    let bytes = std::fs::read(&pdf).expect("pdf written");
    assert!(bytes.starts_with(b"%PDF-"));
    assert_eq!(v["bytes"].as_u64(), Some(bytes.len() as u64));
    // Text output: a one-line summary and the sections.
    let out = d.run(&[
        "brief",
        "ACMECS SOM 2026",
        "-o",
        &pdf_s,
        "--sections",
        "agenda,documents",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with(&format!("Wrote {pdf_s} (")), "{text}");
    assert!(
        text.contains("Annotated agenda")
            && text.contains("List of documents")
            && !text.contains("Talking points"),
        "{text}"
    );

    // Unknown meeting: not found (exit 4), the old file untouched.
    let before = std::fs::read(&pdf).expect("read");
    let (code, err) = d.fails(&["brief", "No such meeting", "-o", &pdf_s]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("No such meeting"), "{err}");
    assert_eq!(std::fs::read(&pdf).expect("read"), before);
    // A section name we do not have: usage error naming the choices.
    let (code, err) = d.fails(&[
        "brief",
        "ACMECS SOM 2026",
        "-o",
        &pdf_s,
        "--sections",
        "agenda,minutes",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("minutes") && err.contains("talking_points"),
        "{err}"
    );
    // A folder that does not exist: a clear error, no stray partial file.
    let missing = d.data().join("no/such/dir/pack.pdf");
    let (code, err) = d.fails(&["brief", "ACMECS SOM 2026", "-o", &missing.to_string_lossy()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot write"), "{err}");
}

#[test]
fn brief_refuses_unknown_options_in_the_libraries_words() {
    let d = Desk::new();
    d.json(&["demo"]);
    let pdf = d.data().join("pack.pdf");
    let pdf_s = pdf.to_string_lossy().to_string();
    // The same words the desktop app answers with: desk-brief names the option and the choices.
    for (args, named, choices) in [
        (
            vec!["--sections", "agenda,Minutes"],
            "no section called \"Minutes\"",
            "agenda, briefs, delegations, bios, projects, follow_up, talking_points, documents",
        ),
        (
            vec!["--paper", "A3"],
            "no paper called \"A3\"",
            "a4, letter",
        ),
    ] {
        let mut all = vec!["brief", "ACMECS SOM 2026", "-o", &pdf_s];
        all.extend_from_slice(&args);
        let (code, err) = d.fails(&all);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(named) && err.contains(choices), "{err}");
        assert!(!pdf.exists(), "nothing is written");
    }
    // Nothing half-written is ever left beside the target, even when the write fails.
    let dir = d.data().join("packs");
    std::fs::create_dir(&dir).expect("dir");
    std::fs::create_dir(dir.join("pack.pdf")).expect("a folder where the file would go");
    let (code, err) = d.fails(&[
        "brief",
        "ACMECS SOM 2026",
        "-o",
        &dir.join("pack.pdf").to_string_lossy(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot write"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

#[test]
fn agenda_moves_follow_up_and_indicator_series() {
    let d = Desk::new();
    let meeting = d.id(&[
        "meeting",
        "add",
        "--title",
        "ACMECS SOM 2025",
        "--short-title",
        "SOM 2025",
        "--start-date",
        "2025-08-19",
    ]);
    let items: Vec<String> = ["Opening", "Adoption of the agenda", "Corridor"]
        .iter()
        .map(|t| d.id(&["agenda", "add", "--meeting", &meeting, "--title", t]))
        .collect();
    // One change, and the numbers follow the order.
    let before = d.json(&["log", "--limit", "1000"]).as_array().map(Vec::len);
    d.json(&["agenda", "move", &items[2], "--top"]);
    d.json(&["agenda", "move", &items[0], "--after", &items[1]]);
    let after = d.json(&["log", "--limit", "1000"]).as_array().map(Vec::len);
    assert_eq!(after, before.map(|n| n + 2));
    let listed = d.run(&["agenda", "list", "--meeting", &meeting]);
    let text = String::from_utf8_lossy(&listed.stdout).to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].contains("Corridor") && lines[0].ends_with(" 1"),
        "{text}"
    );
    assert!(
        lines[1].contains("Adoption") && lines[1].ends_with(" 2"),
        "{text}"
    );
    assert!(
        lines[2].contains("Opening") && lines[2].ends_with(" 3"),
        "{text}"
    );
    let (code, err) = d.fails(&["agenda", "move", &items[0]]);
    assert_eq!(code, 2, "{err}");
    let (code, _) = d.fails(&["agenda", "move", &items[0], "--after", &items[0]]);
    assert_eq!(code, 3);

    // The follow-up tracker.
    d.id(&[
        "action",
        "add",
        "--meeting",
        &meeting,
        "--title",
        "Circulate the report",
        "--due-date",
        "2026-01-15",
        "--owner-country",
        "TH",
    ]);
    d.id(&[
        "action",
        "add",
        "--meeting",
        &meeting,
        "--title",
        "Consult partners",
        "--due-date",
        "2027-01-15",
        "--owner-country",
        "VN",
    ]);
    let rows = d.json(&[
        "followup",
        "--framework",
        "ACMECS",
        "--overdue",
        "--as-of",
        "2026-06-01",
    ]);
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["title"], "Circulate the report");
    assert_eq!(rows[0]["due"], "overdue");
    assert_eq!(rows[0]["meeting"]["label"], "SOM 2025");
    let vn = d.json(&[
        "followup",
        "--framework",
        "ACMECS",
        "--country",
        "Viet Nam",
        "--as-of",
        "2026-06-01",
    ]);
    assert_eq!(vn.as_array().map(Vec::len), Some(1));
    let text = d.run(&["followup", "--framework", "ACMECS", "--as-of", "2026-06-01"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("2 action items"));
    let (code, _) = d.fails(&["followup", "--framework", "ACMECS", "--as-of", "June"]);
    assert_eq!(code, 3);

    // Indicator values and the series.
    let project = d.id(&["project", "add", "--code", "SC-01", "--title", "Corridor"]);
    let ind = d.id(&[
        "indicator",
        "add",
        "--project",
        &project,
        "--name",
        "Crossings",
        "--target",
        "12",
        "--actual",
        "3",
        "--as-of",
        "2026-03-31",
    ]);
    d.id(&[
        "indicator-value",
        "add",
        "--indicator",
        &ind,
        "--date",
        "2026-09-30",
        "--value",
        "7",
    ]);
    let series = d.json(&["indicator", "series", &ind]);
    assert_eq!(series["latest"]["value"], 7.0);
    assert_eq!(series["points"].as_array().map(Vec::len), Some(2));
    assert_eq!(series["target"], 12.0);
}

#[test]
fn import_and_export_through_the_command_line() {
    let from = Desk::new();
    assert!(from.run(&["demo"]).status.success());
    let files = tempfile::tempdir().expect("tmp");
    let path = |name: &str| files.path().join(name).display().to_string();
    // CSV out and back in, organisations first, into a new replica.
    for what in ["organisations", "contacts"] {
        let out = from.run(&["export", "csv", what, "-o", &path(&format!("{what}.csv"))]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let into = Desk::new();
    let orgs = into.json(&[
        "import",
        "csv",
        &path("organisations.csv"),
        "--entity",
        "organisation",
    ]);
    assert_eq!(orgs["report"]["written"], true);
    let dry = into.json(&["import", "csv", &path("contacts.csv"), "--dry-run"]);
    let n = from.json(&["summary"])["counts"]["contact"]
        .as_u64()
        .expect("count");
    assert_eq!(dry["report"]["created"].as_u64(), Some(n));
    assert_eq!(
        into.json(&["summary"])["counts"]["contact"],
        0,
        "a dry run writes nothing"
    );
    let done = into.json(&["import", "csv", &path("contacts.csv")]);
    assert_eq!(done["encoding"], "utf-8");
    assert_eq!(
        into.json(&["summary"])["counts"]["contact"].as_u64(),
        Some(n)
    );
    // A file with a bad row: exit code 3, the row and column named, nothing written.
    std::fs::write(
        path("bad.csv"),
        "Name,E-mail Address\nGood,good@example.org\nBad,not-mail\n",
    )
    .expect("write");
    let before = into.dump();
    let out = into.run(&["import", "csv", &path("bad.csv")]);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("row 3, column E-mail Address (B)"), "{text}");
    assert_eq!(into.dump(), before);
    // --map renames a column the detection does not know.
    std::fs::write(
        path("mapped.csv"),
        "Nom;Courriel\nAnne Dupont;anne@example.org\n",
    )
    .expect("write");
    let out = into.json(&[
        "import",
        "csv",
        &path("mapped.csv"),
        "--map",
        "Nom=name",
        "--map",
        "B=email",
    ]);
    assert_eq!(out["report"]["created"], 1);
    // vCard, iCalendar and XLSX out; a backup restored identically.
    for args in [
        vec!["export", "vcard", "-o", &path("c.vcf")],
        vec![
            "export",
            "ics",
            "--framework",
            "ACMECS",
            "-o",
            &path("a.ics"),
        ],
        vec![
            "export",
            "xlsx",
            "followup",
            "--framework",
            "ACMECS",
            "-o",
            &path("f.xlsx"),
        ],
        vec![
            "export",
            "json",
            "--include-restricted",
            "-o",
            &path("b.json"),
        ],
    ] {
        let out = from.run(&args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let vcf = std::fs::read_to_string(path("c.vcf")).expect("vcf");
    assert_eq!(vcf.matches("BEGIN:VCARD").count() as u64, n);
    assert!(std::fs::read_to_string(path("a.ics"))
        .expect("ics")
        .starts_with("BEGIN:VCALENDAR"));
    assert_eq!(&std::fs::read(path("f.xlsx")).expect("xlsx")[..2], b"PK");
    let (code, err) = from.fails(&["export", "json", "-o", &path("refused.json")]);
    assert_eq!(code, 3);
    assert!(err.contains("restricted"), "{err}");
    assert!(!files.path().join("refused.json").exists());
    let restored = Desk::new();
    let out = restored.run(&["import", "json", &path("b.json")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(restored.dump(), from.dump());
    let (code, _) = restored.fails(&["import", "json", &path("b.json")]);
    assert_eq!(code, 3);
    // vCard into the restored replica: every contact is already there.
    let again = restored.json(&["import", "vcard", &path("c.vcf")]);
    assert_eq!(again["report"]["created"], 0);
    assert_eq!(again["report"]["unchanged"].as_u64(), Some(n));
}

#[test]
fn rekey_changes_the_passphrase_and_loses_nothing() {
    let d = Desk::new();
    assert!(d.run(&["demo"]).status.success());
    d.run(&[
        "contact",
        "add",
        "--name",
        "Somchai Jaidee",
        "--native-name",
        "สมชาย ใจดี",
    ]);
    let before = d.dump();
    // The new passphrase must be given, and long enough; nothing changes otherwise.
    let (code, err) = d.fails(&["rekey"]);
    assert_ne!(code, 0);
    assert!(err.contains("DESK_NEW_PASSPHRASE"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_desk"))
        .args(["rekey"])
        .env("DESK_DATA_DIR", d.data())
        .env("DESK_PASSPHRASE", &d.pass)
        .env("DESK_NEW_PASSPHRASE", "a much newer passphrase")
        .output()
        .expect("rekey");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("the old key no longer opens it"));
    // The old passphrase no longer opens it; the new one opens the same records.
    let (code, _) = d.fails(&["summary"]);
    assert_eq!(code, 5);
    let after = d.run_with("a much newer passphrase", &["dump"]);
    assert!(after.status.success());
    assert_eq!(String::from_utf8(after.stdout).expect("utf8"), before);
    assert!(!d.data().join("replica.db.rekey").exists());
}

//! CSV imports into a real replica: Outlook's and Google's exports and hand-made Excel sheets in
//! their encodings and separators; matching and merging; bad files and bad rows refused with
//! row and column, nothing half-applied; dry runs and --skip-invalid.

use desk_core::{Entity, Key, ListQuery, Replica};
use desk_exchange::import::{self, CsvOptions, ImportError};
use desk_exchange::records::Options;
use std::path::PathBuf;

fn fresh() -> (tempfile::TempDir, Replica) {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = Replica::init(&dir.path().join("replica.db"), &Key::Raw([7u8; 32])).expect("init");
    (dir, r)
}

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(p).expect("fixture")
}

fn run(r: &mut Replica, entity: Entity, bytes: &[u8], opts: CsvOptions) -> import::CsvReport {
    import::csv(r, entity, bytes, &opts, &mut |_| {}).expect("import")
}

fn contacts(r: &Replica) -> Vec<desk_core::Record> {
    r.list(Entity::Contact, &ListQuery::default())
        .expect("list")
}

fn by_name<'a>(list: &'a [desk_core::Record], name: &str) -> &'a desk_core::Record {
    list.iter()
        .find(|c| c.str("name") == Some(name))
        .unwrap_or_else(|| panic!("no contact {name}"))
}

#[test]
fn an_outlook_export_becomes_contacts_and_their_organisations() {
    let (_d, mut r) = fresh();
    let out = run(
        &mut r,
        Entity::Contact,
        &fixture("outlook.csv"),
        CsvOptions::default(),
    );
    assert!(out.report.invalid.is_empty(), "{:?}", out.report.invalid);
    assert_eq!((out.report.created, out.report.written), (3, true));
    assert_eq!(out.report.organisations_created.len(), 3);
    let list = contacts(&r);
    let sok = by_name(&list, "Sok Chenda");
    assert_eq!(sok.str("honorific"), Some("H.E."));
    assert_eq!(sok.str("title"), Some("Secretary of State"));
    assert_eq!(sok.str("country"), Some("KH"));
    assert_eq!(sok.str("gender"), Some("male"));
    assert_eq!(
        sok.fields["tags"],
        serde_json::json!(["SOM", "Focal point"])
    );
    assert_eq!(
        sok.str("notes"),
        Some("Prefers meetings in the morning, \"before 10\".")
    );
    let org = r
        .get(Entity::Organisation, sok.str("org").expect("org"))
        .expect("org");
    assert_eq!(
        org.str("name"),
        Some("Ministry of Foreign Affairs and International Cooperation")
    );
    // Middle name joined; Vietnamese intact; the second e-mail kept in the notes.
    let bui = by_name(&list, "Thanh Sơn Bùi");
    assert_eq!(bui.str("notes"), Some("Line one\nLine two"));
    let lao = by_name(&list, "Phonevilay Sisouk");
    assert_eq!(lao.str("phone"), Some("+856 20 5555 1234"));
    assert_eq!(
        lao.str("notes"),
        Some("E-mail 2 Address: p.sisouk@example.org")
    );
    // Imported records are searchable and one undo step.
    assert_eq!(r.search("Chenda", 5).expect("search")[0].id, sok.id);
    r.undo().expect("undo");
    assert!(contacts(&r).is_empty());
    assert_eq!(r.count(Entity::Organisation).expect("count"), 0);
}

#[test]
fn windows_1252_utf16_tabs_semicolons_and_google_formats() {
    let (_d, mut r) = fresh();
    let out = run(
        &mut r,
        Entity::Contact,
        &fixture("outlook-cp1252.csv"),
        CsvOptions::default(),
    );
    assert_eq!(out.encoding, desk_exchange::text::Encoding::Windows1252);
    let list = contacts(&r);
    let jose = by_name(&list, "José Müller");
    assert_eq!(jose.str("title"), Some("Programme Director – Mekong"));

    let out = run(
        &mut r,
        Entity::Contact,
        &fixture("google.csv"),
        CsvOptions::default(),
    );
    assert!(out.report.invalid.is_empty(), "{:?}", out.report.invalid);
    let list = contacts(&r);
    let somchai = by_name(&list, "Somchai Jaidee");
    assert_eq!(somchai.fields["tags"], serde_json::json!(["ACMECS"]));
    assert_eq!(somchai.str("country"), Some("TH"));
    assert_eq!(somchai.str("notes"), Some("สมชาย ใจดี"));

    let out = run(
        &mut r,
        Entity::Contact,
        &fixture("google-old-utf16.txt"),
        CsvOptions::default(),
    );
    assert_eq!(
        (out.encoding, out.delimiter),
        (desk_exchange::text::Encoding::Utf16Le, '\t')
    );
    let list = contacts(&r);
    assert_eq!(
        by_name(&list, "Nguyễn Thị Lan").str("title"),
        Some("Programme Specialist")
    );

    let out = run(
        &mut r,
        Entity::Contact,
        &fixture("excel-semicolon.csv"),
        CsvOptions::default(),
    );
    assert_eq!(out.delimiter, ';');
    let list = contacts(&r);
    let khin = by_name(&list, "Khin Maung");
    assert_eq!(khin.str("native_name"), Some("ခင်မောင်"));
    // "MOFA-MM" named an organisation made by the Google import a moment ago, by its name.
    assert_eq!(
        out.report.organisations_created,
        vec!["Ministry of Foreign Affairs and International Cooperation".to_string()]
    );
}

#[test]
fn reimporting_a_file_changes_nothing_and_a_richer_file_fills_gaps() {
    let (_d, mut r) = fresh();
    run(
        &mut r,
        Entity::Contact,
        &fixture("outlook.csv"),
        CsvOptions::default(),
    );
    let before = r.dump().expect("dump");
    let again = run(
        &mut r,
        Entity::Contact,
        &fixture("outlook.csv"),
        CsvOptions::default(),
    );
    assert_eq!(
        (
            again.report.created,
            again.report.unchanged,
            again.report.written
        ),
        (0, 3, false)
    );
    assert_eq!(r.dump().expect("dump"), before);
    // Same e-mail: a known contact gains what it lacked; a different value is kept and reported.
    let csv = "Name,E-mail Address,Language,Job Title\n\
               Sok Chenda,SOK.CHENDA@mfaic.example.kh,Khmer,Minister\n";
    let out = run(
        &mut r,
        Entity::Contact,
        csv.as_bytes(),
        CsvOptions::default(),
    );
    assert_eq!(out.report.created, 0);
    let m = &out.report.merged[0];
    assert_eq!(m.filled, vec!["languages".to_string()]);
    assert_eq!(m.differing[0].field, "title");
    assert_eq!(m.differing[0].kept, "Secretary of State");
    let sok = by_name(&contacts(&r), "Sok Chenda").clone();
    assert_eq!(sok.str("title"), Some("Secretary of State"));
    assert_eq!(sok.fields["languages"], serde_json::json!(["Khmer"]));
}

#[test]
fn bad_rows_are_all_reported_and_nothing_is_written_unless_asked() {
    let (_d, mut r) = fresh();
    let csv = "Name,Email,Country,Company\n\
               Good One,good@example.org,TH,New Org\n\
               Bad Mail,not-an-address,KH,\n\
               ,nobody@example.org,VN,\n\
               Bad Country,c@example.org,Atlantis,Another New Org\n\
               Good Two,two@example.org,LA,\n";
    let out = run(
        &mut r,
        Entity::Contact,
        csv.as_bytes(),
        CsvOptions::default(),
    );
    let at: Vec<(usize, Option<&str>)> = out
        .report
        .invalid
        .iter()
        .map(|e| (e.at, e.column.as_deref()))
        .collect();
    assert_eq!(
        at,
        [(3, Some("Email (B)")), (4, None), (5, Some("Country (C)"))],
        "{:?}",
        out.report.invalid
    );
    assert!(
        out.report.invalid[2].message.contains("Atlantis"),
        "{:?}",
        out.report.invalid[2]
    );
    assert!(!out.report.written);
    assert_eq!(r.count(Entity::Contact).expect("count"), 0);
    assert_eq!(
        r.count(Entity::Organisation).expect("count"),
        0,
        "the organisation of a refused import is not made"
    );

    // A dry run reports the same and writes nothing, even for a valid file.
    let dry = CsvOptions {
        import: Options {
            dry_run: true,
            skip_invalid: false,
        },
        ..CsvOptions::default()
    };
    let good = "Name,Email\nA Person,a@example.org\n";
    let out = run(&mut r, Entity::Contact, good.as_bytes(), dry);
    assert_eq!(
        (out.report.created, out.report.written, out.report.dry_run),
        (1, false, true)
    );
    assert_eq!(r.count(Entity::Contact).expect("count"), 0);
    assert!(
        r.undo().expect("undo").is_none(),
        "a dry run leaves no undo step"
    );

    // --skip-invalid writes the good rows; the bad row's organisation is rolled back with it.
    let skip = CsvOptions {
        import: Options {
            dry_run: false,
            skip_invalid: true,
        },
        ..CsvOptions::default()
    };
    let out = run(&mut r, Entity::Contact, csv.as_bytes(), skip);
    assert_eq!(
        (
            out.report.created,
            out.report.invalid.len(),
            out.report.written
        ),
        (2, 3, true)
    );
    let orgs: Vec<String> = r
        .list(Entity::Organisation, &ListQuery::default())
        .expect("orgs")
        .iter()
        .filter_map(|o| o.str("name").map(str::to_string))
        .collect();
    assert_eq!(orgs, ["New Org"]);
}

/// Rows are tried in groups under one savepoint (hundreds at a time); a group with a bad row is
/// rolled back and tried again row by row. The outcome must be exactly that of trying each row
/// alone: bad rows anywhere in a group (first, last, two in a row), organisations made by the
/// good rows of a rolled-back group made once, those only bad rows named not at all, and later
/// rows matched against the rows of a group that was rolled back and redone.
#[test]
fn rows_tried_in_groups_come_out_as_if_tried_one_by_one() {
    let n = 3000;
    let bad = [0, 5, 700, 701, 1023, 1500, n - 1];
    // Later rows with the e-mail of an earlier one (one in a rolled-back group): merged.
    let same = [(1100, 30), (2500, 705)];
    let mut csv = String::from("Name,E-mail,Company,Country,Job Title\n");
    for i in 0..n {
        let line = if bad.contains(&i) {
            format!("Bad {i},not-an-address,Bad Org {i},TH,\n")
        } else if let Some((_, of)) = same.iter().find(|(at, _)| *at == i) {
            format!(
                "Person {of},p{of}@example.org,Org {},TH,Director\n",
                of / 50
            )
        } else {
            format!("Person {i},p{i}@example.org,Org {},TH,\n", i / 50)
        };
        csv.push_str(&line);
    }
    let expected_orgs: Vec<String> = (0..n / 50).map(|k| format!("Org {k}")).collect();
    for skip_invalid in [false, true] {
        let (_d, mut r) = fresh();
        let mut done = Vec::new();
        let opts = CsvOptions {
            import: Options {
                dry_run: false,
                skip_invalid,
            },
            ..CsvOptions::default()
        };
        let out = import::csv(&mut r, Entity::Contact, csv.as_bytes(), &opts, &mut |p| {
            done.push(p.done)
        })
        .expect("import");
        let rep = &out.report;
        let refused: Vec<(usize, Option<&str>)> = rep
            .invalid
            .iter()
            .map(|e| (e.at, e.column.as_deref()))
            .collect();
        let want: Vec<(usize, Option<&str>)> =
            bad.iter().map(|i| (i + 2, Some("E-mail (B)"))).collect();
        assert_eq!(refused, want);
        assert_eq!(rep.created, n - bad.len() - same.len());
        let merged: Vec<(usize, Vec<String>)> = rep
            .merged
            .iter()
            .map(|m| (m.at, m.filled.clone()))
            .collect();
        assert_eq!(
            merged,
            [
                (1102, vec!["title".to_string()]),
                (2502, vec!["title".to_string()])
            ]
        );
        assert_eq!(rep.organisations_created, expected_orgs);
        assert_eq!(done, [1000, 2000, 3000, 3000]);
        let (people, orgs) = if skip_invalid {
            (rep.created, expected_orgs.len())
        } else {
            (0, 0)
        };
        assert_eq!(rep.written, skip_invalid);
        assert_eq!(r.count(Entity::Contact).expect("count"), people as u64);
        assert_eq!(r.count(Entity::Organisation).expect("count"), orgs as u64);
        if skip_invalid {
            let p705 = by_name(&contacts(&r), "Person 705").clone();
            assert_eq!(p705.str("title"), Some("Director"));
            let org = r
                .get(Entity::Organisation, p705.str("org").expect("org"))
                .expect("org");
            assert_eq!(org.str("name"), Some("Org 14"));
        }
    }

    // Organisations: two of one name in two countries made in a group that is then rolled back
    // (a bad row after them); redone, a later row of that name and country fills the right one.
    let mut csv = String::from("Name,Acronym,Country\n");
    for i in 0..40 {
        let line = match i {
            3 => "Ministry of Foreign Affairs,,KH\n".to_string(),
            4 => "Ministry of Foreign Affairs,,LA\n".to_string(),
            6 => "Broken,,Atlantis\n".to_string(),
            30 => "Ministry of Foreign Affairs,MOFA-LA,Lao PDR\n".to_string(),
            _ => format!("Agency {i},AG{i},TH\n"),
        };
        csv.push_str(&line);
    }
    let (_d, mut r) = fresh();
    let skip = CsvOptions {
        import: Options {
            dry_run: false,
            skip_invalid: true,
        },
        ..CsvOptions::default()
    };
    let out = run(&mut r, Entity::Organisation, csv.as_bytes(), skip);
    let rep = &out.report;
    assert_eq!(
        rep.invalid.iter().map(|e| e.at).collect::<Vec<_>>(),
        [8],
        "{:?}",
        rep.invalid
    );
    assert_eq!(rep.created, 38);
    assert_eq!(rep.merged.len(), 1);
    assert_eq!(rep.merged[0].filled, ["acronym"]);
    let lao = r
        .get(
            Entity::Organisation,
            &r.resolve(Entity::Organisation, "MOFA-LA").expect("acronym"),
        )
        .expect("get");
    assert_eq!(lao.str("country"), Some("LA"));
    assert_eq!(r.count(Entity::Organisation).expect("count"), 38);
    // A contact row may name its organisation by id.
    let csv = format!("Name,Company\nA,{}\n", lao.id);
    let out = run(
        &mut r,
        Entity::Contact,
        csv.as_bytes(),
        CsvOptions::default(),
    );
    assert_eq!(out.report.created, 1, "{:?}", out.report.invalid);
    assert!(out.report.organisations_created.is_empty());
    assert_eq!(contacts(&r)[0].str("org"), Some(lao.id.as_str()));
}

#[test]
fn broken_files_are_refused_whole_naming_where() {
    let (_d, mut r) = fresh();
    let cases: Vec<(&[u8], &str)> = vec![
        (
            b"Name,Email\nA,a@example.org\nB,\"b@exam",
            "row 3, column B",
        ),
        (b"Name,Email,Name\nA,a@example.org,A\n", "row 1, column C"),
        (b"Name,Email\nA,a@example.org,oops\n", "row 2, column C"),
        (
            b"Name,Email\nJos\xE9,j@example.org\n\x81",
            "line 3, column 1",
        ),
        (
            b"Vorname,Nachname\nA,B\n",
            "no column of this file fills a contact field",
        ),
    ];
    for (bytes, want) in cases {
        let e = import::csv(
            &mut r,
            Entity::Contact,
            bytes,
            &CsvOptions::default(),
            &mut |_| {},
        )
        .expect_err("refused");
        assert!(e.to_string().contains(want), "{e} (wanted {want})");
    }
    // UTF-8 named for a Windows-1252 file: the line and column of the first bad byte.
    let opts = CsvOptions {
        encoding: Some(desk_exchange::text::Encoding::Utf8),
        ..CsvOptions::default()
    };
    let e = import::csv(
        &mut r,
        Entity::Contact,
        &fixture("outlook-cp1252.csv"),
        &opts,
        &mut |_| {},
    )
    .expect_err("not UTF-8");
    assert!(matches!(e, ImportError::Text(ref t) if t.line == 2), "{e}");
    assert_eq!(r.count(Entity::Contact).expect("count"), 0);
}

#[test]
fn a_file_over_the_limit_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.csv");
    let f = std::fs::File::create(&path).expect("create");
    // 50 MB, sparse: the size alone refuses it.
    f.set_len(50 * 1024 * 1024).expect("set_len");
    let e = import::read_file(&path).expect_err("too big");
    assert!(
        e.to_string()
            .contains("is 50 MB; an import takes files up to 40 MB"),
        "{e}"
    );
}

#[test]
fn formula_looking_cells_come_in_as_text() {
    let (_d, mut r) = fresh();
    let csv = "Name,Notes,Phone\n\"'=HYPERLINK(\"\"http://x\"\")\",=1+2,+66 2 123 4567\n";
    let out = run(
        &mut r,
        Entity::Contact,
        csv.as_bytes(),
        CsvOptions::default(),
    );
    assert!(out.report.invalid.is_empty(), "{:?}", out.report.invalid);
    let c = &contacts(&r)[0];
    assert_eq!(c.str("name"), Some("=HYPERLINK(\"http://x\")"));
    assert_eq!(c.str("notes"), Some("=1+2"));
    assert_eq!(c.str("phone"), Some("+66 2 123 4567"));
}

#[test]
fn organisations_and_projects_from_csv() {
    let (_d, mut r) = fresh();
    let orgs = "Name,Acronym,Native name,Type,Country,Website\n\
                Ministry of Foreign Affairs of Thailand,MFA-TH,กระทรวงการต่างประเทศ,ministry,Thailand,https://www.mfa.go.th\n\
                Mekong Institute,MI,,institute,TH,\n";
    let out = run(
        &mut r,
        Entity::Organisation,
        orgs.as_bytes(),
        CsvOptions::default(),
    );
    assert_eq!(out.report.created, 2, "{:?}", out.report.invalid);
    // A contact row naming the organisation by acronym or native name finds it.
    let c = "Name,Organisation\nA,MFA-TH\nB,กระทรวงการต่างประเทศ\nC,mekong institute\n";
    let out = run(&mut r, Entity::Contact, c.as_bytes(), CsvOptions::default());
    assert!(out.report.organisations_created.is_empty());
    let projects = "Project code;Project title;Pillar;Status;Lead country;Countries;Budget;Funding secured;Start date\n\
                    SC-07;Cross-border paperless trade;seamless_connectivity;ongoing;Thailand;KH, LA, TH;1500000;900000;2025-01-01\n\
                    SE-02;Mekong agri value chains;synchronized_economies;proposed;Viet Nam;VN,KH;;;\n";
    let out = run(
        &mut r,
        Entity::Project,
        projects.as_bytes(),
        CsvOptions::default(),
    );
    assert_eq!(out.report.created, 2, "{:?}", out.report.invalid);
    let p = r
        .get(
            Entity::Project,
            &r.resolve(Entity::Project, "SC-07").expect("code"),
        )
        .expect("get");
    assert_eq!(p.fields["countries"], serde_json::json!(["KH", "LA", "TH"]));
    assert_eq!(p.fields["budget"], serde_json::json!(1500000.0));
    // Same code again: matched, not duplicated.
    let out = run(
        &mut r,
        Entity::Project,
        projects.as_bytes(),
        CsvOptions::default(),
    );
    assert_eq!((out.report.created, out.report.unchanged), (0, 2));
    // A bad pillar is named at its column.
    let bad = "code,title,pillar\nX-1,Something,roads\n";
    let out = run(
        &mut r,
        Entity::Project,
        bad.as_bytes(),
        CsvOptions::default(),
    );
    assert_eq!(out.report.invalid[0].column.as_deref(), Some("pillar (C)"));
}

/// Every live record of `entity` as comparable rows: fields with references as labels, no ids.
fn comparable(r: &Replica, entity: Entity) -> Vec<String> {
    let d = entity.desc();
    let mut out: Vec<String> = r
        .list(entity, &ListQuery::default())
        .expect("list")
        .iter()
        .map(|rec| {
            d.fields
                .iter()
                .map(|f| {
                    let v = rec.fields.get(f.name).cloned().unwrap_or_default();
                    match (f.kind, &v) {
                        (desk_core::FieldKind::Ref(t), serde_json::Value::String(id)) => {
                            let target = r.get(t, id).expect("ref");
                            target
                                .str("acronym")
                                .map_or_else(|| r.label(&target), str::to_string)
                        }
                        _ => v.to_string(),
                    }
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    out.sort();
    out
}

#[test]
fn csv_round_trips_organisations_contacts_and_projects_in_six_languages() {
    let (_a, mut from) = fresh();
    from.load_demo(desk_core::demo::Size::Small, &mut |_| {})
        .expect("demo");
    for (name, native) in [
        ("Sok Chenda", "សុខ ចិន្ដា"),
        ("Phonevilay Sisouk", "ພອນວິໄລ ສີສຸກ"),
        ("Aung Kyaw", "အောင်ကျော်"),
        ("Somchai Jaidee", "สมชาย ใจดี"),
        ("Bui Thanh Son", "Bùi Thanh Sơn"),
    ] {
        let f = serde_json::json!({"name": name, "native_name": native, "notes": "=SUM(1,2); \"quoted\"\nsecond line", "tags": ["som", "focal point"]});
        from.create(Entity::Contact, f.as_object().expect("object"))
            .expect("create");
    }
    let (_b, mut into) = fresh();
    for e in [Entity::Organisation, Entity::Contact, Entity::Project] {
        let text = desk_exchange::export::csv(&from, e, true).expect("export");
        let out = run(&mut into, e, text.as_bytes(), CsvOptions::default());
        assert!(
            out.report.invalid.is_empty(),
            "{e:?}: {:?}",
            &out.report.invalid[..1]
        );
        let (got, want) = (comparable(&into, e), comparable(&from, e));
        let missing: Vec<&String> = want.iter().filter(|w| !got.contains(w)).collect();
        let extra: Vec<&String> = got.iter().filter(|g| !want.contains(g)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{e:?}: missing {missing:#?}\nextra {extra:#?}"
        );
        assert_eq!(got.len(), want.len());
    }
}

#[test]
fn rows_imported_after_dry_runs_and_refused_rows_are_searchable() {
    let (_d, mut r) = fresh();
    let csv = "First Name,Last Name,E-mail Address,Courriel,Company\n\
               Somchai,Jaidee,somchai@example.org,,MFA-TH\n\
               Bad,Row,not-mail,,\n\
               Lan,Nguyễn,,lan@example.vn,\n";
    let dry = CsvOptions {
        import: Options {
            dry_run: true,
            skip_invalid: false,
        },
        ..CsvOptions::default()
    };
    run(&mut r, Entity::Contact, csv.as_bytes(), dry);
    run(
        &mut r,
        Entity::Contact,
        csv.as_bytes(),
        CsvOptions::default(),
    );
    let skip = CsvOptions {
        map: vec![("Courriel".into(), "email".into())],
        import: Options {
            dry_run: false,
            skip_invalid: true,
        },
        ..CsvOptions::default()
    };
    let out = run(&mut r, Entity::Contact, csv.as_bytes(), skip);
    assert_eq!(out.report.created, 2);
    for q in ["Nguyễn", "Somchai", "Lan"] {
        let hits = r.search(q, 5).expect("search");
        assert_eq!(hits.len(), 1, "{q}: {hits:?}");
    }
}

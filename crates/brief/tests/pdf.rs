//! Rendered packs checked with the tools a reader's machine has: poppler (`pdftotext`,
//! `pdffonts`, `pdfinfo`, `pdftoppm`) and `qpdf`. The test script installs them.

use desk_brief::layout::{Draw, Layout};
use desk_brief::{
    brief, compose, layout, render, Block, Cell, Options, Pack, Paper, Section, SectionKind,
};
use desk_core::demo::Size;
use desk_core::{Entity, Key, ListQuery, Replica};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

fn demo() -> (tempfile::TempDir, Replica) {
    let dir = tempfile::tempdir().expect("tmp");
    let mut r = Replica::init(&dir.path().join("r.db"), &Key::Raw([5u8; 32])).expect("init");
    r.load_demo(Size::Small, &mut |_| {}).expect("demo");
    (dir, r)
}

fn meeting(r: &Replica, short: &str) -> String {
    r.resolve(Entity::Meeting, short).expect("meeting")
}

fn tool(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| {
        panic!("{cmd} not runnable ({e}); scripts/setup installs poppler-utils and qpdf")
    });
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn save(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write pdf");
    p
}

fn text(pdf: &Path, page: Option<usize>) -> String {
    let p = pdf.to_string_lossy().to_string();
    match page {
        Some(n) => {
            let n = n.to_string();
            tool("pdftotext", &["-raw", "-f", &n, "-l", &n, &p, "-"])
        }
        None => tool("pdftotext", &["-raw", &p, "-"]),
    }
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn page_count(pdf: &Path) -> usize {
    tool("pdfinfo", &[&pdf.to_string_lossy()])
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("page count")
}

#[test]
fn som_pack_reads_back_in_every_script_with_true_contents_numbers() {
    let (dir, r) = demo();
    let id = meeting(&r, "ACMECS SOM 2026");
    let out = brief(&r, &id, &Options::default()).expect("brief");
    let pdf = save(dir.path(), "som.pdf", &out.pdf);
    assert_eq!(page_count(&pdf), out.pages);
    let all = squash(&text(&pdf, None));

    // Every agenda title, and every participant's name in its own script, in logical order.
    let items = r
        .list(
            Entity::AgendaItem,
            &ListQuery {
                parent: Some(id.clone()),
                ..Default::default()
            },
        )
        .expect("agenda");
    assert!(items.len() >= 5);
    for a in &items {
        let t = a.str("title").expect("title");
        assert!(all.contains(&squash(t)), "agenda title missing: {t}");
    }
    let mut scripts = std::collections::BTreeSet::new();
    for d in r.delegations(&id).expect("delegations") {
        for p in &d.members {
            assert!(
                all.contains(&squash(&p.formal_name)),
                "name missing: {}",
                p.formal_name
            );
            if let Some(native) = &p.native_name {
                assert!(
                    all.contains(&squash(native)),
                    "native name missing: {native}"
                );
                if let Some(c) = native.chars().find(|c| !c.is_ascii()) {
                    scripts.insert(desk_brief::fonts::Family::of_script(c));
                }
            }
        }
    }
    // Khmer, Lao, Myanmar, Thai and Vietnamese (Latin with tones) all appeared.
    assert_eq!(scripts.len(), 5, "{scripts:?}");

    // Contents numbers are the pages where sections really start: the section title is the
    // first thing under the running header of that page.
    assert!(out
        .contents
        .iter()
        .any(|c| c.level == 0 && c.title == "Annotated agenda"));
    for c in &out.contents {
        let page = text(&pdf, Some(c.page));
        // Running heads are drawn last, so the page's first line is its first body line.
        let body: Vec<&str> = page.lines().collect();
        let joined = squash(&body.join(""));
        if c.level == 0 {
            assert_eq!(
                squash(body[0]),
                squash(&c.title),
                "page {} does not start with {}",
                c.page,
                c.title
            );
        } else {
            assert!(
                joined.contains(&squash(&c.title)),
                "page {} lacks {}",
                c.page,
                c.title
            );
            // Within its section: after the section's first page, before the next section.
            let section = out
                .contents
                .iter()
                .rfind(|s| s.level == 0 && s.page <= c.page)
                .expect("section");
            let next = out
                .contents
                .iter()
                .find(|s| s.level == 0 && s.page > section.page);
            assert!(
                next.is_none_or(|n| c.page <= n.page),
                "{} outside its section",
                c.title
            );
        }
    }
    // Contents page lists them with those numbers.
    let toc = text(&pdf, Some(2));
    for c in out.contents.iter().filter(|c| c.level == 0) {
        assert!(
            toc.lines().any(|l| l.starts_with(&c.title) && l.trim_end().ends_with(&format!(" {}", c.page))),
            "contents line for {} p. {} not found in:\n{toc}",
            c.title,
            c.page
        );
    }
    // Every page: running header, classification and "Page x of y".
    for n in 1..=out.pages {
        let t = text(&pdf, Some(n));
        assert!(
            t.contains(&format!("Page {n} of {}", out.pages)),
            "page {n} footer"
        );
        assert!(t.contains("INTERNAL"), "page {n} marking");
    }
}

#[test]
fn fonts_are_embedded_subsets_and_the_file_is_sound() {
    let (dir, r) = demo();
    let out = brief(&r, &meeting(&r, "ACMECS SOM 2026"), &Options::default()).expect("brief");
    let pdf = save(dir.path(), "som.pdf", &out.pdf);
    let fonts = tool("pdffonts", &[&pdf.to_string_lossy()]);
    // Past the two header lines of pdffonts' table.
    let rows: Vec<&str> = fonts.lines().collect::<Vec<_>>().split_off(2);
    assert!(rows.len() >= 5, "{fonts}");
    for row in &rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        // name type.. encoding emb sub uni object-id gen
        let n = cols.len();
        assert_eq!(
            &cols[n - 5..n - 2],
            &["yes", "yes", "yes"],
            "not an embedded subset with ToUnicode: {row}"
        );
        assert!(cols[0].contains('+'), "subset tag missing: {row}");
    }
    for family in [
        "NotoSans-",
        "NotoSansKhmer",
        "NotoSansLao",
        "NotoSansMyanmar",
        "NotoSansThai",
    ] {
        assert!(fonts.contains(family), "{family} not used:\n{fonts}");
    }
    tool("qpdf", &["--check", &pdf.to_string_lossy()]);
    // Only the glyphs used: the five regular faces alone are 0.9 MB.
    assert!(out.pdf.len() < 250_000, "{} bytes", out.pdf.len());
}

#[test]
fn same_replica_and_options_give_the_same_bytes() {
    let (_d, r) = demo();
    let id = meeting(&r, "ACMECS SOM 2026");
    let a = brief(&r, &id, &Options::default()).expect("a");
    let b = brief(&r, &id, &Options::default()).expect("b");
    assert!(a.pdf == b.pdf, "two runs differ");
    let letter = brief(
        &r,
        &id,
        &Options {
            paper: Paper::Letter,
            ..Default::default()
        },
    )
    .expect("letter");
    assert!(letter.pdf != a.pdf);
    let dir = tempfile::tempdir().expect("tmp");
    let p = save(dir.path(), "letter.pdf", &letter.pdf);
    assert!(tool("pdfinfo", &[&p.to_string_lossy()]).contains("612 x 792 pts (letter)"));
    let p = save(dir.path(), "a4.pdf", &a.pdf);
    assert!(tool("pdfinfo", &[&p.to_string_lossy()]).contains("595.28 x 841.89 pts (A4)"));
}

#[test]
fn options_choose_sections_marking_and_buddhist_era() {
    let (dir, r) = demo();
    let id = meeting(&r, "ACMECS SOM 2026");
    let opts = Options {
        sections: vec![SectionKind::Agenda, SectionKind::Documents],
        classification: Some("Confidential".into()),
        buddhist_era: true,
        ..Default::default()
    };
    let out = brief(&r, &id, &opts).expect("brief");
    let titles: Vec<&str> = out
        .contents
        .iter()
        .filter(|c| c.level == 0)
        .map(|c| c.title.as_str())
        .collect();
    assert_eq!(titles, ["Annotated agenda", "List of documents"]);
    let pdf = save(dir.path(), "b.pdf", &out.pdf);
    let t = text(&pdf, Some(1));
    assert!(t.contains("CONFIDENTIAL"), "{t}");
    assert!(t.contains("B.E. 2569"), "{t}");
}

fn cell(s: &str) -> Cell {
    Cell::new(s)
}

fn pack(title: &str, sections: Vec<Section>) -> Pack {
    Pack {
        framework: "ACMECS".into(),
        title: title.into(),
        short_title: title.into(),
        dates: "8–9 December 2026".into(),
        venue: "National Convention Centre, Vientiane, Lao PDR".into(),
        classification: "RESTRICTED".into(),
        data_as_of: "Data as of 2026-11-20 09:30 UTC".into(),
        as_of_unix: 1_795_167_000,
        prepared_for: String::new(),
        sections,
    }
}

/// Every drawn thing lies inside the page frame: text between the margins, running heads in
/// their bands, body text above the footer.
fn assert_inside(l: &Layout) {
    let g = l.geometry;
    for (i, p) in l.pages.iter().enumerate() {
        for d in &p.draws {
            if let Draw::Text(t) = d {
                let ctx = || format!("page {}: {:?}", i + 1, t.text);
                assert!(t.x >= g.left - 0.01, "left margin {}", ctx());
                assert!(
                    t.x + t.width <= g.right + 0.01,
                    "right margin {} ({} > {})",
                    ctx(),
                    t.x + t.width,
                    g.right
                );
                assert!(
                    t.baseline - t.ascent >= g.header_top - 0.01,
                    "top {}",
                    ctx()
                );
                assert!(
                    t.baseline + t.descent <= g.footer_bottom + 0.01,
                    "bottom {}",
                    ctx()
                );
                let running = t.baseline < g.top || t.baseline > g.bottom + t.descent + 0.01;
                if !running {
                    assert!(
                        t.baseline + t.descent <= g.bottom + 0.01,
                        "body runs into the footer {}",
                        ctx()
                    );
                }
            }
        }
    }
}

fn body_text(l: &Layout) -> String {
    let g = l.geometry;
    let mut s = String::new();
    for p in &l.pages {
        for d in &p.draws {
            if let Draw::Text(t) = d {
                if t.baseline >= g.top && t.baseline <= g.bottom {
                    s.push_str(&t.text);
                }
            }
        }
    }
    s
}

#[test]
fn long_tables_break_across_pages_and_repeat_their_header() {
    let rows: Vec<Vec<Cell>> = (0..300)
        .map(|i| {
            vec![
                cell(&format!("Row {i:03}")),
                cell("ឯកឧត្តម ប្រាក់ សុខុន"),
                cell("กระทรวงการต่างประเทศ"),
                cell(if i % 7 == 0 {
                    "A much longer entry that has to wrap onto a second line in its narrow column"
                } else {
                    "short"
                }),
            ]
        })
        .collect();
    let p = pack(
        "Table test",
        vec![Section {
            kind: SectionKind::Delegations,
            title: "Delegations and participants".into(),
            blocks: vec![Block::Table {
                columns: vec![
                    "Row".into(),
                    "Khmer".into(),
                    "Thai".into(),
                    "Remarks".into(),
                ],
                rows,
            }],
        }],
    );
    let l = layout(&p, Paper::A4);
    assert_inside(&l);
    let out = render(&p, Paper::A4).expect("render");
    let dir = tempfile::tempdir().expect("tmp");
    let pdf = save(dir.path(), "t.pdf", &out.pdf);
    let start = out.contents[0].page;
    assert!(out.pages >= start + 5, "300 rows span several pages");
    let mut seen = 0;
    for n in start..=out.pages {
        let t = text(&pdf, Some(n));
        assert!(
            t.contains("Row Khmer Thai Remarks"),
            "page {n} lacks the header row:\n{t}"
        );
        for line in t.lines() {
            if let Some(num) = line
                .strip_prefix("Row ")
                .and_then(|r| r.get(..3))
                .and_then(|n| n.parse::<usize>().ok())
            {
                assert_eq!(num, seen, "rows out of order or lost on page {n}");
                seen += 1;
            }
        }
    }
    assert_eq!(seen, 300);
}

#[test]
fn hostile_input_is_wrapped_continued_or_boxed_never_lost_or_clipped() {
    let title = "Extraordinary Meeting ".repeat(95); // ~2,000 characters
    let long_word = "ក".repeat(900) + &"a".repeat(900);
    let p = pack(
        &title,
        vec![Section {
            kind: SectionKind::TalkingPoints,
            title: "Talking points".into(),
            blocks: vec![
                Block::Paragraph {
                    text: long_word.clone(),
                },
                Block::Paragraph {
                    text: "会议议程 and جدول الأعمال".into(),
                },
                Block::Fields {
                    rows: vec![
                        ("Rating".into(), "RED (as of 2026-09-30)".into()),
                        ("Note".into(), "x".repeat(5000)),
                    ],
                },
                Block::Table {
                    columns: vec!["Only".into()],
                    rows: vec![vec![cell(&"Tall cell line.\n".repeat(150))]],
                },
            ],
        }],
    );
    let l = layout(&p, Paper::A4);
    assert_inside(&l);
    let body = squash(&body_text(&l));
    assert!(
        body.contains(&squash(&title)),
        "the whole title is printed (over as many lines as it needs)"
    );
    assert!(
        body.contains(&long_word),
        "a word longer than a line is cut, not dropped"
    );
    assert!(body.contains(&"x".repeat(5000)));
    assert_eq!(
        body.matches("Tallcellline.").count(),
        150,
        "a row taller than a page continues on the next"
    );
    // Running header: one line, shortened with an ellipsis.
    let header = l.pages[1].draws.iter().find_map(|d| match d {
        Draw::Text(t) if t.baseline < l.geometry.top => Some(t.text.clone()),
        _ => None,
    });
    assert!(
        header
            .as_deref()
            .is_some_and(|h| h.ends_with('…') && h.len() < 200),
        "{header:?}"
    );
    // No font for Han or Arabic: a visible box (glyph 0), the text kept for copy and search.
    let boxed = l.pages.iter().flat_map(|p| &p.draws).any(|d| matches!(d, Draw::Text(t) if t.text.contains("会议") && t.glyphs.iter().any(|g| g.gid == 0)));
    assert!(boxed);
    let out = render(&p, Paper::A4).expect("render");
    let dir = tempfile::tempdir().expect("tmp");
    let pdf = save(dir.path(), "h.pdf", &out.pdf);
    tool("qpdf", &["--check", &pdf.to_string_lossy()]);
    assert!(text(&pdf, None).contains("会议议程"));
}

#[test]
fn replica_edge_cases() {
    let (_d, mut r) = demo();
    // Unknown meeting: a clear not-found error.
    let err = brief(&r, "no-such-meeting", &Options::default()).expect_err("unknown id");
    assert!(
        matches!(
            err,
            desk_brief::Error::Replica(desk_core::Error::NotFound { .. })
        ),
        "{err:?}"
    );
    // A meeting with nothing but a title: cover and contents, no empty sections.
    let m = r
        .create(
            Entity::Meeting,
            &fields(json!({"title": "Informal consultation", "start_date": "2027-02-01"})),
        )
        .expect("meeting");
    let out = brief(&r, &m.id, &Options::default()).expect("bare meeting");
    assert!(out.contents.is_empty() || out.contents.iter().all(|c| c.title != "Annotated agenda"));
    assert!(out.pages >= 2);
    // A project with 500 indicators on the agenda: the indicator table runs over pages.
    let p = r.create(Entity::Project, &fields(json!({"code": "SC-99", "title": "Big monitoring framework", "pillar": "seamless_connectivity"}))).expect("project");
    for i in 0..500 {
        r.create(Entity::Indicator, &fields(json!({"project": p.id, "name": format!("Indicator {i}"), "unit": "persons", "baseline": 0, "target": 100 + i, "actual": i}))).expect("indicator");
    }
    r.create(
        Entity::AgendaItem,
        &fields(json!({"meeting": m.id, "number": "1", "title": "Monitoring", "projects": [p.id]})),
    )
    .expect("item");
    let out = brief(&r, &m.id, &Options::default()).expect("500 indicators");
    let projects = out
        .contents
        .iter()
        .find(|c| c.title.starts_with("Background"))
        .expect("projects section");
    assert!(out.pages > projects.page + 5, "{} pages", out.pages);
    let pack = compose(&r, &m.id, &Options::default()).expect("compose");
    assert_inside(&layout(&pack, Paper::A4));
}

fn fields(v: serde_json::Value) -> desk_core::Fields {
    match v {
        serde_json::Value::Object(m) => m,
        _ => desk_core::Fields::new(),
    }
}

/// A fixed pack in all six scripts (no replica, so no load-time stamp): the reference pages.
pub fn specimen() -> Pack {
    let rows = [
        [
            "Cambodia",
            "H.E. Prak Sokhonn",
            "ឯកឧត្តម ប្រាក់ សុខុន",
            "ក្រសួងការបរទេស និងសហប្រតិបត្តិការអន្តរជាតិ",
        ],
        [
            "Lao PDR",
            "H.E. Saleumxay Kommasith",
            "ທ່ານ ສະເຫຼີມໄຊ ກົມມະສິດ",
            "ກະຊວງການຕ່າງປະເທດ",
        ],
        ["Myanmar", "U Than Swe", "ဦးသန်းဆွေ", "နိုင်ငံခြားရေးဝန်ကြီးဌာန"],
        [
            "Thailand",
            "Mr. Maris Sangiampongsa",
            "นายมาริษ เสงี่ยมพงษ์",
            "กระทรวงการต่างประเทศ",
        ],
        [
            "Viet Nam",
            "H.E. Bui Thanh Son",
            "Ông Bùi Thanh Sơn",
            "Bộ Ngoại giao",
        ],
    ]
    .iter()
    .map(|r| r.iter().map(|c| cell(c)).collect())
    .collect();
    pack(
        "Specimen: the six scripts of a briefing pack",
        vec![
            Section {
                kind: SectionKind::Delegations,
                title: "Delegations and participants".into(),
                blocks: vec![Block::Table {
                    columns: vec!["Delegation".into(), "Name".into(), "Name (native script)".into(), "Ministry".into()],
                    rows,
                }],
            },
            Section {
                kind: SectionKind::TalkingPoints,
                title: "Talking points".into(),
                blocks: vec![
                    Block::Heading { level: 1, text: "ខ្មែរ · ລາວ · မြန်မာ · ไทย · Tiếng Việt".into() },
                    Block::Paragraph { text: "ព្រះរាជាណាចក្រកម្ពុជាស្វាគមន៍ការរីកចម្រើននៃគម្រោងអាទិភាពក្រោមផែនការមេ ACMECS និងអំពាវនាវឱ្យមានការរាយការណ៍ទាន់ពេលវេលា។".into() },
                    Block::Paragraph { text: "ສາທາລະນະລັດ ປະຊາທິປະໄຕ ປະຊາຊົນລາວ ຍິນດີຕ້ອນຮັບຄວາມຄືບໜ້າຂອງໂຄງການບູລິມະສິດພາຍໃຕ້ແຜນແມ່ບົດ ACMECS.".into() },
                    Block::Paragraph { text: "မြန်မာနိုင်ငံသည် ACMECS မဟာစီမံကိန်းအောက်ရှိ ဦးစားပေးစီမံကိန်းများ၏ တိုးတက်မှုကို ကြိုဆိုပါသည်။".into() },
                    Block::Paragraph { text: "ประเทศไทยยินดีกับความคืบหน้าของโครงการที่มีความสำคัญลำดับแรกภายใต้แผนแม่บทACMECSและขอให้ประเทศผู้นำรายงานผลอย่างทันท่วงที".into() },
                    Block::Paragraph { text: "Việt Nam hoan nghênh tiến độ của các Dự án ưu tiên thuộc Kế hoạch tổng thể ACMECS và đề nghị các nước chủ trì báo cáo kịp thời.".into() },
                    Block::Fields { rows: vec![("Rating".into(), "AMBER (as of 2026-09-30)".into()), ("Lead country".into(), "Thailand".into())] },
                ],
            },
        ],
    )
}

/// Decodes a PNG to 8-bit grey.
fn grey(path: &Path) -> (u32, u32, Vec<u8>) {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut dec = png::Decoder::new(std::io::BufReader::new(f));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let channels = info.color_type.samples();
    let px = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|c| c[0])
        .collect();
    (info.width, info.height, px)
}

#[test]
fn complex_script_pages_match_their_reference_images() {
    let out = render(&specimen(), Paper::A4).expect("render");
    let dir = tempfile::tempdir().expect("tmp");
    let pdf = save(dir.path(), "specimen.pdf", &out.pdf);
    let refs = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference");
    for page in [3, 4] {
        let prefix = dir.path().join(format!("p{page}"));
        let n = page.to_string();
        tool(
            "pdftoppm",
            &[
                "-r",
                "72",
                "-gray",
                "-png",
                "-singlefile",
                "-f",
                &n,
                "-l",
                &n,
                &pdf.to_string_lossy(),
                &prefix.to_string_lossy(),
            ],
        );
        let got = prefix.with_extension("png");
        let reference = refs.join(format!("specimen-p{page}.png"));
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::create_dir_all(&refs).expect("mkdir");
            std::fs::copy(&got, &reference).expect("update reference");
            continue;
        }
        let (w, h, a) = grey(&got);
        let (rw, rh, b) = grey(&reference);
        assert_eq!((w, h), (rw, rh), "page {page} size");
        let off = a
            .iter()
            .zip(&b)
            .filter(|(x, y)| x.abs_diff(**y) > 64)
            .count();
        let share = off as f64 / a.len() as f64;
        assert!(
            share < 0.002,
            "page {page}: {:.3}% of pixels differ from {} (UPDATE_SNAPSHOTS=1 to accept a deliberate change)",
            share * 100.0,
            reference.display()
        );
    }
}

/// A meeting as it came with real data: 20 agenda items and decisions numbered with no
/// position, people whose native names carry their titles, participants added without a
/// delegation, and long names and positions in the delegations table.
fn real_meeting(r: &mut Replica) -> String {
    let m = r
        .create(
            Entity::Meeting,
            &fields(json!({"title": "Real data SOM", "short_title": "Real SOM", "framework": "ACMECS", "start_date": "2026-12-08", "host_country": "LA"})),
        )
        .expect("meeting");
    let mut numbers: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
    numbers.sort(); // entered in text order: 1, 10, 11, …
    for n in &numbers {
        r.create(
            Entity::AgendaItem,
            &fields(
                json!({"meeting": m.id, "number": n, "title": format!("Agenda topic {n}"),
                "objectives": format!("Objective for topic {n}")}),
            ),
        )
        .expect("item");
        r.create(
            Entity::Decision,
            &fields(json!({"meeting": m.id, "number": n, "text": format!("Decided matter {n}")})),
        )
        .expect("decision");
    }
    let people = [
        json!({"name": "Prasert Boonma", "given_name": "Prasert", "family_name": "Boonma", "native_name": "ดร.ประเสริฐ บุญมา", "country": "TH", "title": "Minister-Counsellor"}),
        json!({"name": "Dr Narong Srisuk", "native_name": "ณรงค์ ศรีสุข", "country": "TH", "title": "Director"}),
        json!({"name": "Bouasone Vongsa", "given_name": "Bouasone", "family_name": "Vongsa", "native_name": "ທ່ານນາງ ບົວສອນ ວົງສາ", "gender": "female", "country": "LA", "title": "Deputy Director-General"}),
        json!({"name": "Phonxay Sisane", "given_name": "Phonxay", "family_name": "Sisane", "native_name": "ທ່ານ ພອນໄຊ ສີແສນ", "gender": "male", "country": "LA", "title": "Director"}),
        json!({"name": "Sok Vanna", "given_name": "Vanna", "family_name": "Sok", "native_name": "សម្តេច សុខ វណ្ណា", "honorific": "Samdech", "country": "KH", "title": "Deputy Prime Minister"}),
        json!({"name": "Nguyen Van Thanhphuongkhanh", "given_name": "Van Thanhphuongkhanh", "family_name": "Nguyen", "native_name": "Nguyễn Văn Thanhphuongkhanh", "honorific": "H.E.", "gender": "male", "country": "VN", "title": "Ambassador Extraordinary and Plenipotentiary of the Socialist Republic of Viet Nam to the Kingdom of Thailand"}),
        json!({"name": "Maris Sangiampongsawattanakul", "given_name": "Maris", "family_name": "Sangiampongsawattanakul", "native_name": "มาริษ เสงี่ยมพงษ์วัฒนากุล", "honorific": "Mr.", "country": "TH", "title": "Deputy Permanent Secretary, Ministry of Foreign Affairs, responsible for Mekong cooperation frameworks"}),
    ];
    for p in people {
        let c = r.create(Entity::Contact, &fields(p)).expect("contact");
        r.create(
            Entity::Participant,
            &fields(json!({"meeting": m.id, "contact": c.id})),
        )
        .expect("participant");
    }
    // Partners and the secretariat: long delegation labels.
    let org = r
        .create(
            Entity::Organisation,
            &fields(json!({"name": "Mekong Institute for Regional Development Cooperation", "kind": "development_partner"})),
        )
        .expect("org");
    let c = r
        .create(
            Entity::Contact,
            &fields(json!({"name": "Watcharas Leelawath", "honorific": "Dr", "org": org.id, "title": "Executive Director"})),
        )
        .expect("contact");
    r.create(
        Entity::Participant,
        &fields(json!({"meeting": m.id, "contact": c.id, "delegation_org": org.id, "role": "development_partner"})),
    )
    .expect("participant");
    let c = r
        .create(
            Entity::Contact,
            &fields(json!({"name": "Siriporn Chantharasombat", "honorific": "Ms.", "country": "TH", "title": "Programme Officer, ACMECS Interim Secretariat"})),
        )
        .expect("contact");
    r.create(
        Entity::Participant,
        &fields(json!({"meeting": m.id, "contact": c.id, "role": "secretariat"})),
    )
    .expect("participant");
    m.id
}

#[test]
fn real_data_pack_orders_numbers_addresses_people_and_keeps_names_whole() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut r = Replica::init(&dir.path().join("r.db"), &Key::Raw([6u8; 32])).expect("init");
    let id = real_meeting(&mut r);
    let out = brief(&r, &id, &Options::default()).expect("brief");
    let pdf = save(dir.path(), "real.pdf", &out.pdf);
    let raw = text(&pdf, None);
    let all = squash(&raw);

    // 1. The annotated agenda and the briefs in natural order: 1, 2, …, 20.
    let at = |needle: &str, from: usize| {
        all[from..]
            .find(&squash(needle))
            .map(|i| i + from)
            .unwrap_or_else(|| panic!("{needle} missing after {from}"))
    };
    let agenda = at(
        "Annotated agenda",
        all.find("Contents").map_or(0, |c| c + 1),
    );
    let mut pos = agenda;
    for n in 1..=20 {
        pos = at(&format!("{n}. Agenda topic {n}"), pos);
    }
    let briefs = at("Objective for topic 1", agenda);
    let mut pos = briefs;
    for n in 2..=20 {
        pos = at(&format!("Objective for topic {n}"), pos);
    }

    // 2. Forms of address: titles in the native name are kept, never doubled or contradicted;
    // a doctor is a doctor.
    for good in [
        "ดร.ประเสริฐ บุญมา",
        "ดร.ณรงค์ ศรีสุข",
        "ທ່ານນາງ ບົວສອນ ວົງສາ",
        "ທ່ານ ພອນໄຊ ສີແສນ",
        "សម្តេច សុខ វណ្ណា",
    ] {
        assert!(all.contains(&squash(good)), "{good} missing");
    }
    for bad in ["คุณดร.", "ທ່ານທ່ານ", "ທ່ານ ທ່ານນາງ", "លោកសម្តេច", "คุณณรงค์"]
    {
        assert!(!all.contains(&squash(bad)), "{bad} printed");
    }

    // 3. Nobody from a member country under "Secretariat and others": only the secretariat.
    let others = &all[all.find("Secretariatandothers").expect("secretariat")..];
    assert!(
        others.starts_with("SecretariatandothersMs.SiripornChantharasombat"),
        "{others}"
    );

    // 4. Long names wrap at spaces: each family name is whole on one line.
    for family in [
        "Sangiampongsawattanakul",
        "เสงี่ยมพงษ์วัฒนากุล",
        "Thanhphuongkhanh",
        "Chantharasombat",
        "Leelawath",
    ] {
        assert!(
            raw.lines().any(|l| l.contains(family)),
            "{family} split across lines:\n{raw}"
        );
    }
    let pack = compose(&r, &id, &Options::default()).expect("compose");
    assert_inside(&layout(&pack, Paper::A4));

    // The decisions, reprinted in the next meeting's pack, in natural order too.
    let next = r
        .create(
            Entity::Meeting,
            &fields(
                json!({"title": "Next SOM", "framework": "ACMECS", "start_date": "2027-06-01"}),
            ),
        )
        .expect("next");
    let out = brief(&r, &next.id, &Options::default()).expect("next brief");
    let pdf = save(dir.path(), "next.pdf", &out.pdf);
    let all = squash(&text(&pdf, None));
    let mut pos = 0;
    for n in 1..=20 {
        pos = all[pos..]
            .find(&squash(&format!("{n}. Decided matter {n}")))
            .map(|i| i + pos)
            .unwrap_or_else(|| panic!("decision {n} out of order"));
    }
}

/// A delegations table as the demo SOM has it: delegation labels on each group's first row
/// only, names, positions and roles on every row. The width goes by how much text a column
/// holds: the label column gives way (its labels may wrap at spaces) rather than keeping its
/// natural width while names wrap beside it.
#[test]
fn delegation_column_gives_way_to_the_names() {
    let groups = [
        (
            "Cambodia",
            ["H.E. Chea Rithy", "Mr. Kim Pisey", "Mr. Heng Sophea"],
        ),
        (
            "Lao PDR",
            [
                "H.E. Sengdao Keomany",
                "Dr Phonesavanh Keomany",
                "Dr Sengdao Keomany",
            ],
        ),
        (
            "Myanmar",
            ["Daw Min Aung", "Daw Min Hlaing Htun", "Daw Kyaw Su Thant"],
        ),
        (
            "Thailand",
            [
                "H.E. Narong Saengthong",
                "Mr. Pranee Wongsawat",
                "Dr Narong Srisuk",
            ],
        ),
        (
            "Secretariat and others",
            ["Emily Carter", "Min-jun Kim", "Hiroshi Tanaka"],
        ),
    ];
    let mut rows = Vec::new();
    for (label, names) in groups {
        for (i, n) in names.iter().enumerate() {
            rows.push(vec![
                cell(if i == 0 { label } else { "" }),
                cell(n),
                cell("ທ່ານ ແສງດາວ ແກ້ວມະນີ"),
                cell(if i == 0 {
                    "Permanent Secretary, SOM Leader for ACMECS"
                } else {
                    "Director-General, Department of ASEAN Affairs"
                }),
                cell(if i == 0 {
                    "head of delegation"
                } else {
                    "alternate"
                }),
            ]);
        }
    }
    let p = pack(
        "Delegations",
        vec![Section {
            kind: SectionKind::Delegations,
            title: "Delegations and participants".into(),
            blocks: vec![Block::Table {
                columns: [
                    "Delegation",
                    "Name",
                    "Name (native script)",
                    "Position",
                    "Role",
                ]
                .map(String::from)
                .to_vec(),
                rows,
            }],
        }],
    );
    let l = layout(&p, Paper::A4);
    assert_inside(&l);
    let texts: Vec<(&str, f32)> = l
        .pages
        .iter()
        .flat_map(|p| &p.draws)
        .filter_map(|d| match d {
            Draw::Text(t) => Some((t.text.as_str(), t.x)),
            _ => None,
        })
        .collect();
    let x = |s: &str| {
        texts
            .iter()
            .find(|(t, _)| *t == s || (s.ends_with('(') && t.starts_with(s)))
            .map(|(_, x)| *x)
            .unwrap_or_else(|| panic!("{s} not drawn: {texts:?}"))
    };
    let delegation = x("Name") - x("Delegation");
    let name = x("Name (") - x("Name");
    assert!(
        delegation < name,
        "the delegation column ({delegation}) is wider than the names' ({name})"
    );
    // Every name's words whole; labels and names break at spaces only.
    for (label, names) in groups {
        for word in names.iter().chain([&label]).flat_map(|n| n.split(' ')) {
            assert!(
                texts.iter().any(|(t, _)| t.split(' ').any(|w| w == word)),
                "{word} split: {texts:?}"
            );
        }
    }
}

#[test]
fn a_restricted_meeting_s_pack_says_on_every_page_who_it_was_prepared_for() {
    let (dir, mut r) = demo();
    let id = meeting(&r, "ACMECS SOM 2026");
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 7);
    let opts = |prepared_for: Option<&str>| Options {
        prepared_for: prepared_for.map(str::to_string),
        reader: Some("Somchai Jaidee".into()),
        printed_on: day,
        ..Options::default()
    };
    let every_page = |pdf: &Path, line: &str| {
        let pages = page_count(pdf);
        assert!(pages > 3);
        (1..=pages).all(|p| {
            let t = text(pdf, Some(p));
            let ok = squash(&t).contains(&squash(line));
            if !ok {
                eprintln!(
                    "page {p} lacks {line}:\n{}",
                    t.lines().take(4).collect::<Vec<_>>().join("\n")
                );
            }
            ok
        })
    };
    let line = "Prepared for Somchai Jaidee, 7 December 2026";
    // Not restricted: no line unless asked for.
    let plain = save(
        dir.path(),
        "plain.pdf",
        &brief(&r, &id, &opts(None)).expect("pack").pdf,
    );
    assert!(!text(&plain, None).contains("Prepared for"));
    let asked = save(
        dir.path(),
        "asked.pdf",
        &brief(&r, &id, &opts(Some("Ms Phonevilay Sisouk")))
            .expect("pack")
            .pdf,
    );
    assert!(every_page(
        &asked,
        "Prepared for Ms Phonevilay Sisouk, 7 December 2026"
    ));
    // Restricted: the one printing it, on every page, unless blanked.
    let mut fields = desk_core::Fields::new();
    fields.insert("classification".into(), json!("restricted"));
    r.update(Entity::Meeting, &id, &fields).expect("restrict");
    let marked = save(
        dir.path(),
        "marked.pdf",
        &brief(&r, &id, &opts(None)).expect("pack").pdf,
    );
    assert!(every_page(&marked, line));
    assert!(every_page(&marked, "RESTRICTED"));
    let blank = save(
        dir.path(),
        "blank.pdf",
        &brief(&r, &id, &opts(Some(""))).expect("pack").pdf,
    );
    assert!(!text(&blank, None).contains("Prepared for"));
}

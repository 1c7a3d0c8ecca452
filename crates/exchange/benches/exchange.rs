//! Exchange benchmarks (a bench binary; run: `cargo bench -p desk-exchange --bench exchange`).
//!
//! 1. Import of 100,000 contacts from an Outlook-style CSV (generated here: names in Khmer,
//!    Lao, Myanmar, Thai and Vietnamese script and in plain Latin, ~2,000 companies, unique
//!    e-mails, some notes with quotes and line breaks) into an empty replica, through
//!    `desk_exchange::import::csv`: time and peak memory. Each run is a child process of this
//!    binary (the same executable, `BENCH_CHILD=import`) importing into a new replica, so its
//!    peak RSS (`VmHWM`) is the import's own; five runs, min and median. Each run is paired
//!    with the floor under it, the same records written by the core alone
//!    (`Replica::create_many`, `BENCH_CHILD=core`), and the median of the per-pair ratios is
//!    printed: this VM's speed drifts by a third through a day, the ratio much less. Then the
//!    same file as a dry run. Targets: under 5 s, peak RSS under 300 MB.
//! 2. vCard 4.0 export of the large demo replica's contacts (≥100k): `cards::export`.
//!    Target: under 3 s.
//! 3. The follow-up matrix to XLSX (`reports::followup` then `xlsx::write`) of the large demo's
//!    framework whose action-item count is nearest 2,000. Target: under 1 s.
//!
//! The large demo replica takes minutes to make, so it is kept between runs beside the build
//! (`<target dir>/bench-data/exchange-large.db`, or in `BENCH_DATA_DIR`); `BENCH_FRESH=1` makes
//! it again (after a change to the demo or the schema's data).
//!
//! `BENCH_QUICK=1` runs on tiny data (2,000 contacts, the small demo) for a smoke run in a debug
//! build (`BENCH_QUICK=1 cargo test -p desk-exchange --bench exchange`); without `BENCH_QUICK`, a
//! run without cargo bench's `--bench` argument (that is, `cargo test --bench exchange`) is a
//! quick one too, and `BENCH_QUICK=0` forces the full run. `BENCH_ONLY=import|vcard|xlsx` runs one
//! part; `BENCH_RUNS=N` sets the number of import runs.

use desk_core::demo::Size;
use desk_core::{Entity, FollowupQuery, Key, Replica};
use desk_exchange::import::CsvOptions;
use desk_exchange::records::Options;
use desk_exchange::vcard::Version;
use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn Error>>;

fn key() -> Key {
    Key::Raw([7u8; 32])
}

// ---------------------------------------------------------------------------------------------
// The CSV file

/// A small deterministic generator (xorshift), so every run imports the same file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// One script's people: (native, romanised) given, middle and family names, the countries they
/// work for (as Outlook writes them), the e-mail domain and telephone prefix.
struct Group {
    given: &'static [(&'static str, &'static str)],
    family: &'static [(&'static str, &'static str)],
    /// Middle names (Vietnamese), in Outlook's "Middle Name" column.
    middle: &'static [(&'static str, &'static str)],
    /// Whether the native names are in another script than Latin (then a row may be either).
    native_script: bool,
    countries: &'static [&'static str],
    domain: &'static str,
    phone: &'static str,
    /// Ministries by their native names (some rows' "Company").
    native_orgs: &'static [&'static str],
}

const GROUPS: [Group; 6] = [
    Group {
        given: &[
            ("สมชาย", "Somchai"),
            ("ศิริพร", "Siriporn"),
            ("อนุชา", "Anucha"),
            ("วันเพ็ญ", "Wanphen"),
            ("กมลวรรณ", "Kamonwan"),
            ("ธนากร", "Thanakorn"),
            ("สุดารัตน์", "Sudarat"),
            ("ประเสริฐ", "Prasert"),
            ("สมศักดิ์", "Somsak"),
            ("นภา", "Napha"),
            ("วิชัย", "Wichai"),
            ("พรทิพย์", "Pornthip"),
            ("สุรชัย", "Surachai"),
            ("อรุณี", "Arunee"),
            ("ชัยวัฒน์", "Chaiwat"),
            ("มาลี", "Malee"),
        ],
        family: &[
            ("ใจดี", "Jaidee"),
            ("วงศ์สวัสดิ์", "Wongsawat"),
            ("ศรีสุข", "Srisuk"),
            ("บุญมา", "Boonma"),
            ("แสงทอง", "Saengthong"),
            ("พรหมมา", "Phromma"),
            ("เสงี่ยมพงษ์", "Sangiampongsa"),
            ("สุขสวัสดิ์", "Suksawat"),
            ("ทองดี", "Thongdee"),
            ("รุ่งเรือง", "Rungruang"),
            ("ศรีวงศ์", "Sriwong"),
            ("แก้วมณี", "Kaewmanee"),
        ],
        middle: &[],
        native_script: true,
        countries: &["Thailand", "Thailand", "TH"],
        domain: "example.go.th",
        phone: "+66 2",
        native_orgs: &[
            "กระทรวงการต่างประเทศ",
            "สำนักงานสภาพัฒนาการเศรษฐกิจและสังคมแห่งชาติ",
        ],
    },
    Group {
        given: &[
            ("ສົມພອນ", "Somphone"),
            ("ບຸນມີ", "Bounmy"),
            ("ພອນສະຫວັນ", "Phonesavanh"),
            ("ວັນນີ", "Vanny"),
            ("ຄຳພອນ", "Khamphone"),
            ("ແສງດາວ", "Sengdao"),
            ("ສະເຫຼີມໄຊ", "Saleumxay"),
            ("ບຸນທັນ", "Bounthanh"),
            ("ສີສະຫວາດ", "Sisavath"),
            ("ຄຳແພງ", "Khamphaeng"),
            ("ວິໄລ", "Vilay"),
            ("ອານຸສອນ", "Anousone"),
            ("ນາລີ", "Nalee"),
            ("ທອງລຸນ", "Thongloun"),
        ],
        family: &[
            ("ພົມມະວົງ", "Phommavong"),
            ("ສີສຸກ", "Sisouk"),
            ("ແກ້ວມະນີ", "Keomany"),
            ("ວົງສາ", "Vongsa"),
            ("ສຸລິວົງ", "Soulivong"),
            ("ກົມມະສິດ", "Kommasith"),
            ("ສີພັນດອນ", "Siphandone"),
            ("ພົມວິຫານ", "Phomvihane"),
            ("ໄຊຍະວົງ", "Xayavong"),
            ("ສຸວັນນະວົງ", "Souvannavong"),
            ("ອິນທະວົງ", "Inthavong"),
        ],
        middle: &[],
        native_script: true,
        countries: &["Lao PDR", "Laos", "Lao PDR"],
        domain: "example.gov.la",
        phone: "+856 21",
        native_orgs: &["ກະຊວງການຕ່າງປະເທດ", "ກະຊວງແຜນການ ແລະ ການລົງທຶນ"],
    },
    Group {
        given: &[
            ("សុខ", "Sok"),
            ("វណ្ណា", "Vanna"),
            ("ចន្ទា", "Chanthea"),
            ("សុភា", "Sophea"),
            ("ដារ៉ា", "Dara"),
            ("បុប្ផា", "Bopha"),
            ("សុខុន", "Sokhonn"),
            ("ពិសិដ្ឋ", "Piseth"),
            ("សុផល", "Sophal"),
            ("ស្រីមុំ", "Sreymom"),
            ("រតនា", "Rathana"),
            ("វិចិត្រ", "Vichet"),
            ("ធារី", "Theary"),
            ("សំណាង", "Samnang"),
        ],
        family: &[
            ("ចាន់", "Chan"),
            ("ជា", "Chea"),
            ("ហេង", "Heng"),
            ("លី", "Ly"),
            ("សួន", "Suon"),
            ("ប្រាក់", "Prak"),
            ("គឹម", "Kim"),
            ("សេង", "Seng"),
            ("ម៉ៅ", "Mao"),
            ("ទេព", "Tep"),
            ("អ៊ុង", "Ung"),
        ],
        middle: &[],
        native_script: true,
        countries: &["Cambodia", "Cambodia", "Kingdom of Cambodia"],
        domain: "example.gov.kh",
        phone: "+855 23",
        native_orgs: &["ក្រសួងការបរទេស និងសហប្រតិបត្តិការអន្តរជាតិ", "ក្រសួងផែនការ"],
    },
    Group {
        given: &[
            ("အောင်ကျော်", "Aung Kyaw"),
            ("ခင်မောင်", "Khin Maung"),
            ("သီတာ", "Thida"),
            ("ဇော်ဝင်း", "Zaw Win"),
            ("နီလာ", "Nilar"),
            ("မြင့်မြင့်", "Myint Myint"),
            ("သန်းဆွေ", "Than Swe"),
            ("ကျော်ဇော", "Kyaw Zaw"),
            ("စုစု", "Su Su"),
            ("မင်းထက်", "Min Htet"),
            ("ဝင်းမြင့်", "Win Myint"),
            ("နန္ဒာ", "Nanda"),
            ("သက်နိုင်", "Thet Naing"),
            ("ယဉ်ယဉ်", "Yin Yin"),
        ],
        family: &[
            ("ထွန်း", "Htun"),
            ("ဦး", "Oo"),
            ("လွင်", "Lwin"),
            ("စိုး", "Soe"),
            ("နိုင်", "Naing"),
            ("အောင်", "Aung"),
            ("မြင့်", "Myint"),
            ("ဝင်း", "Win"),
            ("ကျော်", "Kyaw"),
            ("ထက်", "Htet"),
            ("သိန်း", "Thein"),
        ],
        middle: &[],
        native_script: true,
        countries: &["Myanmar", "Myanmar", "Burma"],
        domain: "example.gov.mm",
        phone: "+95 67",
        native_orgs: &["နိုင်ငံခြားရေးဝန်ကြီးဌာန", "စီမံကိန်းနှင့်ဘဏ္ဍာရေးဝန်ကြီးဌာန"],
    },
    Group {
        given: &[
            ("An", "An"),
            ("Hà", "Ha"),
            ("Tuấn", "Tuan"),
            ("Trang", "Trang"),
            ("Bảo", "Bao"),
            ("Sơn", "Son"),
            ("Nhung", "Nhung"),
            ("Hùng", "Hung"),
            ("Lan", "Lan"),
            ("Dũng", "Dung"),
            ("Hương", "Huong"),
            ("Phương", "Phuong"),
            ("Long", "Long"),
            ("Thảo", "Thao"),
        ],
        family: &[
            ("Nguyễn", "Nguyen"),
            ("Trần", "Tran"),
            ("Lê", "Le"),
            ("Phạm", "Pham"),
            ("Bùi", "Bui"),
            ("Đặng", "Dang"),
            ("Hoàng", "Hoang"),
            ("Huỳnh", "Huynh"),
            ("Phan", "Phan"),
            ("Vũ", "Vu"),
            ("Võ", "Vo"),
            ("Đỗ", "Do"),
        ],
        middle: &[
            ("Văn", "Van"),
            ("Thị", "Thi"),
            ("Minh", "Minh"),
            ("Quốc", "Quoc"),
            ("Đức", "Duc"),
            ("Thanh", "Thanh"),
            ("Ngọc", "Ngoc"),
            ("Hữu", "Huu"),
        ],
        native_script: false,
        countries: &["Viet Nam", "Vietnam", "Viet Nam"],
        domain: "example.gov.vn",
        phone: "+84 24",
        native_orgs: &["Bộ Ngoại giao", "Bộ Kế hoạch và Đầu tư"],
    },
    Group {
        given: &[
            ("John", "John"),
            ("Sarah", "Sarah"),
            ("Kenji", "Kenji"),
            ("Min-jun", "Min-jun"),
            ("Wei", "Wei"),
            ("Anna", "Anna"),
            ("Pierre", "Pierre"),
            ("Priya", "Priya"),
            ("David", "David"),
            ("Yuki", "Yuki"),
            ("Ji-woo", "Ji-woo"),
            ("Emma", "Emma"),
            ("Marc", "Marc"),
            ("Aarav", "Aarav"),
            ("Olivia", "Olivia"),
            ("Thomas", "Thomas"),
        ],
        family: &[
            ("Smith", "Smith"),
            ("Tanaka", "Tanaka"),
            ("Kim", "Kim"),
            ("Wang", "Wang"),
            ("Müller", "Mueller"),
            ("Dubois", "Dubois"),
            ("O'Brien", "OBrien"),
            ("Sharma", "Sharma"),
            ("Johnson", "Johnson"),
            ("Suzuki", "Suzuki"),
            ("Park", "Park"),
            ("Chen", "Chen"),
            ("Schmidt", "Schmidt"),
            ("Martin", "Martin"),
            ("Patel", "Patel"),
        ],
        middle: &[],
        native_script: false,
        countries: &[
            "Japan",
            "Republic of Korea",
            "United States",
            "Australia",
            "Germany",
            "France",
            "China",
            "India",
            "Singapore",
            "United Kingdom",
        ],
        domain: "example.org",
        phone: "+1 202",
        native_orgs: &[],
    },
];

const UNITS: [&str; 10] = [
    "Department of",
    "Division of",
    "Office of",
    "Bureau of",
    "Centre for",
    "Institute of",
    "Agency for",
    "Committee for",
    "Board of",
    "Council for",
];

const SUBJECTS: [&str; 34] = [
    "Water Resources",
    "Trade Promotion",
    "Rural Development",
    "ASEAN Affairs",
    "International Cooperation",
    "Transport Connectivity",
    "Energy Policy",
    "Digital Economy",
    "Public Health",
    "Agricultural Extension",
    "Customs Facilitation",
    "Tourism Development",
    "Human Resources",
    "Environmental Protection",
    "Disaster Management",
    "Investment Promotion",
    "Economic Relations",
    "Border Affairs",
    "Fisheries",
    "Forestry",
    "Statistics",
    "Planning",
    "Legal Affairs",
    "Protocol",
    "Consular Affairs",
    "Information and Press",
    "Science and Technology",
    "Education Cooperation",
    "Labour Mobility",
    "Mekong Affairs",
    "Industrial Standards",
    "Telecommunications",
    "Civil Aviation",
    "Inland Waterways",
];

const JOB_TITLES: [&str; 14] = [
    "Director-General",
    "Deputy Director-General",
    "Director",
    "Deputy Director",
    "Counsellor",
    "First Secretary",
    "Second Secretary",
    "Third Secretary",
    "Senior Officer",
    "Programme Officer",
    "Policy Analyst",
    "Desk Officer, Mekong Cooperation",
    "Head of Division, Regional Cooperation",
    "Minister Counsellor",
];

const HONORIFICS: [&str; 6] = ["Mr", "Ms", "Mrs", "Dr", "H.E.", ""];

const CATEGORIES: [&str; 7] = [
    "",
    "",
    "SOM",
    "SOM;Focal point",
    "ACMECS;Working group",
    "Partners",
    "Mekong-Lancang;Water",
];

const NOTES: [&str; 5] = [
    "Met at the SOM in Vientiane; prefers e-mail.",
    "Said \"yes, in principle\" to co-chairing the working group.",
    "Assistant: call before 10:00, not after 16:00.\nSpeaks French.",
    "Focal point for the ACMECS Master Plan, pillar 2",
    "ឯកសារ: ផែនការមេ ACMECS / ແຜນແມ່ບົດ / แผนแม่บท",
];

const HEADERS: [&str; 14] = [
    "Title",
    "First Name",
    "Middle Name",
    "Last Name",
    "Company",
    "Department",
    "Job Title",
    "Business Phone",
    "Mobile Phone",
    "E-mail Address",
    "Business City",
    "Business Country/Region",
    "Categories",
    "Notes",
];

/// The ~2,000 companies: per group, `per_group` "Unit of Subject, Country" names (members'
/// ministries and agencies; partners' institutions), then its ministries' native names.
fn companies(per_group: usize) -> Vec<Vec<String>> {
    GROUPS
        .iter()
        .map(|g| {
            let country = g.countries[0];
            let mut names: Vec<String> = (0..per_group)
                .map(|k| {
                    let unit = UNITS[k % UNITS.len()];
                    let subject = SUBJECTS[(k / UNITS.len()) % SUBJECTS.len()];
                    let round = k / (UNITS.len() * SUBJECTS.len());
                    if round == 0 {
                        format!("{unit} {subject}, {country}")
                    } else {
                        format!("{unit} {subject} {}, {country}", round + 1)
                    }
                })
                .collect();
            names.extend(g.native_orgs.iter().map(|s| s.to_string()));
            names
        })
        .collect()
}

fn quoted(out: &mut String, cell: &str) {
    out.push('"');
    out.push_str(&cell.replace('"', "\"\""));
    out.push('"');
}

/// A generated Outlook-style export.
struct Csv {
    bytes: Vec<u8>,
    /// Distinct companies named (each becomes an organisation).
    companies: usize,
    /// Rows with the name and company of an earlier row (another person of the same name in
    /// the same ministry, told apart by e-mail: the import reads the earlier one back).
    same_name: usize,
}

/// An Outlook-style export of `n` contacts (UTF-8 with a BOM, every cell quoted, CRLF).
fn outlook_csv(n: usize) -> Csv {
    let per_group = if n >= 50_000 { 332 } else { 20 };
    let companies = companies(per_group);
    let mut used = std::collections::HashSet::new();
    let mut people = std::collections::HashSet::new();
    let mut same_name = 0;
    let mut rng = Rng(0x5EC2_E7A2_1A7D_E5C1);
    let mut out = String::with_capacity(n * 260);
    out.push('\u{FEFF}');
    for (i, h) in HEADERS.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        quoted(&mut out, h);
    }
    out.push_str("\r\n");
    for i in 0..n {
        let gi = i % GROUPS.len();
        let g = &GROUPS[gi];
        let (given_native, given_latin) = *rng.pick(g.given);
        let (family_native, family_latin) = *rng.pick(g.family);
        let (middle_native, middle_latin) = if g.middle.is_empty() {
            ("", "")
        } else {
            *rng.pick(g.middle)
        };
        // Half of a native-script group's rows are in its script, the rest romanised;
        // Vietnamese mostly with its tones, sometimes without (as typed on an English keyboard).
        let native = if g.native_script {
            rng.chance(50)
        } else {
            gi == 4 && rng.chance(70)
        };
        let (given, middle, family) = if native || gi == 5 {
            (given_native, middle_native, family_native)
        } else {
            (given_latin, middle_latin, family_latin)
        };
        let orgs = &companies[gi];
        let company = if !g.native_orgs.is_empty() && rng.chance(8) {
            &orgs[per_group + rng.below(g.native_orgs.len())]
        } else {
            &orgs[rng.below(per_group)]
        };
        used.insert(company.as_str());
        if !people.insert((given, middle, family, company.as_str())) {
            same_name += 1;
        }
        let handle: String = format!("{given_latin}.{family_latin}")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
            .flat_map(|c| c.to_lowercase())
            .collect();
        let email = format!("{handle}.{i}@{}", g.domain);
        let phone = format!(
            "{} {:03} {:04}",
            g.phone,
            100 + rng.below(900),
            rng.below(10_000)
        );
        let mobile = if rng.chance(30) {
            format!("+{} {:08}", 60 + gi, rng.below(100_000_000))
        } else {
            String::new()
        };
        let country = *rng.pick(g.countries);
        let note = if rng.chance(20) {
            *rng.pick(&NOTES)
        } else {
            ""
        };
        let cells = [
            *rng.pick(&HONORIFICS),
            given,
            middle,
            family,
            company,
            "",
            *rng.pick(&JOB_TITLES),
            &phone,
            &mobile,
            &email,
            "",
            country,
            *rng.pick(&CATEGORIES),
            note,
        ];
        for (k, c) in cells.iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            quoted(&mut out, c);
        }
        out.push_str("\r\n");
    }
    Csv {
        companies: used.len(),
        bytes: out.into_bytes(),
        same_name,
    }
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// The process's peak resident set (`VmHWM`) in bytes, or 0 where /proc is not there.
fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Whether a target was met; a quick run (tiny data, often a debug build) is not judged.
fn verdict(ok: bool, quick: bool) -> &'static str {
    match (quick, ok) {
        (true, _) => "not judged in a quick run",
        (false, true) => "met",
        (false, false) => "MISSED",
    }
}

/// What one child process measured.
struct ChildRun {
    secs: f64,
    /// Peak RSS of the whole child, and before the import started (the CSV in memory).
    peak: u64,
    before: u64,
    created: usize,
    orgs: usize,
    invalid: usize,
}

/// The child: imports the generated CSV of `BENCH_CONTACTS` contacts into a new replica in
/// `BENCH_CHILD_DIR` (as a dry run when `BENCH_CHILD=dry`), and prints what it measured.
fn child(kind: &str) -> Res<()> {
    let n: usize = std::env::var("BENCH_CONTACTS")?.parse()?;
    let dir = PathBuf::from(std::env::var("BENCH_CHILD_DIR")?);
    let bytes = outlook_csv(n).bytes;
    let mut r = Replica::init(&dir.join("import.db"), &key())?;
    if kind == "core" {
        return core_floor(&mut r, &bytes);
    }
    let opts = CsvOptions {
        import: Options {
            dry_run: kind == "dry",
            skip_invalid: false,
        },
        ..CsvOptions::default()
    };
    let before = peak_rss();
    let t = Instant::now();
    let report = desk_exchange::import::csv(&mut r, Entity::Contact, &bytes, &opts, &mut |_| {})?;
    let elapsed = t.elapsed();
    let peak = peak_rss();
    println!(
        "BENCH_RESULT secs={} peak={peak} before={before} created={} orgs={} invalid={}",
        secs(elapsed),
        report.report.created,
        report.report.organisations_created.len(),
        report.report.invalid.len()
    );
    Ok(())
}

/// The floor under the import: the same records written by the core alone
/// (`Replica::create_many`: validation, change log, search index, one transaction), the
/// companies as organisations first, with no matching, no savepoints, no file to read.
fn core_floor(r: &mut Replica, bytes: &[u8]) -> Res<()> {
    let text = desk_exchange::text::decode(bytes, None)?;
    let table = desk_exchange::csv::parse(&text.text, None)?;
    let mapping = desk_exchange::mapping::detect(Entity::Contact, &table, &[])?;
    let mut rows: Vec<desk_core::Fields> =
        desk_exchange::mapping::rows(Entity::Contact, &table, &mapping)
            .into_iter()
            .map(|row| row.fields)
            .collect();
    drop((table, text));
    let mut names: Vec<String> = rows
        .iter()
        .filter_map(|f| f.get("org").and_then(|v| v.as_str()).map(str::to_string))
        .collect();
    names.sort();
    names.dedup();
    let orgs: Vec<desk_core::Fields> = names
        .iter()
        .map(|name| {
            let mut f = desk_core::Fields::new();
            f.insert("name".into(), name.clone().into());
            f
        })
        .collect();
    let before = peak_rss();
    let t = Instant::now();
    let ids = r.create_many(Entity::Organisation, &orgs, &mut |_| {})?;
    let made = t.elapsed();
    let by_name: std::collections::HashMap<&str, &str> = names
        .iter()
        .map(String::as_str)
        .zip(ids.iter().map(String::as_str))
        .collect();
    for f in &mut rows {
        let id = f
            .get("org")
            .and_then(|v| v.as_str())
            .and_then(|name| by_name.get(name))
            .map(|id| id.to_string());
        if let Some(id) = id {
            f.insert("org".into(), id.into());
        }
    }
    let t = Instant::now();
    let created = r.create_many(Entity::Contact, &rows, &mut |_| {})?.len();
    let elapsed = made + t.elapsed();
    println!(
        "BENCH_RESULT secs={} peak={} before={before} created={created} orgs={} invalid=0",
        secs(elapsed),
        peak_rss(),
        ids.len()
    );
    Ok(())
}

/// Runs one import in a child process of this binary (see [`child`]).
fn run_child(kind: &str, n: usize, dir: &Path) -> Res<ChildRun> {
    let out = Command::new(std::env::current_exe()?)
        .env("BENCH_CHILD", kind)
        .env("BENCH_CONTACTS", n.to_string())
        .env("BENCH_CHILD_DIR", dir)
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "the {kind} child failed ({}): {stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BENCH_RESULT "))
        .ok_or_else(|| format!("the {kind} child said nothing: {stdout}"))?;
    let get = |k: &str| -> Res<&str> {
        line.split(' ')
            .find_map(|p| p.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
            .ok_or_else(|| format!("no {k} in {line}").into())
    };
    Ok(ChildRun {
        secs: get("secs")?.parse()?,
        peak: get("peak")?.parse()?,
        before: get("before")?.parse()?,
        created: get("created")?.parse()?,
        orgs: get("orgs")?.parse()?,
        invalid: get("invalid")?.parse()?,
    })
}

/// 1. The CSV import, `runs` times, each in a child process into a new replica; then a dry run.
fn bench_import(n: usize, runs: usize, quick: bool) -> Res<()> {
    let Csv {
        bytes,
        companies: distinct,
        same_name,
    } = outlook_csv(n);
    println!(
        "CSV of {n} contacts: {:.1} MB, {distinct} companies, {same_name} rows with the name and \
         company of an earlier one",
        mb(bytes.len() as u64)
    );
    // Where the time goes before the records engine (in this process: decode, parse, map).
    let t = Instant::now();
    let text = desk_exchange::text::decode(&bytes, None)?;
    let decode = t.elapsed();
    let t = Instant::now();
    let table = desk_exchange::csv::parse(&text.text, None)?;
    let parse = t.elapsed();
    let t = Instant::now();
    let mapping = desk_exchange::mapping::detect(Entity::Contact, &table, &[])?;
    let rows = desk_exchange::mapping::rows(Entity::Contact, &table, &mapping);
    let map = t.elapsed();
    drop((rows, table, text, bytes));

    let mut times = Vec::new();
    let mut peaks = Vec::new();
    let mut befores = Vec::new();
    let mut floors = Vec::new();
    let mut ratios = Vec::new();
    for _ in 0..runs {
        // Each round also times the core alone on the same records, back to back, so the ratio
        // sees the VM in one state (its speed drifts by a third through a day).
        let dir = tempfile::tempdir()?;
        let floor = run_child("core", n, dir.path())?;
        let dir = tempfile::tempdir()?;
        let run = run_child("import", n, dir.path())?;
        floors.push(floor.secs);
        ratios.push(run.secs / floor.secs);
        if run.created != n || run.invalid != 0 {
            return Err(format!(
                "the import created {} contacts of {n}, {} rows refused",
                run.created, run.invalid
            )
            .into());
        }
        if run.orgs != distinct {
            return Err(format!(
                "the import created {} organisations for {distinct} companies",
                run.orgs
            )
            .into());
        }
        times.push(run.secs);
        peaks.push(run.peak);
        befores.push(run.before);
    }
    let min = times.iter().copied().fold(f64::INFINITY, f64::min);
    let med = median(&mut times);
    let peak = peaks.iter().copied().max().unwrap_or(0);
    let before = befores.iter().copied().max().unwrap_or(0);
    println!(
        "import {n} contacts (CSV): median {med:.2} s, min {min:.2} s of {runs} (target < 5 s: {}), \
         peak RSS {:.0} MB (target < 300 MB: {})",
        verdict(med < 5.0, quick),
        mb(peak),
        verdict(peak < 300_000_000, quick)
    );
    println!(
        "  the core alone on the same records (create_many): median {:.2} s; import / core: \
         median of per-round ratios {:.2} x",
        median(&mut floors),
        median(&mut ratios)
    );
    println!(
        "  {distinct} organisations created; peak RSS before the import (the CSV in memory) {:.0} MB; \
         of the time, decode {:.0} ms, parse {:.0} ms, map to fields {:.0} ms (in-process)",
        mb(before),
        secs(decode) * 1e3,
        secs(parse) * 1e3,
        secs(map) * 1e3
    );

    let mut dry = Vec::new();
    let mut dry_peak = 0;
    for _ in 0..runs.min(3) {
        let dir = tempfile::tempdir()?;
        let run = run_child("dry", n, dir.path())?;
        dry.push(run.secs);
        dry_peak = dry_peak.max(run.peak);
    }
    let k = dry.len();
    println!(
        "dry run of the same file: median {:.2} s of {k}, peak RSS {:.0} MB",
        median(&mut dry),
        mb(dry_peak)
    );
    Ok(())
}

/// The large demo replica (kept between runs, see the module documentation), or in a quick run
/// the small demo in `tmp`.
fn demo_replica(quick: bool, tmp: &Path) -> Res<Replica> {
    if quick {
        let mut r = Replica::init(&tmp.join("small.db"), &key())?;
        r.load_demo(Size::Small, &mut |_| {})?;
        return Ok(r);
    }
    let dir = match std::env::var_os("BENCH_DATA_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            // The bench binary is <target>/<profile>/deps/exchange-<hash>.
            let exe = std::env::current_exe()?;
            let target = exe
                .ancestors()
                .nth(3)
                .filter(|_| exe.parent().is_some_and(|p| p.ends_with("deps")))
                .map(Path::to_path_buf)
                .unwrap_or_else(|| tmp.to_path_buf());
            target.join("bench-data")
        }
    };
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("exchange-large.db");
    if std::env::var_os("BENCH_FRESH").is_some() {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
    let mut r = if path.exists() {
        Replica::open(&path, &key())?
    } else {
        Replica::init(&path, &key())?
    };
    let t = Instant::now();
    // Does nothing when this replica already holds the large load (an interrupted load was one
    // transaction, rolled back, and is made again here).
    let report = r.load_demo(Size::Large, &mut |_| {})?;
    if report.already_loaded {
        println!("large demo replica: reused {}", path.display());
    } else {
        println!(
            "large demo replica: made in {:.0} s, kept in {} for the next run",
            secs(t.elapsed()),
            path.display()
        );
    }
    Ok(r)
}

/// 2. Every contact as vCard 4.0.
fn bench_vcard(r: &Replica, quick: bool) -> Res<()> {
    let contacts = r.count(Entity::Contact)?;
    let mut times = Vec::new();
    let mut size = 0;
    let mut cards = 0;
    for _ in 0..if quick { 1 } else { 3 } {
        let t = Instant::now();
        let out = desk_exchange::cards::export(r, Version::V4, true)?;
        times.push(secs(t.elapsed()));
        size = out.len();
        cards = out.matches("BEGIN:VCARD").count();
    }
    if cards as u64 != contacts {
        return Err(format!("{cards} cards for {contacts} contacts").into());
    }
    let k = times.len();
    let med = median(&mut times);
    println!(
        "export {contacts} contacts to vCard 4.0: median {med:.2} s of {k} (target < 3 s: {}), {:.1} MB",
        verdict(med < 3.0, quick),
        mb(size as u64)
    );
    Ok(())
}

/// 3. The follow-up matrix of the framework whose action-item count is nearest 2,000, to XLSX.
fn bench_xlsx(r: &Replica, quick: bool) -> Res<()> {
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).ok_or("date")?;
    let mut counts = Vec::new();
    for f in r.frameworks()? {
        let n = r
            .followup(&FollowupQuery {
                framework: f.name.clone(),
                as_of: as_of.format("%Y-%m-%d").to_string(),
                ..FollowupQuery::default()
            })?
            .len();
        counts.push((f.name, n));
    }
    let mut listed = String::new();
    for (name, n) in &counts {
        let _ = write!(
            listed,
            "{}{name} {n}",
            if listed.is_empty() { "" } else { ", " }
        );
    }
    let (framework, items) = counts
        .iter()
        .min_by_key(|(_, n)| n.abs_diff(2000))
        .cloned()
        .ok_or("no frameworks in the replica")?;
    let (mut report, mut write, mut total) = (Vec::new(), Vec::new(), Vec::new());
    let mut size = 0;
    for _ in 0..if quick { 1 } else { 5 } {
        let t = Instant::now();
        let book = desk_exchange::reports::followup(r, &framework, as_of, true)?;
        let made = t.elapsed();
        let bytes = desk_exchange::xlsx::write(&book)?;
        let all = t.elapsed();
        size = bytes.len();
        report.push(secs(made));
        write.push(secs(all - made));
        total.push(secs(all));
    }
    let k = total.len();
    let med = median(&mut total);
    println!(
        "follow-up matrix of {framework} ({items} action items) to XLSX: median {med:.3} s of {k} \
         (target < 1 s: {}), {:.0} KB",
        verdict(med < 1.0, quick),
        size as f64 / 1e3
    );
    println!(
        "  of which the report {:.0} ms, the XLSX writer {:.0} ms (medians); frameworks: {listed}",
        median(&mut report) * 1e3,
        median(&mut write) * 1e3
    );
    Ok(())
}

fn main() -> Res<()> {
    if let Ok(kind) = std::env::var("BENCH_CHILD") {
        return child(&kind);
    }
    // `cargo bench` passes --bench; `cargo test --bench exchange` passes nothing: a smoke run.
    let quick = match std::env::var("BENCH_QUICK").as_deref() {
        Ok("0") => false,
        Ok(_) => true,
        Err(_) => !std::env::args().any(|a| a == "--bench"),
    };
    let only = std::env::var("BENCH_ONLY").ok();
    let part = |p: &str| only.as_deref().is_none_or(|o| o == p);
    let n = if quick { 2_000 } else { 100_000 };
    let runs = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 1 } else { 5 });
    if quick {
        println!("quick run: {n} contacts, the small demo");
    }
    if part("import") {
        bench_import(n, runs, quick)?;
    }
    if part("vcard") || part("xlsx") {
        let tmp = tempfile::tempdir()?;
        let r = demo_replica(quick, tmp.path())?;
        if part("vcard") {
            bench_vcard(&r, quick)?;
        }
        if part("xlsx") {
            bench_xlsx(&r, quick)?;
        }
    }
    Ok(())
}

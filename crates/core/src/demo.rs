//! Demo data: a realistic small replica (the five ACMECS members, their ministries, development
//! partners, ~40 Prioritized Projects, Summits, SOMs and partner meetings with agendas,
//! delegations, decisions and follow-up actions, names in their native scripts), and a large one
//! for benchmarks (≥100,000 contacts, ≥10,000 meetings). Deterministic: the same size gives the
//! same records (ids and clocks aside). Loaded in one transaction, through the same write path
//! as every user edit.

use crate::error::Result;
use crate::replica::{Fields, Progress, Replica, Tx};
use crate::schema::Entity;
use serde::Serialize;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    Small,
    Large,
}

impl Size {
    pub fn parse(s: &str) -> Option<Size> {
        match s {
            "small" => Some(Size::Small),
            "large" => Some(Size::Large),
            _ => None,
        }
    }
}

/// Tiny deterministic generator (xorshift64*), so demo data needs no `rand` and never changes.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

type Pair = (&'static str, &'static str);

struct People {
    code: &'static str,
    given: &'static [Pair],
    family: &'static [Pair],
    /// Family name first (Khmer, Vietnamese); Myanmar has no family name.
    family_first: bool,
}

const TH: People = People {
    code: "TH",
    given: &[
        ("Somchai", "สมชาย"),
        ("Siriporn", "ศิริพร"),
        ("Prasert", "ประเสริฐ"),
        ("Kanchana", "กาญจนา"),
        ("Wichai", "วิชัย"),
        ("Suda", "สุดา"),
        ("Anan", "อนันต์"),
        ("Malee", "มาลี"),
        ("Narong", "ณรงค์"),
        ("Pranee", "ปราณี"),
    ],
    family: &[
        ("Jaidee", "ใจดี"),
        ("Wongsawat", "วงศ์สวัสดิ์"),
        ("Srisuk", "ศรีสุข"),
        ("Thongma", "ทองมา"),
        ("Rattanaphan", "รัตนพันธ์"),
        ("Boonmee", "บุญมี"),
        ("Chaiyaphum", "ชัยภูมิ"),
        ("Saengthong", "แสงทอง"),
    ],
    family_first: false,
};
const LA: People = People {
    code: "LA",
    given: &[
        ("Somphone", "ສົມພອນ"),
        ("Bounmy", "ບຸນມີ"),
        ("Khamla", "ຄຳຫຼ້າ"),
        ("Sengdao", "ແສງດາວ"),
        ("Vilay", "ວິໄລ"),
        ("Phonesavanh", "ພອນສະຫວັນ"),
        ("Souksavanh", "ສຸກສະຫວັນ"),
        ("Thongsavanh", "ທອງສະຫວັນ"),
    ],
    family: &[
        ("Phommavong", "ພົມມະວົງ"),
        ("Sisouvanh", "ສີສຸວັນ"),
        ("Vongsa", "ວົງສາ"),
        ("Phanthavong", "ພັນທະວົງ"),
        ("Keomany", "ແກ້ວມະນີ"),
        ("Inthavong", "ອິນທະວົງ"),
        ("Sayavong", "ໄຊຍະວົງ"),
    ],
    family_first: false,
};
const KH: People = People {
    code: "KH",
    given: &[
        ("Vanna", "វណ្ណា"),
        ("Sophea", "សុភា"),
        ("Chantha", "ចាន់ថា"),
        ("Dara", "តារា"),
        ("Sreymom", "ស្រីមុំ"),
        ("Sothea", "សុធា"),
        ("Pisey", "ពិសី"),
        ("Rithy", "រិទ្ធី"),
        ("Sokha", "សុខា"),
    ],
    family: &[
        ("Sok", "សុខ"),
        ("Heng", "ហេង"),
        ("Kim", "គឹម"),
        ("Chea", "ជា"),
        ("Meas", "មាស"),
        ("Prak", "ប្រាក់"),
        ("Keo", "កែវ"),
        ("Chhay", "ឆាយ"),
    ],
    family_first: true,
};
const MM: People = People {
    code: "MM",
    given: &[
        ("Aung", "အောင်"),
        ("Kyaw", "ကျော်"),
        ("Min", "မင်း"),
        ("Htun", "ထွန်း"),
        ("Khin", "ခင်"),
        ("Myint", "မြင့်"),
        ("Thida", "သီတာ"),
        ("Win", "ဝင်း"),
        ("Zaw", "ဇော်"),
        ("Thant", "သန့်"),
        ("Su", "စု"),
        ("Hlaing", "လှိုင်"),
    ],
    family: &[],
    family_first: false,
};
const VN: People = People {
    code: "VN",
    given: &[
        ("Van An", "Văn An"),
        ("Thi Thu Ha", "Thị Thu Hà"),
        ("Quang Minh", "Quang Minh"),
        ("Thi Lan", "Thị Lan"),
        ("Hoang Nam", "Hoàng Nam"),
        ("Thi Huong", "Thị Hương"),
        ("Duc Dung", "Đức Dũng"),
        ("Anh Tuan", "Anh Tuấn"),
        ("Phuong Thao", "Phương Thảo"),
    ],
    family: &[
        ("Nguyen", "Nguyễn"),
        ("Tran", "Trần"),
        ("Le", "Lê"),
        ("Pham", "Phạm"),
        ("Hoang", "Hoàng"),
        ("Vu", "Vũ"),
        ("Do", "Đỗ"),
        ("Bui", "Bùi"),
    ],
    family_first: true,
};
const MEMBERS: [People; 5] = [KH, LA, MM, TH, VN];

const TITLES: &[&str] = &[
    "Director-General, Department of ASEAN Affairs",
    "Deputy Director-General",
    "Director, Mekong Cooperation Division",
    "Counsellor",
    "First Secretary",
    "Desk Officer, Subregional Cooperation",
    "Secretary of State",
    "Deputy Secretary-General",
    "Senior Planning Officer",
    "Head of International Cooperation",
];

/// A person of one member country: (name in Latin script, native name, given, family, honorific).
fn person(p: &People, rng: &mut Rng) -> (String, String, String, String, String) {
    if p.family.is_empty() {
        // Myanmar: no family name; two or three syllables; U / Daw is an honorific, not a name.
        let n = 2 + rng.below(2);
        let parts: Vec<&Pair> = (0..n).map(|_| rng.pick(p.given)).collect();
        let latin = parts.iter().map(|x| x.0).collect::<Vec<_>>().join(" ");
        let native: String = parts.iter().map(|x| x.1).collect();
        let hon = if rng.below(2) == 0 { "U" } else { "Daw" };
        return (latin.clone(), native, latin, String::new(), hon.to_string());
    }
    let g = rng.pick(p.given);
    let f = rng.pick(p.family);
    let hon = ["Mr.", "Ms.", "Dr"][rng.below(3)].to_string();
    if p.family_first {
        (
            format!("{} {}", f.0, g.0),
            format!("{} {}", f.1, g.1),
            g.0.to_string(),
            f.0.to_string(),
            hon,
        )
    } else {
        (
            format!("{} {}", g.0, f.0),
            format!("{} {}", g.1, f.1),
            g.0.to_string(),
            f.0.to_string(),
            hon,
        )
    }
}

fn obj(v: Value) -> Fields {
    match v {
        Value::Object(m) => m,
        _ => Fields::new(),
    }
}

/// What a demo load made.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    pub size: Size,
    pub already_loaded: bool,
    pub records: u64,
}

struct Loader<'w, 'a> {
    w: &'w mut Tx<'a>,
    made: u64,
    progress: &'w mut dyn FnMut(Progress),
    total: u64,
}

impl Loader<'_, '_> {
    fn add(&mut self, e: Entity, v: Value) -> Result<String> {
        let id = self.w.insert(e, &obj(v))?;
        self.made += 1;
        if self.made.is_multiple_of(5000) {
            (self.progress)(Progress {
                stage: "demo",
                done: self.made,
                total: self.total,
            });
        }
        Ok(id)
    }
}

impl Replica {
    /// Loads demo data once: if this replica already holds that load, it does nothing; after a
    /// small load, a large one adds what the large load has beyond it.
    pub fn load_demo(
        &mut self,
        size: Size,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<DemoReport> {
        let loaded: Option<String> = self
            .reader()
            .query_row("SELECT value FROM meta WHERE key = 'demo'", [], |r| {
                r.get(0)
            })
            .ok();
        // The small load is part of the large one: after a small load, --size large adds the rest.
        let small_done = loaded.is_some();
        let small_mfa: Vec<String> = if small_done {
            ["MFAIC", "MOFA-LA", "MOFA-MM", "MFA-TH", "MOFA-VN"]
                .iter()
                .filter_map(|a| self.resolve(Entity::Organisation, a).ok())
                .collect()
        } else {
            Vec::new()
        };
        let small_projects: Vec<String> = if small_done {
            let mut ps = self.list(Entity::Project, &crate::ListQuery::default())?;
            ps.sort_by(|a, b| a.str("code").cmp(&b.str("code")));
            ps.into_iter().map(|p| p.id).collect()
        } else {
            Vec::new()
        };
        if let Some(prev) = loaded {
            if prev == "large" || size == Size::Small {
                return Ok(DemoReport {
                    size,
                    already_loaded: true,
                    records: 0,
                });
            }
        }
        let total = match size {
            Size::Small => 1_000,
            Size::Large => 213_000,
        };
        let records = self.write_batch(crate::replica::BATCH_CACHE_MIB, |w| {
            let mut l = Loader {
                w,
                made: 0,
                progress,
                total,
            };
            let small = if small_done {
                Small {
                    mfa: small_mfa,
                    projects: small_projects,
                }
            } else {
                demo_small(&mut l)?
            };
            if size == Size::Large {
                demo_large(&mut l, &small)?;
            }
            let name = match size {
                Size::Small => "small",
                Size::Large => "large",
            };
            l.w.tx.execute(
                "INSERT INTO meta (key, value) VALUES ('demo', ?1) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [name],
            )?;
            (l.progress)(Progress {
                stage: "demo",
                done: l.made,
                total: l.made,
            });
            Ok(l.made)
        })?;
        Ok(DemoReport {
            size,
            already_loaded: false,
            records,
        })
    }
}

struct Small {
    /// Per member (in MEMBERS order): MFA id, planning agency id.
    mfa: Vec<String>,
    /// The 40 Prioritized Projects.
    projects: Vec<String>,
}

fn demo_small(l: &mut Loader<'_, '_>) -> Result<Small> {
    let mut rng = Rng(0x5EC2_E7A2_1A7D_E5C0);
    let orgs: [(&str, &str, &str, &str, &str); 10] = [
        (
            "KH",
            "Ministry of Foreign Affairs and International Cooperation",
            "MFAIC",
            "ក្រសួងការបរទេស និងសហប្រតិបត្តិការអន្តរជាតិ",
            "ministry",
        ),
        (
            "KH",
            "Ministry of Planning",
            "MOP-KH",
            "ក្រសួងផែនការ",
            "ministry",
        ),
        (
            "LA",
            "Ministry of Foreign Affairs",
            "MOFA-LA",
            "ກະຊວງການຕ່າງປະເທດ",
            "ministry",
        ),
        (
            "LA",
            "Ministry of Planning and Investment",
            "MPI-LA",
            "ກະຊວງແຜນການ ແລະ ການລົງທຶນ",
            "ministry",
        ),
        (
            "MM",
            "Ministry of Foreign Affairs",
            "MOFA-MM",
            "နိုင်ငံခြားရေးဝန်ကြီးဌာန",
            "ministry",
        ),
        (
            "MM",
            "Ministry of Planning and Finance",
            "MOPF",
            "စီမံကိန်းနှင့်ဘဏ္ဍာရေးဝန်ကြီးဌာန",
            "ministry",
        ),
        (
            "TH",
            "Ministry of Foreign Affairs",
            "MFA-TH",
            "กระทรวงการต่างประเทศ",
            "ministry",
        ),
        (
            "TH",
            "Office of the National Economic and Social Development Council",
            "NESDC",
            "สำนักงานสภาพัฒนาการเศรษฐกิจและสังคมแห่งชาติ",
            "agency",
        ),
        (
            "VN",
            "Ministry of Foreign Affairs",
            "MOFA-VN",
            "Bộ Ngoại giao",
            "ministry",
        ),
        (
            "VN",
            "Ministry of Planning and Investment",
            "MPI-VN",
            "Bộ Kế hoạch và Đầu tư",
            "ministry",
        ),
    ];
    let mut ids = Vec::new();
    for (country, name, acronym, native, kind) in orgs {
        ids.push(l.add(Entity::Organisation, json!({"name": name, "acronym": acronym, "native_name": native, "kind": kind, "country": country}))?);
    }
    let mfa_th = ids[6].clone();
    let ais = l.add(Entity::Organisation, json!({"name": "ACMECS Interim Secretariat", "acronym": "AIS", "kind": "secretariat", "country": "TH", "parent": mfa_th, "notes": "Hosted by the Mekong Cooperation Unit, Ministry of Foreign Affairs of Thailand."}))?;
    let mi = l.add(Entity::Organisation, json!({"name": "Mekong Institute", "acronym": "MI", "kind": "institute", "country": "TH", "native_name": "สถาบันแม่โขง", "notes": "Back office of the ACMECS Interim Secretariat since the MOU of 2 February 2024."}))?;
    let partners: [(&str, &str, &str); 9] = [
        ("Asian Development Bank", "ADB", "PH"),
        ("Japan International Cooperation Agency", "JICA", "JP"),
        ("Korea International Cooperation Agency", "KOICA", "KR"),
        ("Department of Foreign Affairs and Trade", "DFAT", "AU"),
        ("United States Department of State", "DOS", "US"),
        (
            "Neighbouring Countries Economic Development Cooperation Agency",
            "NEDA",
            "TH",
        ),
        ("Mekong River Commission Secretariat", "MRCS", "LA"),
        ("World Bank", "WB", "US"),
        (
            "Deutsche Gesellschaft für Internationale Zusammenarbeit",
            "GIZ",
            "DE",
        ),
    ];
    let mut partner_ids = Vec::new();
    for (name, acronym, country) in partners {
        partner_ids.push(l.add(Entity::Organisation, json!({"name": name, "acronym": acronym, "kind": "development_partner", "country": country, "classification": "public"}))?);
    }

    // Contacts: per member, 6 people (the first is the SOM leader) at the MFA or planning agency.
    let mut contacts = Vec::new();
    for (i, p) in MEMBERS.iter().enumerate() {
        for k in 0..6 {
            let (name, native, given, family, mut hon) = person(p, &mut rng);
            let org = &ids[2 * i + usize::from(k % 3 == 2)];
            let (title, tags, prec) = if k == 0 {
                hon = if p.code == "MM" {
                    hon
                } else {
                    "H.E.".to_string()
                };
                (
                    "Permanent Secretary, SOM Leader for ACMECS",
                    json!(["som_leader"]),
                    1,
                )
            } else if k == 1 {
                (
                    "Director-General, Department of ASEAN Affairs",
                    json!(["focal_point"]),
                    2,
                )
            } else {
                (*rng.pick(TITLES), json!([]), 3 + k as i64)
            };
            let email = format!(
                "{}.{}@mfa.example.{}",
                given.to_lowercase().replace(' ', ""),
                k,
                p.code.to_lowercase()
            );
            let id = l.add(
                Entity::Contact,
                json!({
                    "name": name, "native_name": native, "given_name": given, "family_name": family,
                    "honorific": hon, "title": title, "org": org, "country": p.code, "email": email,
                    "precedence": prec, "tags": tags, "languages": ["en"],
                }),
            )?;
            contacts.push((id, p.code));
        }
    }
    for (name, title, org) in [
        (
            "Emily Carter",
            "Deputy Assistant Secretary",
            &partner_ids[4],
        ),
        ("Hiroshi Tanaka", "Chief Representative", &partner_ids[1]),
        ("Min-jun Kim", "Country Director", &partner_ids[2]),
        (
            "Sarah Mitchell",
            "Counsellor, Mekong Programme",
            &partner_ids[3],
        ),
        ("Dr Watcharas Leelawath", "Executive Director", &mi),
        (
            "Nattaya Chanpen",
            "Programme Manager, Secretariat Support",
            &mi,
        ),
        ("Pimchanok Saelim", "Head, ACMECS Interim Secretariat", &ais),
    ] {
        let id = l.add(
            Entity::Contact,
            json!({"name": name, "title": title, "org": org, "classification": "public"}),
        )?;
        contacts.push((id, ""));
    }

    // Prioritized Projects under the Master Plan, across the three pillars.
    let themes: [(&str, &str, &[&str]); 3] = [
        (
            "seamless_connectivity",
            "SC",
            &[
                "Southern Economic Corridor road upgrade, Poipet – Siem Reap",
                "Single-stop inspection at Savannakhet – Mukdahan",
                "Dawei – Htee Khee – Phu Nam Ron road link",
                "Cross-border rail feasibility, Vientiane – Nong Khai",
                "Harmonised transit documents for road freight",
                "Mekong river ports modernisation",
                "Regional power interconnection study",
                "ACMECS single visa pilot",
                "Border crossing digital queueing",
                "Air connectivity between secondary cities",
                "Cold-chain logistics hubs",
                "Inland waterway navigation aids",
                "East–West Economic Corridor bridge maintenance",
                "Rural feeder roads to border markets",
            ],
        ),
        (
            "synchronized_economies",
            "SE",
            &[
                "Cross-border QR payment linkage",
                "ACMECS trade facilitation portal",
                "SME export readiness programme",
                "Special economic zones investment promotion",
                "Mutual recognition of skills certificates",
                "Tourism circuit: Mekong heritage route",
                "Customs data exchange pilot",
                "Regional agricultural value chains",
                "Digital trade and e-commerce capacity",
                "Harmonised sanitary and phytosanitary standards",
                "Migrant worker skills and remittances",
                "Rice trade information system",
                "Creative economy and handicrafts market access",
            ],
        ),
        (
            "smart_and_sustainable",
            "SS",
            &[
                "Mekong water data sharing platform",
                "Smart agriculture for smallholder farmers",
                "Flood and drought early warning",
                "Transboundary haze prevention",
                "Renewable energy for border communities",
                "Public health emergency preparedness network",
                "Smart cities pilot: Luang Prabang and Hue",
                "Plastic waste reduction in the Mekong",
                "Climate-resilient rural infrastructure",
                "Human resource development for the digital economy",
                "Biodiversity corridors in the Dawna Tenasserim landscape",
                "ACMECS scholarship and fellowship programme",
                "Disaster risk financing study",
            ],
        ),
    ];
    let codes = ["KH", "LA", "MM", "TH", "VN"];
    let statuses = [
        "proposed",
        "approved",
        "ongoing",
        "ongoing",
        "ongoing",
        "completed",
    ];
    let mut projects = Vec::new();
    for (pillar, prefix, titles) in themes {
        for (n, title) in titles.iter().enumerate() {
            let lead = codes[rng.below(5)];
            let mut countries = vec![lead];
            for c in codes {
                if c != lead && rng.below(2) == 0 {
                    countries.push(c);
                }
            }
            let budget = (5 + rng.below(60)) as f64 * 250_000.0;
            let secured = (budget * (rng.below(101) as f64) / 100.0).round();
            let start_year = 2022 + rng.below(4);
            let status = statuses[rng.below(statuses.len())];
            let partner = &partners[rng.below(partners.len())].1;
            let id = l.add(Entity::Project, json!({
                "code": format!("{prefix}-{:02}", n + 1), "title": title, "pillar": pillar,
                "sector": match prefix { "SC" => "transport and connectivity", "SE" => "trade and investment", _ => "environment and human development" },
                "status": status, "lead_country": lead, "countries": countries, "partners": [partner],
                "agencies": [format!("Ministry of Planning ({lead})")],
                "budget": budget, "currency": "USD", "funding_secured": secured,
                "start_date": format!("{start_year}-{:02}-01", 1 + rng.below(12)),
                "end_date": format!("{}-12-31", start_year + 3 + rng.below(3)),
                "summary": format!("{title}: a Prioritized Project of the ACMECS Master Plan (2019–2023, extended), led by {lead} with {partner} support."),
                "classification": if rng.below(5) == 0 { "restricted" } else { "internal" },
                "scope": countries,
            }))?;
            for (k, m) in [
                "Feasibility study completed",
                "Financing agreement signed",
                "Implementation started",
                "Mid-term review",
            ]
            .iter()
            .enumerate()
            {
                let due_year = start_year + k;
                let done = due_year < 2026 && rng.below(3) > 0;
                l.add(Entity::Milestone, json!({"project": id, "title": m, "due_date": format!("{due_year}-06-30"),
                    "status": if done { "done" } else if due_year < 2026 { "delayed" } else { "planned" },
                    "completed_date": if done { Value::from(format!("{due_year}-06-15")) } else { Value::Null }}))?;
            }
            for (k, (name, unit, target)) in [
                ("Beneficiaries reached", "persons", 5000.0),
                ("Officials trained", "persons", 300.0),
                ("Budget disbursed", "% of total", 100.0),
            ]
            .iter()
            .enumerate()
            {
                let actual = (target * rng.below(110) as f64 / 100.0).round();
                let ind = l.add(Entity::Indicator, json!({"project": id, "name": name, "unit": unit, "baseline": 0, "target": target, "actual": actual, "as_of": "2026-09-30", "position": k}))?;
                // The first two quarters' values (the third is the indicator's own actual).
                for (date, share) in [("2026-03-31", 0.4), ("2026-06-30", 0.7)] {
                    l.add(
                        Entity::IndicatorValue,
                        json!({"indicator": ind, "date": date, "value": (actual * share).round()}),
                    )?;
                }
            }
            let rag = ["green", "amber", "red"][rng.below(3)];
            l.add(Entity::Update, json!({"project": id, "period_end": "2026-09-30", "rag": rag,
                "narrative": format!("Progress in the third quarter of 2026 was {}. {}", match rag { "green" => "on track", "amber" => "slower than planned", _ => "seriously delayed" }, "Coordination with line ministries continued."),
                "risks": "Exchange-rate movements; staff turnover in implementing agencies."}))?;
            projects.push(id);
        }
    }

    // Meetings: a Summit, SOMs (past and upcoming), partner meetings.
    type MeetingSeed<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
    );
    let meetings: [MeetingSeed; 8] = [
        (
            "10th ACMECS Summit",
            "10th ACMECS Summit",
            "summit",
            "ACMECS",
            "2023-11-02",
            "2023-11-02",
            "Bangkok",
            "TH",
            "held",
        ),
        (
            "ACMECS Senior Officials' Meeting 2024",
            "ACMECS SOM 2024",
            "senior_officials",
            "ACMECS",
            "2024-03-12",
            "2024-03-13",
            "Vientiane",
            "LA",
            "held",
        ),
        (
            "Mekong-U.S. Partnership Senior Officials' Meeting",
            "MUSP SOM 2024",
            "partner_framework",
            "Mekong-U.S. Partnership",
            "2024-06-05",
            "2024-06-05",
            "Vientiane",
            "LA",
            "held",
        ),
        (
            "Friends of the Mekong Senior Officials' Meeting",
            "FoM SOM 2024",
            "partner_framework",
            "Friends of the Mekong",
            "2024-06-06",
            "2024-06-06",
            "Vientiane",
            "LA",
            "held",
        ),
        (
            "ACMECS Senior Officials' Meeting 2025",
            "ACMECS SOM 2025",
            "senior_officials",
            "ACMECS",
            "2025-08-19",
            "2025-08-20",
            "Phnom Penh",
            "KH",
            "held",
        ),
        (
            "ACMECS Working Group on Connectivity",
            "ACMECS WG-C 2026",
            "working_group",
            "ACMECS",
            "2026-04-21",
            "2026-04-22",
            "Hanoi",
            "VN",
            "held",
        ),
        (
            "ACMECS Senior Officials' Meeting 2026",
            "ACMECS SOM 2026",
            "senior_officials",
            "ACMECS",
            "2026-12-08",
            "2026-12-09",
            "Vientiane",
            "LA",
            "confirmed",
        ),
        (
            "11th ACMECS Summit",
            "11th ACMECS Summit",
            "summit",
            "ACMECS",
            "2027-05-20",
            "2027-05-20",
            "Vientiane",
            "LA",
            "planned",
        ),
    ];
    let agenda: [(&str, &str, &str); 7] = [
        (
            "Opening remarks by the Chair",
            "To open the meeting.",
            "To note.",
        ),
        (
            "Adoption of the agenda",
            "To agree the order of business.",
            "To adopt.",
        ),
        (
            "Progress report on the ACMECS Master Plan Prioritized Projects",
            "To review implementation by pillar.",
            "To note and provide guidance.",
        ),
        (
            "Cooperation with Development Partners",
            "To review partnership arrangements and the ACMECS Fund.",
            "To endorse the proposed arrangements.",
        ),
        (
            "Report of the ACMECS Interim Secretariat",
            "To consider the work plan and budget of the AIS.",
            "To approve.",
        ),
        (
            "Preparations for the next ACMECS Summit",
            "To agree deliverables and the draft declaration.",
            "To task the secretariat.",
        ),
        (
            "Other matters and date of the next meeting",
            "",
            "To decide.",
        ),
    ];
    let mut previous_decisions: Vec<String> = Vec::new();
    for (mi_, (title, short, kind, framework, start, end, city, host, status)) in
        meetings.iter().enumerate()
    {
        let m = l.add(Entity::Meeting, json!({"title": title, "short_title": short, "kind": kind, "framework": framework,
            "start_date": start, "end_date": end, "timezone": if *host == "VN" { "Asia/Ho_Chi_Minh" } else if *host == "KH" { "Asia/Phnom_Penh" } else if *host == "LA" { "Asia/Vientiane" } else { "Asia/Bangkok" },
            "start_time": if *kind == "summit" { "10:00" } else { "09:00" }, "end_time": if *kind == "summit" { "12:30" } else { "17:30" },
            "city": city, "host_country": host, "venue": format!("National Convention Centre, {city}"), "status": status,
            "classification": if *kind == "summit" { "public" } else { "internal" }}))?;
        let mut item_ids = Vec::new();
        for (k, (t, purpose, action)) in agenda.iter().enumerate() {
            let mut v = json!({"meeting": m, "number": format!("{}", k + 1), "title": t, "position": k, "purpose": purpose, "action_requested": action,
                "lead_country": codes[k % 5]});
            if k == 2 {
                v["projects"] = json!([
                    projects[mi_ % projects.len()],
                    projects[(mi_ + 7) % projects.len()]
                ]);
                v["objectives"] =
                    json!("Secure agreement to re-prioritise delayed connectivity projects.");
                v["points_to_make"] = json!("Welcome progress on the Southern Economic Corridor.\nUrge timely reporting by lead countries.");
                v["their_objectives"] =
                    json!("Partners seek clearer co-financing commitments from member countries.");
                v["our_response"] = json!("Commit to present a financing matrix at the next SOM.");
                v["press_line"] =
                    json!("ACMECS members reviewed steady progress on the Master Plan.");
                v["background"] =
                    json!("Twelve Prioritized Projects report amber or red ratings this quarter.");
            }
            item_ids.push(l.add(Entity::AgendaItem, v)?);
        }
        // Delegations: head of delegation first, then delegates; partners and secretariat for SOMs.
        for (ci, code) in codes.iter().enumerate() {
            let members: Vec<&(String, &str)> =
                contacts.iter().filter(|(_, c)| c == code).collect();
            for (k, (cid, _)) in members.iter().take(3).enumerate() {
                l.add(Entity::Participant, json!({"meeting": m, "contact": cid, "delegation": code,
                    "role": if k == 0 { "head_of_delegation" } else if k == 1 { "alternate" } else { "delegate" },
                    "attendance": if *status == "held" { "attended" } else { "confirmed" }, "precedence": k + 1}))?;
            }
            let _ = ci;
        }
        for (cid, _) in contacts.iter().filter(|(_, c)| c.is_empty()).take(3) {
            l.add(Entity::Participant, json!({"meeting": m, "contact": cid, "role": "development_partner", "attendance": "confirmed"}))?;
        }
        if *status == "held" {
            let d1 = l.add(Entity::Decision, json!({"meeting": m, "agenda_item": item_ids[2], "number": "1",
                "text": "The Meeting noted the progress of the Prioritized Projects and requested lead countries to submit quarterly monitoring updates to the ACMECS Interim Secretariat."}))?;
            let d2 = l.add(Entity::Decision, json!({"meeting": m, "agenda_item": item_ids[3], "number": "2",
                "text": "The Meeting endorsed the framework for cooperation with Development Partners and tasked Thailand, as coordinator, to consult partners on co-financing."}))?;
            previous_decisions.push(d1.clone());
            for (k, (title, owner, due, st)) in [
                (
                    "Submit quarterly monitoring updates for all Prioritized Projects",
                    "Lead countries",
                    "2025-01-31",
                    "ongoing",
                ),
                (
                    "Consult Development Partners on co-financing of the ACMECS Fund",
                    "Thailand",
                    "2025-06-30",
                    "completed",
                ),
                (
                    "Circulate draft Summit declaration",
                    "ACMECS Interim Secretariat",
                    "2026-10-15",
                    "not_started",
                ),
            ]
            .iter()
            .enumerate()
            {
                l.add(Entity::Action, json!({"meeting": m, "decision": if k == 1 { &d2 } else { &d1 }, "title": title, "owner": owner,
                    "owner_country": if *owner == "Thailand" { "TH" } else { "" }, "due_date": due, "status": st}))?;
            }
        }
        for (k, text) in [
            "Reaffirm the commitment of member countries to the ACMECS Master Plan.",
            "Thank Lao PDR, as Chair, for its leadership and hospitality.",
            "Welcome the role of the Mekong Institute as back office to the Interim Secretariat.",
        ]
        .iter()
        .enumerate()
        {
            l.add(
                Entity::TalkingPoint,
                json!({"meeting": m, "text": text, "position": k}),
            )?;
        }
        l.add(Entity::Document, json!({"title": format!("Provisional agenda: {short}"), "symbol": format!("ACMECS/{}/{}/DOC/001", if *kind == "summit" { "SUMMIT" } else { "SOM" }, &start[..4]), "kind": "agenda", "status": if *status == "held" { "adopted" } else { "circulated" }, "meeting": m}))?;
    }
    let _ = previous_decisions;
    let mfa = (0..5).map(|i| ids[2 * i].clone()).collect();
    Ok(Small { mfa, projects })
}

fn demo_large(l: &mut Loader<'_, '_>, small: &Small) -> Result<()> {
    let mut rng = Rng(0x1A26_E0DE_3000_0001);
    let codes = ["KH", "LA", "MM", "TH", "VN"];
    // 2,000 agencies, 100,000 contacts, 10,000 meetings with agendas and delegations.
    let mut orgs = small.mfa.clone();
    for i in 0..2_000 {
        let c = codes[i % 5];
        orgs.push(l.add(Entity::Organisation, json!({"name": format!("Provincial Department {} of {}", i / 5 + 1, c), "acronym": format!("PD{}-{c}", i / 5 + 1), "kind": "agency", "country": c}))?);
    }
    let mut contact_ids = Vec::with_capacity(100_000);
    for i in 0..100_000 {
        let p = &MEMBERS[i % 5];
        let (name, native, given, family, hon) = person(p, &mut rng);
        contact_ids.push(l.add(Entity::Contact, json!({
            "name": name, "native_name": native, "given_name": given, "family_name": family, "honorific": hon,
            "title": rng.pick(TITLES), "org": orgs[rng.below(orgs.len())], "country": p.code,
            "email": format!("user{i}@example.{}", p.code.to_lowercase()),
        }))?);
    }
    const CITIES: [&str; 5] = ["Bangkok", "Vientiane", "Phnom Penh", "Yangon", "Hanoi"];
    const ITEMS: [&str; 3] = [
        "Adoption of the agenda",
        "Progress report",
        "Any other business",
    ];
    let kinds = [
        "working_group",
        "workshop",
        "senior_officials",
        "coordinating_committee",
    ];
    const FRAMEWORKS: [&str; 3] = ["ACMECS", "Mekong-U.S. Partnership", "Friends of the Mekong"];
    for i in 0..10_000 {
        let host = codes[i % 5];
        let year = 2000 + (i % 27);
        let m = l.add(Entity::Meeting, json!({"title": format!("{} meeting {} on {}", ["ACMECS", "Mekong-U.S. Partnership", "Friends of the Mekong"][i % 3], i + 1, ["connectivity", "trade facilitation", "water resources", "digital economy", "human resources"][rng.below(5)]),
            "framework": FRAMEWORKS[i % 3], "kind": kinds[i % 4], "start_date": format!("{year}-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28)),
            "host_country": host, "city": CITIES[i % 5], "status": "held"}))?;
        for (k, title) in ITEMS.iter().enumerate() {
            l.add(Entity::AgendaItem, json!({"meeting": m, "number": format!("{}", k + 1), "title": title, "position": k}))?;
        }
        for (k, code) in codes.iter().enumerate() {
            l.add(Entity::Participant, json!({"meeting": m, "contact": contact_ids[rng.below(contact_ids.len())], "delegation": code,
                "role": if k == 0 { "head_of_delegation" } else { "delegate" }, "attendance": "attended"}))?;
        }
        let d = l.add(
            Entity::Decision,
            json!({"meeting": m, "number": "1", "text": "The Meeting noted the progress report."}),
        )?;
        l.add(Entity::Action, json!({"meeting": m, "decision": d, "title": "Report progress at the next meeting", "owner_country": host, "due_date": format!("{year}-12-31"), "status": "completed"}))?;
    }
    big_pack_meeting(l, small, &contact_ids, &mut rng)
}

/// A meeting whose briefing pack runs to about a hundred pages (the benchmark's case): the
/// Master Plan review, where every Prioritized Project is on the table. A preparatory working
/// group took 30 decisions and left 200 open action items; 600 delegates attend.
fn big_pack_meeting(
    l: &mut Loader<'_, '_>,
    small: &Small,
    contact_ids: &[String],
    rng: &mut Rng,
) -> Result<()> {
    let codes = ["KH", "LA", "MM", "TH", "VN"];
    let prep = l.add(Entity::Meeting, json!({"title": "ACMECS Working Group on the Master Plan Review", "short_title": "ACMECS WG-MPR 2027",
        "kind": "working_group", "framework": "ACMECS", "start_date": "2027-01-18", "end_date": "2027-01-19", "timezone": "Asia/Bangkok",
        "city": "Bangkok", "host_country": "TH", "venue": "Ministry of Foreign Affairs, Bangkok", "status": "held", "classification": "internal"}))?;
    let mut decisions = Vec::new();
    for k in 0..30 {
        decisions.push(l.add(Entity::Decision, json!({"meeting": prep, "number": format!("{}", k + 1),
            "text": format!("The Working Group reviewed Pillar {} of the Master Plan and recommended that lead countries update the financing plans of the projects concerned before the Special Senior Officials' Meeting.", k % 3 + 1)}))?);
    }
    const TASKS: [&str; 5] = [
        "Update the financing plan and submit it to the ACMECS Interim Secretariat",
        "Confirm the national focal point and the project team",
        "Report on land acquisition and resettlement safeguards",
        "Consult development partners on co-financing and technical assistance",
        "Circulate the revised results framework with baselines and targets",
    ];
    for k in 0..200 {
        l.add(Entity::Action, json!({"meeting": prep, "decision": decisions[k % decisions.len()], "title": format!("{} ({})", TASKS[k % 5], k / 5 + 1),
            "owner_country": codes[k % 5], "due_date": format!("2027-{:02}-{:02}", 1 + k % 6, 1 + rng.below(28)),
            "status": if k % 3 == 0 { "not_started" } else { "ongoing" }}))?;
    }
    let m = l.add(Entity::Meeting, json!({"title": "Special ACMECS Senior Officials' Meeting on the Review of the ACMECS Master Plan",
        "short_title": "Special ACMECS SOM 2027", "kind": "senior_officials", "framework": "ACMECS",
        "start_date": "2027-03-15", "end_date": "2027-03-16", "timezone": "Asia/Bangkok", "city": "Chiang Mai", "host_country": "TH",
        "venue": "Chiang Mai International Exhibition and Convention Centre", "status": "planned", "classification": "restricted"}))?;
    for k in 0..20 {
        let pillar = [
            "Seamless Connectivity",
            "Synchronized Economies",
            "Smart and Sustainable Development",
        ][k % 3];
        l.add(Entity::AgendaItem, json!({"meeting": m, "number": format!("{}", k + 1), "position": k,
            "title": format!("Review of {pillar}: Prioritized Projects {} and {}", 2 * k + 1, 2 * k + 2),
            "purpose": format!("To review implementation, financing and risks of the projects under {pillar}."),
            "action_requested": "To note progress and endorse the recommendations of the Working Group.",
            "lead_country": codes[k % 5],
            "projects": [small.projects[(2 * k) % small.projects.len()], small.projects[(2 * k + 1) % small.projects.len()]],
            "objectives": "Secure agreement on revised timelines and on who finances the remaining gap.",
            "points_to_make": "Welcome the progress reported by lead countries.\nStress that delayed projects need a financing plan before the next Summit.\nInvite development partners to align their programmes with the Master Plan.",
            "their_objectives": "Development partners seek clear national ownership and co-financing commitments.",
            "our_response": "Commit to submit updated financing plans through the ACMECS Interim Secretariat within three months.",
            "press_line": "ACMECS senior officials reviewed the Master Plan and agreed next steps for the Prioritized Projects.",
            "background": "The Working Group on the Master Plan Review met in January 2027 and left 200 action items open."}))?;
    }
    for (ci, code) in codes.iter().enumerate() {
        for k in 0..120 {
            let c = &contact_ids[(ci + 5 * (k * 37 + 11)) % contact_ids.len()];
            l.add(Entity::Participant, json!({"meeting": m, "contact": c, "delegation": code,
                "role": if k == 0 { "head_of_delegation" } else if k == 1 { "alternate" } else { "delegate" },
                "attendance": "confirmed", "precedence": k + 1}))?;
        }
    }
    for k in 0..100 {
        l.add(Entity::TalkingPoint, json!({"meeting": m, "position": k,
            "text": format!("Point {}: underline the shared commitment of ACMECS members to the Master Plan and to timely, transparent reporting on each Prioritized Project.", k + 1)}))?;
    }
    for k in 0..160 {
        l.add(Entity::Document, json!({"meeting": m, "title": format!("Review paper {}: Prioritized Projects {} and {}", k + 1, 2 * (k % 20) + 1, 2 * (k % 20) + 2),
            "symbol": format!("ACMECS/SSOM/2027/DOC/{:03}", k + 1), "kind": "information_paper", "status": "circulated"}))?;
    }
    Ok(())
}

//! Precedence (diplomatic protocol): who comes first, and how people are named and addressed,
//! by the rules of each member country (its order of delegations, its forms of address, its
//! order of names). Used by the app, the briefing packs and exports alike.
//!
//! Names are stored as people write them: `name` in Latin script in the culture's own order
//! (Khmer and Vietnamese family name first), `native_name` in the native script, and where
//! known `given_name` / `family_name`. Honorifics are stored apart (`H.E.`, `Dr`, `Samdech`,
//! `Mr.`, `Ms.`, `U`, `Daw`); gender, where recorded, picks gendered forms of address.

use crate::error::Result;
use crate::replica::{Record, Replica};
use crate::schema::{country, Entity};
use crate::text::fold;
use crate::ListQuery;
use serde::Serialize;
use std::cmp::Ordering;

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Female,
    Male,
    Unspecified,
}

/// The parts of a person's name protocol needs.
#[derive(Debug, Clone, Default)]
pub struct PersonName {
    pub country: Option<String>,
    pub honorific: Option<String>,
    pub given: Option<String>,
    pub family: Option<String>,
    /// Full Latin-script name as written in the culture's order.
    pub name: String,
    pub native: Option<String>,
    pub gender: Option<Gender>,
}

/// What the stored honorific and the honorifics written into a name say.
#[derive(Debug, Default, Clone, Copy)]
struct Titles {
    excellency: bool,
    samdech: bool,
    /// A doctor or professor (addressed as a doctor where the language has no professor form).
    doctor: bool,
    professor: bool,
    gender: Option<Gender>,
}

impl Titles {
    fn add(&mut self, h: &Honorific) {
        match h.class {
            Class::Excellency => self.excellency = true,
            Class::Samdech => self.samdech = true,
            Class::Doctor => self.doctor = true,
            Class::Professor => {
                self.doctor = true;
                self.professor = true;
            }
            Class::Courtesy | Class::Rank => {}
        }
        if self.gender.is_none() {
            self.gender = h.gender;
        }
    }
}

/// What an honorific is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Mr, Ms, คุณ, ທ່ານ, លោក, ဦး, Ông …: the generic courtesy title, gendered or not.
    Courtesy,
    /// H.E., ฯพณฯ, ឯកឧត្តម, លោកជំទាវ, Ngài.
    Excellency,
    /// Samdech, សម្តេច (Cambodia).
    Samdech,
    /// Dr, ดร., ດຣ., ປອ., បណ្ឌិត, ဒေါက်တာ, TS.
    Doctor,
    /// Prof., ศ., รศ., ผศ., GS., PGS.
    Professor,
    /// Other titles kept as written: military and police ranks (พล.อ.), ThS., ឧកញ៉ា.
    Rank,
}

/// An honorific as it may start a name.
#[derive(Debug)]
struct Honorific {
    /// As written (native script), or lower case without dots (Latin script).
    text: &'static str,
    class: Class,
    gender: Option<Gender>,
    /// Only in names of this country (words that are also names elsewhere: Ma, Ko, Anh).
    only: Option<&'static str>,
    /// May be written joined to the name (ดร.ประเสริฐ, ဦးအောင်ကျော်); otherwise a space must
    /// follow (short words that also begin names: Myanmar မ, ကို).
    joined: bool,
}

const fn hon(text: &'static str, class: Class, gender: Option<Gender>) -> Honorific {
    Honorific {
        text,
        class,
        gender,
        only: None,
        joined: true,
    }
}

const M: Option<Gender> = Some(Gender::Male);
const F: Option<Gender> = Some(Gender::Female);

/// Honorifics in native scripts, longest first where one begins another (นางสาว before นาง,
/// ທ່ານນາງ before ທ່ານ, លោកស្រី before លោក). Thai and Lao abbreviations not listed here (ranks
/// such as พล.อ.) are recognised by their dots.
static NATIVE: &[Honorific] = &[
    // Thai
    hon("ฯพณฯ", Class::Excellency, None),
    hon("นางสาว", Class::Courtesy, F),
    hon("นาง", Class::Courtesy, F),
    hon("นาย", Class::Courtesy, M),
    hon("คุณ", Class::Courtesy, None),
    hon("ดร.", Class::Doctor, None),
    hon("นพ.", Class::Doctor, M),
    hon("พญ.", Class::Doctor, F),
    hon("ศ.", Class::Professor, None),
    hon("รศ.", Class::Professor, None),
    hon("ผศ.", Class::Professor, None),
    // Lao
    hon("ທ່ານນາງ", Class::Courtesy, F),
    hon("ທ່ານ", Class::Courtesy, None),
    hon("ທ້າວ", Class::Courtesy, M),
    hon("ນາງ", Class::Courtesy, F),
    hon("ດຣ.", Class::Doctor, None),
    hon("ປອ.", Class::Doctor, None),
    // Khmer
    hon("សម្តេច", Class::Samdech, None),
    hon("សម្ដេច", Class::Samdech, None),
    hon("ឯកឧត្តម", Class::Excellency, M),
    hon("លោកជំទាវ", Class::Excellency, F),
    hon("លោកស្រី", Class::Courtesy, F),
    hon("លោក", Class::Courtesy, M),
    hon("អ្នកស្រី", Class::Courtesy, F),
    hon("បណ្ឌិត", Class::Doctor, None),
    hon("ឧកញ៉ា", Class::Rank, None),
    // Myanmar
    hon("ဒေါက်တာ", Class::Doctor, None),
    hon("ဦး", Class::Courtesy, M),
    hon("ဒေါ်", Class::Courtesy, F),
    Honorific {
        text: "မောင်",
        class: Class::Courtesy,
        gender: M,
        only: None,
        joined: false,
    },
    Honorific {
        text: "ကို",
        class: Class::Courtesy,
        gender: M,
        only: None,
        joined: false,
    },
    Honorific {
        text: "မ",
        class: Class::Courtesy,
        gender: F,
        only: None,
        joined: false,
    },
];

/// Honorifics in Latin script (English, Vietnamese, and the Latin forms of the others), lower
/// case without dots: `H.E.` is `he`, `Dr.` and `Dr` are `dr`.
static LATIN: &[Honorific] = &[
    hon("mr", Class::Courtesy, M),
    hon("mrs", Class::Courtesy, F),
    hon("ms", Class::Courtesy, F),
    hon("miss", Class::Courtesy, F),
    hon("madam", Class::Courtesy, F),
    hon("dr", Class::Doctor, None),
    hon("prof", Class::Professor, None),
    hon("professor", Class::Professor, None),
    hon("he", Class::Excellency, None),
    hon("excellency", Class::Excellency, None),
    hon("samdech", Class::Samdech, None),
    // Vietnamese
    hon("ông", Class::Courtesy, M),
    hon("bà", Class::Courtesy, F),
    hon("chị", Class::Courtesy, F),
    Honorific {
        text: "anh",
        class: Class::Courtesy,
        gender: M,
        only: Some("VN"),
        joined: false,
    },
    hon("ngài", Class::Excellency, None),
    hon("ts", Class::Doctor, None),
    hon("pgs", Class::Professor, None),
    hon("gs", Class::Professor, None),
    hon("ths", Class::Rank, None),
    // Myanmar, Thai, Lao, Khmer in Latin script
    Honorific {
        text: "u",
        class: Class::Courtesy,
        gender: M,
        only: Some("MM"),
        joined: false,
    },
    Honorific {
        text: "daw",
        class: Class::Courtesy,
        gender: F,
        only: Some("MM"),
        joined: false,
    },
    Honorific {
        text: "khun",
        class: Class::Courtesy,
        gender: None,
        only: Some("TH"),
        joined: false,
    },
];

/// Whether a letter can begin a syllable of a name in Thai, Lao, Khmer or Myanmar (a
/// consonant, an independent or a leading vowel), so that an honorific written joined to the
/// name is told apart from a name that merely begins with the same letters (คุณากร).
fn starts_syllable(c: char) -> bool {
    matches!(c as u32,
        0x0E01..=0x0E2E | 0x0E40..=0x0E44 // Thai
        | 0x0E81..=0x0EAE | 0x0EC0..=0x0EC4 | 0x0EDC..=0x0EDF // Lao
        | 0x1780..=0x17B3 // Khmer
        | 0x1000..=0x102A | 0x103F..=0x1049) // Myanmar
}

fn is_thai_or_lao_letter(c: char) -> bool {
    matches!(c as u32, 0x0E01..=0x0E4E | 0x0E81..=0x0ECE)
}

/// A Latin-script honorific at the start of `s`: (honorific, bytes it takes with the spaces
/// after it). `H.E.` needs its dots or capitals (He is also a name); a dotted abbreviation may
/// be joined to what follows (`Dr.Narong`, `PGS.TS.`).
fn latin_prefix(s: &str, code: &str) -> Option<(&'static Honorific, usize)> {
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    let whole = &s[..end];
    let mut candidates = vec![(whole, end)];
    if let Some(dot) = whole.find('.') {
        if dot + 1 < whole.len() {
            candidates.push((&whole[..=dot], dot + 1));
        }
    }
    for (token, end) in candidates {
        let plain: String = token
            .trim_end_matches([',', ':'])
            .to_lowercase()
            .chars()
            .filter(|c| *c != '.')
            .collect();
        if plain.is_empty() || (plain == "he" && !(token.contains('.') || token == "HE")) {
            continue;
        }
        let Some(h) = LATIN
            .iter()
            .find(|h| h.text == plain && h.only.is_none_or(|o| o == code))
        else {
            continue;
        };
        let rest = &s[end..];
        let after = rest.trim_start();
        // Nothing after it: the word is the name itself.
        if after.is_empty() || (!rest.starts_with(char::is_whitespace) && !token.ends_with('.')) {
            continue;
        }
        return Some((h, s.len() - after.len()));
    }
    None
}

/// A native-script honorific at the start of `s`, as [`latin_prefix`].
fn native_prefix(s: &str, code: &str) -> Option<(&'static Honorific, usize)> {
    static ABBREVIATION: Honorific = hon("", Class::Rank, None);
    let found = NATIVE
        .iter()
        .filter(|h| h.only.is_none_or(|o| o == code))
        .find_map(|h| {
            let rest = s.strip_prefix(h.text)?;
            let ok = match rest.chars().next() {
                Some(c) if c.is_whitespace() => true,
                Some(c) => h.joined && (h.text.ends_with('.') || starts_syllable(c)),
                None => false,
            };
            ok.then_some((h, h.text.len()))
        })
        .or_else(|| {
            // Thai and Lao abbreviations (ranks and titles): letters and dots, ending in a dot.
            let mut end = 0;
            for (i, c) in s.char_indices() {
                if c == '.' {
                    end = i + 1;
                } else if !is_thai_or_lao_letter(c) || i - end > 12 {
                    break;
                }
            }
            (end > 0 && s[..end].chars().any(is_thai_or_lao_letter)).then_some((&ABBREVIATION, end))
        })?;
    let (h, len) = found;
    let after = s[len..].trim_start();
    if after.is_empty() {
        return None;
    }
    Some((h, s.len() - after.len()))
}

/// The honorifics written at the start of a name (of any of the six languages, with or without
/// a space after them), each with the text it takes, and the name without them.
fn leading_honorifics<'a>(
    name: &'a str,
    code: &str,
) -> (Vec<(&'static Honorific, &'a str)>, &'a str) {
    let mut rest = name.trim_start();
    let mut found = Vec::new();
    while let Some((h, len)) = native_prefix(rest, code).or_else(|| latin_prefix(rest, code)) {
        found.push((h, &rest[..len]));
        rest = &rest[len..];
    }
    (found, rest)
}

/// What the stored honorific field says ("H.E. Dr", "Ms.", "Samdech", "U").
fn titles(honorific: Option<&str>, code: &str) -> Titles {
    let mut t = Titles::default();
    for word in honorific.unwrap_or_default().split([' ', ',']) {
        let plain: String = word
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| *c != '.')
            .collect();
        let h = LATIN
            .iter()
            .chain(NATIVE)
            .find(|h| h.text == plain || (h.text == word.trim() && !h.text.is_empty()));
        match h {
            // In the honorific field "U" and "Daw" are honorifics whatever the country.
            Some(h)
                if h.only.is_none() || h.only == Some(code) || matches!(h.text, "u" | "daw") =>
            {
                t.add(h)
            }
            _ => {}
        }
    }
    t
}

/// A name read for protocol: the Latin name and the native name without the honorifics
/// written into them, and every title the record states.
struct Read<'a> {
    titles: Titles,
    latin: String,
    native: Option<(Vec<(&'static Honorific, &'a str)>, &'a str)>,
}

impl PersonName {
    pub fn from_contact(rec: &Record) -> PersonName {
        let s = |f: &str| rec.str(f).map(str::to_string).filter(|v| !v.is_empty());
        PersonName {
            country: s("country"),
            honorific: s("honorific"),
            given: s("given_name"),
            family: s("family_name"),
            name: s("name").unwrap_or_default(),
            native: s("native_name"),
            gender: match rec.str("gender") {
                Some("female") => Some(Gender::Female),
                Some("male") => Some(Gender::Male),
                Some("unspecified") => Some(Gender::Unspecified),
                _ => None,
            },
        }
    }

    /// The name as protocol reads it: honorifics written into the Latin or native name are
    /// taken out of the name and counted with the stored honorific and gender.
    fn read(&self) -> Read<'_> {
        let code = self.code();
        let mut t = titles(self.honorific.as_deref(), code);
        let (latin_pre, latin) = leading_honorifics(&self.name, code);
        for (h, _) in &latin_pre {
            t.add(h);
        }
        let native = self.native.as_deref().map(|n| leading_honorifics(n, code));
        if let Some((pre, _)) = &native {
            for (h, _) in pre {
                t.add(h);
            }
        }
        if self.gender.is_some() {
            t.gender = self.gender;
        }
        Read {
            titles: t,
            latin: latin.to_string(),
            native,
        }
    }

    fn code(&self) -> &str {
        self.country.as_deref().unwrap_or("")
    }

    /// Given and family name in the culture's written order, or the stored name (without
    /// the honorifics written into it).
    fn ordered(&self, name: &str) -> String {
        match (&self.given, &self.family) {
            (Some(g), Some(f)) if matches!(self.code(), "KH" | "VN") => {
                // Vietnamese given names often carry a middle name: the stored full name
                // already has the right order, so prefer it when it contains both parts.
                if name.starts_with(f.as_str()) {
                    name.to_string()
                } else {
                    format!("{f} {g}")
                }
            }
            (Some(g), Some(f)) if self.code() != "MM" => format!("{g} {f}"),
            _ => name.to_string(),
        }
    }

    /// The name a person is called by: Thai and Lao by given name, Vietnamese by the last
    /// syllable, Myanmar by the whole name, others by family name.
    fn called(&self, name: &str) -> String {
        match self.code() {
            "TH" | "LA" => self.given.clone().unwrap_or_else(|| first_word(name)),
            "VN" => last_word(self.given.as_deref().unwrap_or(name)),
            "MM" | "KH" => self.ordered(name),
            _ => self.family.clone().unwrap_or_else(|| last_word(name)),
        }
    }

    /// Full name with titles for lists, badges and place cards, in Latin script:
    /// "H.E. Mr. Somchai Jaidee", "Samdech Sok Vanna", "U Aung Kyaw".
    pub fn formal(&self) -> String {
        let r = self.read();
        let t = r.titles;
        let mut parts: Vec<&str> = Vec::new();
        if t.excellency {
            parts.push("H.E.");
        }
        if t.samdech {
            parts.push("Samdech");
        }
        if t.professor {
            parts.push("Prof.");
        } else if t.doctor {
            parts.push("Dr");
        }
        let gendered = if self.code() == "MM" {
            match t.gender {
                Some(Gender::Male) => Some("U"),
                Some(Gender::Female) => Some("Daw"),
                _ => None,
            }
        } else if t.doctor || t.samdech {
            None
        } else {
            match t.gender {
                Some(Gender::Male) => Some("Mr."),
                Some(Gender::Female) => Some("Ms."),
                _ => None,
            }
        };
        if let Some(g) = gendered {
            parts.push(g);
        }
        let name = self.ordered(&r.latin);
        parts.push(&name);
        parts.join(" ")
    }

    /// How to address the person in a letter or in speech, in Latin script: "Khun Somchai",
    /// "Than Somphone", "Mr. An" (Ông An), "Daw Khin Myint", "Lok Sok Vanna",
    /// "Your Excellency" for an ambassador or minister, "Samdech" on first reference, "Dr
    /// Narong" for a doctor.
    pub fn salutation(&self) -> String {
        let r = self.read();
        let t = r.titles;
        if t.samdech {
            return format!("Samdech {}", self.ordered(&r.latin));
        }
        if t.excellency {
            return "Your Excellency".to_string();
        }
        let called = self.called(&r.latin);
        let female = t.gender == Some(Gender::Female);
        if t.professor {
            return format!("Prof. {called}");
        }
        if t.doctor {
            return format!("Dr {called}");
        }
        match self.code() {
            "TH" => format!("Khun {called}"),
            "LA" => format!("Than {called}"),
            "KH" => format!("{} {called}", if female { "Lok Srey" } else { "Lok" }),
            "MM" => match t.gender {
                Some(Gender::Female) => format!("Daw {called}"),
                Some(Gender::Male) => format!("U {called}"),
                _ => called,
            },
            _ => match t.gender {
                Some(Gender::Female) => format!("Ms. {called}"),
                Some(Gender::Male) => format!("Mr. {called}"),
                _ => self.ordered(&r.latin),
            },
        }
    }

    /// The native-script name with the native form of address: "คุณสมชาย ใจดี",
    /// "ឯកឧត្តម សុខ វណ្ណា", "ဦးအောင်ကျော်", "ທ່ານ ສົມພອນ ພົມມະວົງ", "Ông Nguyễn Văn An";
    /// a doctor as a doctor ("ดร.ณรงค์ ศรีสุข", "ດຣ. …", "បណ្ឌិត …", "ဒေါက်တာ…", "TS. …").
    /// A native name that already starts with an honorific keeps it and gets no second one;
    /// only an excellency's form is added where it is missing (in place of a plain courtesy
    /// title: "ឯកឧត្តម សុខ", not "ឯកឧត្តម លោក សុខ").
    /// None where no native name is recorded or the country has no rule here.
    pub fn native_formal(&self) -> Option<String> {
        let r = self.read();
        let (pre, bare) = r.native?;
        let t = r.titles;
        let female = t.gender == Some(Gender::Female);
        let code = self.code();
        if !pre.is_empty() {
            let native = self.native.as_deref().unwrap_or_default().trim();
            let has_rank = pre
                .iter()
                .any(|(h, _)| matches!(h.class, Class::Excellency | Class::Samdech));
            let lead = match code {
                _ if has_rank || !(t.excellency || t.samdech) => None,
                "TH" => Some("ฯพณฯ "),
                "KH" if t.samdech => Some("សម្តេច "),
                "KH" if female => Some("លោកជំទាវ "),
                "KH" => Some("ឯកឧត្តម "),
                "VN" => Some("Ngài "),
                _ => None,
            };
            return Some(match lead {
                None => native.to_string(),
                Some(lead) => {
                    let kept: String = pre
                        .iter()
                        .filter(|(h, _)| h.class != Class::Courtesy)
                        .map(|(_, text)| *text)
                        .collect();
                    format!("{lead}{kept}{bare}")
                }
            });
        }
        let native = bare;
        let doctor = t.doctor;
        Some(match code {
            "TH" if t.excellency && doctor => format!("ฯพณฯ ดร.{native}"),
            "TH" if t.excellency => format!("ฯพณฯ {native}"),
            "TH" if doctor => format!("ดร.{native}"),
            "TH" => format!("คุณ{native}"),
            "LA" if doctor && t.excellency => format!("ທ່ານ ດຣ. {native}"),
            "LA" if doctor => format!("ດຣ. {native}"),
            "LA" if female => format!("ທ່ານ ນາງ {native}"),
            "LA" => format!("ທ່ານ {native}"),
            "KH" if t.samdech => format!("សម្តេច {native}"),
            "KH" if t.excellency && female && doctor => format!("លោកជំទាវ បណ្ឌិត {native}"),
            "KH" if t.excellency && female => format!("លោកជំទាវ {native}"),
            "KH" if t.excellency && doctor => format!("ឯកឧត្តម បណ្ឌិត {native}"),
            "KH" if t.excellency => format!("ឯកឧត្តម {native}"),
            "KH" if doctor => format!("បណ្ឌិត {native}"),
            "KH" if female => format!("លោកស្រី {native}"),
            "KH" => format!("លោក {native}"),
            "MM" if doctor => format!("ဒေါက်တာ{native}"),
            "MM" => match t.gender {
                Some(Gender::Female) => format!("ဒေါ်{native}"),
                Some(Gender::Male) => format!("ဦး{native}"),
                _ => native.to_string(),
            },
            "VN" if t.excellency => format!("Ngài {native}"),
            "VN" if t.professor => format!("GS. {native}"),
            "VN" if doctor => format!("TS. {native}"),
            "VN" if female => format!("Bà {native}"),
            "VN" if t.gender == Some(Gender::Male) => format!("Ông {native}"),
            _ => native.to_string(),
        })
    }

    /// Key for alphabetical lists: Thai and Lao by given name, Vietnamese by the name a person
    /// is called by (last syllable) then family name, Khmer by family name (written first),
    /// Myanmar by the whole name (there is no family name), others by family then given name.
    /// Honorifics written into the name play no part.
    pub fn sort_key(&self) -> String {
        let name = self.read().latin;
        let key = match self.code() {
            "TH" | "LA" => format!(
                "{}\u{1}{}",
                self.called(&name),
                self.family.as_deref().unwrap_or("")
            ),
            "VN" => format!("{}\u{1}{}", self.called(&name), self.ordered(&name)),
            "KH" | "MM" => self.ordered(&name),
            _ => format!(
                "{}\u{1}{}",
                self.family.clone().unwrap_or_else(|| last_word(&name)),
                self.given.as_deref().unwrap_or(&name)
            ),
        };
        fold(&key)
    }
}

fn first_word(s: &str) -> String {
    s.split_whitespace().next().unwrap_or_default().to_string()
}
fn last_word(s: &str) -> String {
    s.split_whitespace().last().unwrap_or_default().to_string()
}

/// How a meeting orders its delegations (the meeting's `precedence` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrecedenceRule {
    /// Member countries in English alphabetical order, then other countries, then
    /// organisations: the ACMECS default.
    Alphabetical,
    HostFirst,
    ChairFirst,
    HostThenChair,
}

impl PrecedenceRule {
    pub fn parse(s: Option<&str>) -> PrecedenceRule {
        match s {
            Some("host_first") => PrecedenceRule::HostFirst,
            Some("chair_first") => PrecedenceRule::ChairFirst,
            Some("host_then_chair") => PrecedenceRule::HostThenChair,
            _ => PrecedenceRule::Alphabetical,
        }
    }
}

/// Who a delegation is: a country, an organisation, or no delegation (secretariat, staff).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DelegationKey {
    Country { code: String },
    Organisation { id: String, name: String },
    Unassigned,
}

impl DelegationKey {
    pub fn label(&self) -> String {
        match self {
            DelegationKey::Country { code } => {
                country(code).map_or(code.clone(), |c| c.name.to_string())
            }
            DelegationKey::Organisation { name, .. } => name.clone(),
            DelegationKey::Unassigned => "Secretariat and others".to_string(),
        }
    }
}

/// Orders delegations by the rule: host and/or chair first where the rule says so, then member
/// countries by English name, other countries by English name, organisations by name, and last
/// those with no delegation.
pub fn order_delegations(
    keys: &mut [DelegationKey],
    rule: PrecedenceRule,
    host: Option<&str>,
    chair: Option<&str>,
) {
    let first: Vec<&str> = match rule {
        PrecedenceRule::Alphabetical => vec![],
        PrecedenceRule::HostFirst => host.into_iter().collect(),
        PrecedenceRule::ChairFirst => chair.into_iter().collect(),
        PrecedenceRule::HostThenChair => host.into_iter().chain(chair).collect(),
    };
    let rank = |k: &DelegationKey| -> (usize, u8, String) {
        match k {
            DelegationKey::Country { code } => {
                let lead = first.iter().position(|f| f == code).unwrap_or(usize::MAX);
                let member = country(code).is_some_and(|c| c.member);
                (lead, if member { 0 } else { 1 }, fold(&k.label()))
            }
            DelegationKey::Organisation { name, .. } => (usize::MAX, 2, fold(name)),
            DelegationKey::Unassigned => (usize::MAX, 3, String::new()),
        }
    };
    keys.sort_by_key(rank);
}

/// Order of roles within a delegation.
pub fn role_rank(role: &str) -> u8 {
    match role {
        "head_of_delegation" => 0,
        "alternate" => 1,
        "delegate" => 2,
        "adviser" => 3,
        "observer" => 4,
        "development_partner" => 5,
        "secretariat" => 6,
        "rapporteur" => 7,
        "interpreter" => 8,
        _ => 9,
    }
}

/// One participant as protocol presents them.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize)]
pub struct Delegate {
    pub participant_id: String,
    pub contact_id: String,
    pub role: String,
    pub attendance: String,
    pub formal_name: String,
    pub native_name: Option<String>,
    pub salutation: String,
    pub title: Option<String>,
    pub sort_key: String,
}

/// A delegate with the participant's stated precedence and the contact's rank.
type Ranked = (Delegate, Option<i64>, Option<i64>);

/// A delegation and its members, head of delegation first.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize)]
pub struct Delegation {
    pub key: DelegationKey,
    pub label: String,
    pub members: Vec<Delegate>,
}

/// Orders members within a delegation: by role, then the participant's stated precedence, then
/// the contact's rank, then name.
fn member_order(
    a: &(Delegate, Option<i64>, Option<i64>),
    b: &(Delegate, Option<i64>, Option<i64>),
) -> Ordering {
    let key = |x: &(Delegate, Option<i64>, Option<i64>)| {
        (
            role_rank(&x.0.role),
            x.1.unwrap_or(i64::MAX),
            x.2.unwrap_or(i64::MAX),
            x.0.sort_key.clone(),
        )
    };
    key(a).cmp(&key(b))
}

impl Replica {
    /// The delegations of a meeting in protocol order, each with its members in order.
    pub fn delegations(&self, meeting_id: &str) -> Result<Vec<Delegation>> {
        let meeting = self.get(Entity::Meeting, meeting_id)?;
        let rule = PrecedenceRule::parse(meeting.str("precedence"));
        let chair_country = meeting
            .str("chair")
            .and_then(|c| self.get(Entity::Contact, c).ok())
            .and_then(|c| c.str("country").map(str::to_string));
        let participants = self.list(
            Entity::Participant,
            &ListQuery {
                parent: Some(meeting.id.clone()),
                ..Default::default()
            },
        )?;
        let mut groups: Vec<(DelegationKey, Vec<Ranked>)> = Vec::new();
        for p in participants {
            let Some(contact_id) = p.str("contact") else {
                continue;
            };
            let Ok(contact) = self.get(Entity::Contact, contact_id) else {
                continue;
            };
            let key = if let Some(code) = p.str("delegation") {
                DelegationKey::Country {
                    code: code.to_string(),
                }
            } else if let Some(org) = p
                .str("delegation_org")
                .and_then(|o| self.get(Entity::Organisation, o).ok())
            {
                DelegationKey::Organisation {
                    name: self.label(&org),
                    id: org.id,
                }
            } else {
                DelegationKey::Unassigned
            };
            let person = PersonName::from_contact(&contact);
            let d = Delegate {
                participant_id: p.id.clone(),
                contact_id: contact.id.clone(),
                role: p.str("role").unwrap_or("delegate").to_string(),
                attendance: p.str("attendance").unwrap_or("invited").to_string(),
                formal_name: person.formal(),
                native_name: person.native_formal(),
                salutation: person.salutation(),
                title: contact.str("title").map(str::to_string),
                sort_key: person.sort_key(),
            };
            let entry = (
                d,
                p.fields
                    .get("precedence")
                    .and_then(serde_json::Value::as_i64),
                contact
                    .fields
                    .get("precedence")
                    .and_then(serde_json::Value::as_i64),
            );
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(entry),
                None => groups.push((key, vec![entry])),
            }
        }
        let mut keys: Vec<DelegationKey> = groups.iter().map(|(k, _)| k.clone()).collect();
        order_delegations(
            &mut keys,
            rule,
            meeting.str("host_country"),
            chair_country.as_deref(),
        );
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(pos) = groups.iter().position(|(k, _)| *k == key) {
                let (key, mut members) = groups.swap_remove(pos);
                members.sort_by(member_order);
                out.push(Delegation {
                    label: key.label(),
                    key,
                    members: members.into_iter().map(|m| m.0).collect(),
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(
        country: &str,
        hon: &str,
        given: &str,
        family: &str,
        name: &str,
        native: &str,
    ) -> PersonName {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        PersonName {
            country: opt(country),
            honorific: opt(hon),
            given: opt(given),
            family: opt(family),
            name: name.to_string(),
            native: opt(native),
            gender: None,
        }
    }

    #[test]
    fn thai_people_are_addressed_and_sorted_by_given_name() {
        let a = p(
            "TH",
            "Mr.",
            "Somchai",
            "Jaidee",
            "Somchai Jaidee",
            "สมชาย ใจดี",
        );
        assert_eq!(a.formal(), "Mr. Somchai Jaidee");
        assert_eq!(a.salutation(), "Khun Somchai");
        assert_eq!(a.native_formal().as_deref(), Some("คุณสมชาย ใจดี"));
        let b = p("TH", "Ms.", "Anong", "Wongsawat", "Anong Wongsawat", "");
        assert!(
            b.sort_key() < a.sort_key(),
            "Anong before Somchai, whatever the family names"
        );
        let he = p(
            "TH",
            "H.E.",
            "Somchai",
            "Jaidee",
            "Somchai Jaidee",
            "สมชาย ใจดี",
        );
        assert_eq!(he.salutation(), "Your Excellency");
        assert_eq!(he.native_formal().as_deref(), Some("ฯพณฯ สมชาย ใจดี"));
    }

    #[test]
    fn khmer_family_name_comes_first_and_samdech_on_first_reference() {
        let a = p("KH", "H.E.", "Vanna", "Sok", "Sok Vanna", "សុខ វណ្ណា");
        assert_eq!(a.formal(), "H.E. Sok Vanna");
        assert_eq!(a.native_formal().as_deref(), Some("ឯកឧត្តម សុខ វណ្ណា"));
        let s = p("KH", "Samdech", "Vanna", "Sok", "Sok Vanna", "សុខ វណ្ណា");
        assert_eq!(s.formal(), "Samdech Sok Vanna");
        assert_eq!(s.salutation(), "Samdech Sok Vanna");
        assert_eq!(s.native_formal().as_deref(), Some("សម្តេច សុខ វណ្ណា"));
        let w = p("KH", "Ms.", "Sophea", "Heng", "Heng Sophea", "ហេង សុភា");
        assert_eq!(w.salutation(), "Lok Srey Heng Sophea");
        assert_eq!(w.native_formal().as_deref(), Some("លោកស្រី ហេង សុភា"));
        // Sorted by family name, which is written first.
        let x = p("KH", "Mr.", "Dara", "Chea", "Chea Dara", "");
        assert!(x.sort_key() < w.sort_key());
    }

    #[test]
    fn lao_than() {
        let a = p(
            "LA",
            "Mr.",
            "Somphone",
            "Phommavong",
            "Somphone Phommavong",
            "ສົມພອນ ພົມມະວົງ",
        );
        assert_eq!(a.salutation(), "Than Somphone");
        assert_eq!(a.native_formal().as_deref(), Some("ທ່ານ ສົມພອນ ພົມມະວົງ"));
        let w = p(
            "LA",
            "Ms.",
            "Sengdao",
            "Keomany",
            "Sengdao Keomany",
            "ແສງດາວ ແກ້ວມະນີ",
        );
        assert_eq!(w.native_formal().as_deref(), Some("ທ່ານ ນາງ ແສງດາວ ແກ້ວມະນີ"));
    }

    #[test]
    fn myanmar_u_and_daw_with_the_whole_name_as_sort_key() {
        let u = p("MM", "U", "Aung Kyaw", "", "Aung Kyaw", "အောင်ကျော်");
        assert_eq!(u.formal(), "U Aung Kyaw");
        assert_eq!(u.salutation(), "U Aung Kyaw");
        assert_eq!(u.native_formal().as_deref(), Some("ဦးအောင်ကျော်"));
        let daw = p("MM", "Daw", "Khin Myint", "", "Khin Myint", "ခင်မြင့်");
        assert_eq!(daw.formal(), "Daw Khin Myint");
        assert_eq!(daw.native_formal().as_deref(), Some("ဒေါ်ခင်မြင့်"));
        // The whole name is the key: "Aung Kyaw" before "Khin Myint"; "U"/"Daw" play no part.
        assert!(u.sort_key() < daw.sort_key());
        assert_eq!(u.sort_key(), "aung kyaw");
    }

    #[test]
    fn vietnamese_family_first_addressed_by_last_syllable() {
        let a = p(
            "VN",
            "Mr.",
            "Van An",
            "Nguyen",
            "Nguyen Van An",
            "Nguyễn Văn An",
        );
        assert_eq!(a.formal(), "Mr. Nguyen Van An");
        assert_eq!(a.salutation(), "Mr. An");
        assert_eq!(a.native_formal().as_deref(), Some("Ông Nguyễn Văn An"));
        let b = p(
            "VN",
            "Ms.",
            "Thi Thu Ha",
            "Tran",
            "Tran Thi Thu Ha",
            "Trần Thị Thu Hà",
        );
        assert_eq!(b.salutation(), "Ms. Ha");
        assert_eq!(b.native_formal().as_deref(), Some("Bà Trần Thị Thu Hà"));
        // Sorted by the name they are called by: An before Ha.
        assert!(a.sort_key() < b.sort_key());
    }

    #[test]
    fn others_by_family_name() {
        let a = p("US", "Ms.", "Emily", "Carter", "Emily Carter", "");
        assert_eq!(a.salutation(), "Ms. Carter");
        assert_eq!(a.native_formal(), None);
        let d = p("JP", "Dr", "Hiroshi", "Tanaka", "Hiroshi Tanaka", "");
        assert_eq!(d.formal(), "Dr Hiroshi Tanaka");
        assert_eq!(d.salutation(), "Dr Tanaka");
    }

    fn with_gender(mut p: PersonName, g: Gender) -> PersonName {
        p.gender = Some(g);
        p
    }

    #[test]
    fn a_title_already_in_the_native_name_is_neither_doubled_nor_contradicted() {
        // Thai: ดร. written joined to the name; no คุณ in front of it.
        let th = p(
            "TH",
            "",
            "Prasert",
            "Boonma",
            "Prasert Boonma",
            "ดร.ประเสริฐ บุญมา",
        );
        assert_eq!(th.native_formal().as_deref(), Some("ดร.ประเสริฐ บุญมา"));
        assert_eq!(th.formal(), "Dr Prasert Boonma");
        assert_eq!(th.salutation(), "Dr Prasert");
        let th2 = p(
            "TH",
            "Mr.",
            "Somchai",
            "Jaidee",
            "Somchai Jaidee",
            "นายสมชาย ใจดี",
        );
        assert_eq!(th2.native_formal().as_deref(), Some("นายสมชาย ใจดี"));
        let th3 = p("TH", "", "", "", "Prayut Chan", "พล.อ. ประยุทธ์ จันทร์");
        assert_eq!(th3.native_formal().as_deref(), Some("พล.อ. ประยุทธ์ จันทร์"));
        // A name that merely begins with the letters of an honorific keeps them.
        let th4 = p("TH", "", "Khunakorn", "", "Khunakorn Saelim", "คุณากร แซ่ลิ่ม");
        assert_eq!(th4.native_formal().as_deref(), Some("คุณคุณากร แซ่ลิ่ม"));
        // Lao: a woman's honorific is never preceded by a man's, nor ທ່ານ doubled.
        let la_f = with_gender(
            p(
                "LA",
                "",
                "Bouasone",
                "Vongsa",
                "Bouasone Vongsa",
                "ທ່ານນາງ ບົວສອນ ວົງສາ",
            ),
            Gender::Female,
        );
        assert_eq!(la_f.native_formal().as_deref(), Some("ທ່ານນາງ ບົວສອນ ວົງສາ"));
        // Without a stored gender the honorific says it.
        let la_f2 = p(
            "LA",
            "",
            "Bouasone",
            "Vongsa",
            "Bouasone Vongsa",
            "ທ່ານນາງບົວສອນ ວົງສາ",
        );
        assert_eq!(la_f2.native_formal().as_deref(), Some("ທ່ານນາງບົວສອນ ວົງສາ"));
        assert_eq!(la_f2.formal(), "Ms. Bouasone Vongsa");
        let la_m = p(
            "LA",
            "Mr.",
            "Phonxay",
            "Sisane",
            "Phonxay Sisane",
            "ທ່ານ ພອນໄຊ ສີແສນ",
        );
        assert_eq!(la_m.native_formal().as_deref(), Some("ທ່ານ ພອນໄຊ ສີແສນ"));
        let la_dr = p(
            "LA",
            "Dr",
            "Khamla",
            "Inthavong",
            "Khamla Inthavong",
            "ຄຳລາ ອິນທະວົງ",
        );
        assert_eq!(la_dr.native_formal().as_deref(), Some("ດຣ. ຄຳລາ ອິນທະວົງ"));
        // Khmer: Samdech (either spelling) already written: nothing before it.
        for samdech in ["សម្តេច", "សម្ដេច"] {
            let kh = p(
                "KH",
                "",
                "Vanna",
                "Sok",
                "Sok Vanna",
                &format!("{samdech} សុខ វណ្ណា"),
            );
            assert_eq!(
                kh.native_formal(),
                Some(format!("{samdech} សុខ វណ្ណា")),
                "{samdech}"
            );
            assert_eq!(kh.formal(), "Samdech Sok Vanna");
        }
        // An excellency whose native name carries a plain courtesy title: the excellency's
        // form replaces it.
        let kh_he = p("KH", "H.E.", "Vanna", "Sok", "Sok Vanna", "លោក សុខ វណ្ណា");
        assert_eq!(kh_he.native_formal().as_deref(), Some("ឯកឧត្តម សុខ វណ្ណា"));
        let kh_dr = p("KH", "Dr", "Dara", "Chea", "Chea Dara", "ជា ដារា");
        assert_eq!(kh_dr.native_formal().as_deref(), Some("បណ្ឌិត ជា ដារា"));
        let kh_bandit = p("KH", "", "Dara", "Chea", "Chea Dara", "បណ្ឌិត ជា ដារា");
        assert_eq!(kh_bandit.native_formal().as_deref(), Some("បណ្ឌិត ជា ដារា"));
        assert_eq!(kh_bandit.formal(), "Dr Chea Dara");
        // Myanmar: ဦး / ဒေါ် / ဒေါက်တာ written joined or spaced; not doubled.
        let mm = p("MM", "U", "Aung Kyaw", "", "U Aung Kyaw", "ဦးအောင်ကျော်");
        assert_eq!(mm.native_formal().as_deref(), Some("ဦးအောင်ကျော်"));
        assert_eq!(mm.formal(), "U Aung Kyaw");
        let mm_dr = p("MM", "Dr", "Khin Myint", "", "Khin Myint", "ခင်မြင့်");
        assert_eq!(mm_dr.native_formal().as_deref(), Some("ဒေါက်တာခင်မြင့်"));
        let mm_dr2 = p("MM", "", "Khin Myint", "", "Khin Myint", "ဒေါက်တာ ခင်မြင့်");
        assert_eq!(mm_dr2.native_formal().as_deref(), Some("ဒေါက်တာ ခင်မြင့်"));
        // Vietnamese: Bà already there; a doctor is TS.
        let vn = p(
            "VN",
            "Ms.",
            "Thi Thu Ha",
            "Tran",
            "Tran Thi Thu Ha",
            "Bà Trần Thị Thu Hà",
        );
        assert_eq!(vn.native_formal().as_deref(), Some("Bà Trần Thị Thu Hà"));
        assert_eq!(vn.salutation(), "Ms. Ha");
        let vn_dr = p(
            "VN",
            "Dr",
            "Van An",
            "Nguyen",
            "Nguyen Van An",
            "Nguyễn Văn An",
        );
        assert_eq!(vn_dr.native_formal().as_deref(), Some("TS. Nguyễn Văn An"));
        let vn_ts = p(
            "VN",
            "",
            "Van An",
            "Nguyen",
            "Nguyen Van An",
            "TS. Nguyễn Văn An",
        );
        assert_eq!(vn_ts.native_formal().as_deref(), Some("TS. Nguyễn Văn An"));
        // English honorifics in the Latin name, with or without dots, are not doubled.
        let en = p("US", "Dr", "Emily", "Carter", "Dr. Emily Carter", "");
        assert_eq!(en.formal(), "Dr Emily Carter");
        assert_eq!(en.salutation(), "Dr Carter");
        let he = p("TH", "H.E.", "", "", "H.E. Somchai Jaidee", "สมชาย ใจดี");
        assert_eq!(he.formal(), "H.E. Somchai Jaidee");
        assert_eq!(he.native_formal().as_deref(), Some("ฯพณฯ สมชาย ใจดี"));
        // "He" is also a name.
        let name_he = p("CN", "", "", "", "He Yafei", "");
        assert_eq!(name_he.formal(), "He Yafei");
    }

    #[test]
    fn a_doctor_is_addressed_as_one_in_the_native_form() {
        // "Dr" in the Latin name alone says so.
        let th = p("TH", "", "", "", "Dr Narong Srisuk", "ณรงค์ ศรีสุข");
        assert_eq!(th.native_formal().as_deref(), Some("ดร.ณรงค์ ศรีสุข"));
        assert_eq!(th.formal(), "Dr Narong Srisuk");
        assert_eq!(th.salutation(), "Dr Narong");
        assert_eq!(th.sort_key(), fold("Narong\u{1}"));
        let th2 = p("TH", "Dr", "Narong", "Srisuk", "Narong Srisuk", "ณรงค์ ศรีสุข");
        assert_eq!(th2.native_formal().as_deref(), Some("ดร.ณรงค์ ศรีสุข"));
        let th_he = p(
            "TH",
            "H.E. Dr",
            "Narong",
            "Srisuk",
            "Narong Srisuk",
            "ณรงค์ ศรีสุข",
        );
        assert_eq!(th_he.native_formal().as_deref(), Some("ฯพณฯ ดร.ณรงค์ ศรีสุข"));
    }

    fn c(code: &str) -> DelegationKey {
        DelegationKey::Country { code: code.into() }
    }

    #[test]
    fn members_alphabetically_then_partners_then_organisations() {
        let mut keys = vec![
            DelegationKey::Unassigned,
            c("VN"),
            DelegationKey::Organisation {
                id: "1".into(),
                name: "Asian Development Bank".into(),
            },
            c("US"),
            c("TH"),
            c("JP"),
            c("KH"),
            c("MM"),
            c("LA"),
        ];
        order_delegations(
            &mut keys,
            PrecedenceRule::Alphabetical,
            Some("LA"),
            Some("TH"),
        );
        let labels: Vec<String> = keys.iter().map(DelegationKey::label).collect();
        assert_eq!(
            labels,
            [
                "Cambodia",
                "Lao PDR",
                "Myanmar",
                "Thailand",
                "Viet Nam",
                "Japan",
                "United States",
                "Asian Development Bank",
                "Secretariat and others"
            ]
        );
    }

    #[test]
    fn host_and_chair_first_when_the_meeting_says_so() {
        let base = vec![c("KH"), c("LA"), c("MM"), c("TH"), c("VN")];
        let order = |rule| {
            let mut k = base.clone();
            order_delegations(&mut k, rule, Some("VN"), Some("LA"));
            k.iter().map(DelegationKey::label).collect::<Vec<_>>()
        };
        assert_eq!(order(PrecedenceRule::HostFirst)[0], "Viet Nam");
        assert_eq!(order(PrecedenceRule::ChairFirst)[0], "Lao PDR");
        assert_eq!(
            order(PrecedenceRule::HostThenChair)[..3],
            ["Viet Nam", "Lao PDR", "Cambodia"]
        );
    }

    #[test]
    fn roles_rank_head_of_delegation_first() {
        let mut roles = [
            "interpreter",
            "delegate",
            "adviser",
            "alternate",
            "head_of_delegation",
        ];
        roles.sort_by_key(|r| role_rank(r));
        assert_eq!(
            roles,
            [
                "head_of_delegation",
                "alternate",
                "delegate",
                "adviser",
                "interpreter"
            ]
        );
    }
}

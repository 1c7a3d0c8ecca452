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

/// What the stored honorific says.
#[derive(Debug, Default, Clone, Copy)]
struct Titles {
    excellency: bool,
    samdech: bool,
    doctor: bool,
    gender: Option<Gender>,
}

fn titles(honorific: Option<&str>) -> Titles {
    let mut t = Titles::default();
    for word in honorific.unwrap_or_default().split([' ', ',']) {
        let w = word.trim().trim_end_matches('.').to_lowercase();
        match w.as_str() {
            "h.e" | "he" | "excellency" => t.excellency = true,
            "samdech" => t.samdech = true,
            "dr" | "prof" | "professor" => t.doctor = true,
            "mr" | "u" => t.gender = Some(Gender::Male),
            "ms" | "mrs" | "miss" | "madam" | "daw" => t.gender = Some(Gender::Female),
            _ => {}
        }
    }
    t
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

    fn titles(&self) -> Titles {
        let mut t = titles(self.honorific.as_deref());
        if self.gender.is_some() {
            t.gender = self.gender;
        }
        t
    }

    fn code(&self) -> &str {
        self.country.as_deref().unwrap_or("")
    }

    /// Given and family name in the culture's written order, or the stored name.
    fn ordered(&self) -> String {
        match (&self.given, &self.family) {
            (Some(g), Some(f)) if matches!(self.code(), "KH" | "VN") => {
                // Vietnamese given names often carry a middle name: the stored full name
                // already has the right order, so prefer it when it contains both parts.
                if self.name.starts_with(f.as_str()) {
                    self.name.clone()
                } else {
                    format!("{f} {g}")
                }
            }
            (Some(g), Some(f)) if self.code() != "MM" => format!("{g} {f}"),
            _ => self.name.clone(),
        }
    }

    /// The name a person is called by: Thai and Lao by given name, Vietnamese by the last
    /// syllable, Myanmar by the whole name, others by family name.
    fn called(&self) -> String {
        match self.code() {
            "TH" | "LA" => self.given.clone().unwrap_or_else(|| first_word(&self.name)),
            "VN" => last_word(self.given.as_deref().unwrap_or(&self.name)),
            "MM" | "KH" => self.ordered(),
            _ => self.family.clone().unwrap_or_else(|| last_word(&self.name)),
        }
    }

    /// Full name with titles for lists, badges and place cards, in Latin script:
    /// "H.E. Mr. Somchai Jaidee", "Samdech Sok Vanna", "U Aung Kyaw".
    pub fn formal(&self) -> String {
        let t = self.titles();
        let mut parts: Vec<&str> = Vec::new();
        if t.excellency {
            parts.push("H.E.");
        }
        if t.samdech {
            parts.push("Samdech");
        }
        if t.doctor {
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
        let name = self.ordered();
        parts.push(&name);
        parts.join(" ")
    }

    /// How to address the person in a letter or in speech, in Latin script: "Khun Somchai",
    /// "Than Somphone", "Mr. An" (Ông An), "Daw Khin Myint", "Lok Sok Vanna",
    /// "Your Excellency" for an ambassador or minister, "Samdech" on first reference.
    pub fn salutation(&self) -> String {
        let t = self.titles();
        if t.samdech {
            return format!("Samdech {}", self.ordered());
        }
        if t.excellency {
            return "Your Excellency".to_string();
        }
        let called = self.called();
        let female = t.gender == Some(Gender::Female);
        match self.code() {
            "TH" => format!("Khun {called}"),
            "LA" => format!("Than {called}"),
            "KH" => format!("{} {called}", if female { "Lok Srey" } else { "Lok" }),
            "MM" => match t.gender {
                Some(Gender::Female) => format!("Daw {called}"),
                Some(Gender::Male) => format!("U {called}"),
                _ => called,
            },
            _ if t.doctor => format!("Dr {called}"),
            _ => match t.gender {
                Some(Gender::Female) => format!("Ms. {called}"),
                Some(Gender::Male) => format!("Mr. {called}"),
                _ => self.ordered(),
            },
        }
    }

    /// The native-script name with the native form of address: "คุณสมชาย ใจดี",
    /// "ឯកឧត្តម សុខ វណ្ណា", "ဦးအောင်ကျော်", "ທ່ານ ສົມພອນ ພົມມະວົງ", "Ông Nguyễn Văn An".
    /// None where no native name is recorded or the country has no rule here.
    pub fn native_formal(&self) -> Option<String> {
        let native = self.native.as_deref()?;
        let t = self.titles();
        let female = t.gender == Some(Gender::Female);
        Some(match self.code() {
            "TH" if t.excellency => format!("ฯพณฯ {native}"),
            "TH" => format!("คุณ{native}"),
            "LA" if female => format!("ທ່ານ ນາງ {native}"),
            "LA" => format!("ທ່ານ {native}"),
            "KH" if t.samdech => format!("សម្តេច {native}"),
            "KH" if t.excellency && female => format!("លោកជំទាវ {native}"),
            "KH" if t.excellency => format!("ឯកឧត្តម {native}"),
            "KH" if female => format!("លោកស្រី {native}"),
            "KH" => format!("លោក {native}"),
            "MM" => match t.gender {
                Some(Gender::Female) => format!("ဒေါ်{native}"),
                Some(Gender::Male) => format!("ဦး{native}"),
                _ => native.to_string(),
            },
            "VN" if t.excellency => format!("Ngài {native}"),
            "VN" if female => format!("Bà {native}"),
            "VN" if t.gender == Some(Gender::Male) => format!("Ông {native}"),
            _ => native.to_string(),
        })
    }

    /// Key for alphabetical lists: Thai and Lao by given name, Vietnamese by the name a person
    /// is called by (last syllable) then family name, Khmer by family name (written first),
    /// Myanmar by the whole name (there is no family name), others by family then given name.
    pub fn sort_key(&self) -> String {
        let key = match self.code() {
            "TH" | "LA" => format!(
                "{}\u{1}{}",
                self.called(),
                self.family.as_deref().unwrap_or("")
            ),
            "VN" => format!("{}\u{1}{}", self.called(), self.ordered()),
            "KH" | "MM" => self.ordered(),
            _ => format!(
                "{}\u{1}{}",
                self.family.clone().unwrap_or_else(|| last_word(&self.name)),
                self.given.as_deref().unwrap_or(&self.name)
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

//! Property: whatever names are stored (any mix of the six scripts, with or without Vietnamese
//! tones), any part of a name of three or more characters that a user types finds the record,
//! and so does the start of a name typed as one or two characters.

mod common;
use common::*;
use desk_core::text::fold;
use desk_core::Entity;
use proptest::prelude::*;
use serde_json::json;

const SYLLABLES: &[&str] = &[
    "สม",
    "ชาย",
    "ใจ",
    "ดี",
    "ศิริ",
    "พร",
    "ສົມ",
    "ພອນ",
    "ພົມ",
    "ມະ",
    "វណ្ណា",
    "សុខ",
    "ចាន់",
    "ថា",
    "အောင်",
    "ကျော်",
    "မင်း",
    "ဒေါ်",
    "Nguyễn",
    "Thị",
    "Hà",
    "Trần",
    "Đỗ",
    "An",
    "Som",
    "chai",
    "Phom",
];

fn name() -> impl Strategy<Value = String> {
    proptest::collection::vec((0..SYLLABLES.len(), any::<bool>()), 1..5).prop_map(|parts| {
        let mut s = String::new();
        for (i, space) in parts {
            if space && !s.is_empty() {
                s.push(' ');
            }
            s.push_str(SYLLABLES[i]);
        }
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_typed_part_of_a_name_finds_it(names in proptest::collection::vec(name(), 1..6), pick in any::<usize>(), start in any::<usize>(), len in 3usize..8) {
        let (_d, mut r) = fresh();
        let mut ids = Vec::new();
        for n in &names {
            ids.push(r.create(Entity::Contact, &fields(json!({"name": "x", "native_name": n}))).expect("create").id);
        }
        let k = pick % names.len();
        let folded: Vec<char> = fold(&names[k]).chars().collect();
        // A substring of the folded name (what is indexed), without leading/trailing space.
        let from = start % folded.len();
        let part: String = folded[from..(from + len).min(folded.len())].iter().collect();
        let part = part.trim().to_string();
        if part.chars().count() >= 3 && !part.contains(' ') {
            let hits = r.search(&part, 50).expect("search");
            prop_assert!(hits.iter().any(|h| h.id == ids[k]), "{part:?} in {:?}", names[k]);
        }
        // The first one or two characters find it too (by prefix).
        let prefix: String = names[k].chars().take(2).collect();
        let hits = r.search(&prefix, 50).expect("search");
        prop_assert!(hits.iter().any(|h| h.id == ids[k]), "prefix {prefix:?} of {:?}", names[k]);
    }
}

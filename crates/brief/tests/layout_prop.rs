//! Property: any text — the six scripts mixed, words far longer than a line, empty strings,
//! stray marks and controls — lays out without a panic, inside the page margins, and with
//! every character of every paragraph printed once, in order.

use desk_brief::layout::Draw;
use desk_brief::{layout, Block, Cell, Pack, Paper, Section, SectionKind};
use proptest::prelude::*;

const POOL: &[&str] = &[
    "ក", "ខ", "្រ", "ស", "ុ", "ា", "េ", "ំ", "ៈ", // Khmer (with coeng, vowels)
    "ກ", "ລ", "າ", "ວ", "່", "ົ", "ໍ", // Lao
    "မ", "ြ", "န", "်", "ာ", "ေ", "ှ", "ိ", "ု", // Myanmar
    "ก", "ร", "ะ", "ท", "่", "ี", "ั", "เ", // Thai
    "a", "B", "đ", "ư", "ơ", "ễ", "ậ", "À", // Latin, Vietnamese
    "0", "7", ".", ",", "(", "–", "/", "会", "ع", "\u{301}",
    "\u{200b}", // digits, punctuation, no-font
    " ", " ", " ", "\n",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        proptest::collection::vec(proptest::sample::select(POOL), 0..120).prop_map(|v| v.concat()),
        // One "word" far wider than a line or a column.
        (proptest::sample::select(POOL), 100..600usize).prop_map(|(c, n)| c.repeat(n)),
    ]
}

fn squash(s: &str) -> String {
    desk_brief::shape::clean(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_text_stays_inside_the_margins_and_is_all_printed(
        title in text(),
        paras in proptest::collection::vec(text(), 1..4),
        cells in proptest::collection::vec(text(), 3..12),
        letter in any::<bool>(),
    ) {
        let cols = 3;
        let rows: Vec<Vec<Cell>> = cells.chunks(cols).map(|c| c.iter().map(Cell::new).collect()).collect();
        let pack = Pack {
            framework: "ACMECS".into(),
            title: title.clone(),
            short_title: title.clone(),
            dates: "8 December 2026".into(),
            venue: String::new(),
            classification: "RESTRICTED".into(),
            data_as_of: "Data as of 2026-11-20 09:30 UTC".into(),
            as_of_unix: 0,
            prepared_for: String::new(),
            sections: vec![
                Section {
                    kind: SectionKind::TalkingPoints,
                    title: "Talking points".into(),
                    blocks: paras.iter().map(|t| Block::Paragraph { text: t.clone() }).collect(),
                },
                Section {
                    kind: SectionKind::Documents,
                    title: "List of documents".into(),
                    blocks: vec![
                        Block::Fields { rows: vec![("Rating".into(), cells[0].clone())] },
                        Block::Table { columns: vec!["A".into(), cells[1].clone(), "C".into()], rows },
                    ],
                },
            ],
        };
        let l = layout(&pack, if letter { Paper::Letter } else { Paper::A4 });
        let g = l.geometry;
        let mut body = String::new();
        let mut talking = false;
        for p in &l.pages {
            for d in &p.draws {
                match d {
                    Draw::Text(t) => {
                        prop_assert!(t.x >= g.left - 0.01, "left: {:?}", t.text);
                        prop_assert!(t.x + t.width <= g.right + 0.01, "right: {:?} ends at {} (x {} size {} baseline {} glyphs {})", t.text, t.x + t.width, t.x, t.size, t.baseline, t.glyphs.len());
                        prop_assert!(t.baseline - t.ascent >= g.header_top - 0.01, "top: {:?}", t.text);
                        prop_assert!(t.baseline + t.descent <= g.footer_bottom + 0.01, "bottom: {:?}", t.text);
                        if t.baseline >= g.top && t.baseline <= g.bottom {
                            prop_assert!(t.baseline + t.descent <= g.bottom + 0.01, "into the footer: {:?}", t.text);
                            // Section titles are set at 16 pt (the contents page lists them smaller).
                            if t.size == 16.0 && t.text == "Talking points" { talking = true; }
                            else if t.size == 16.0 && t.text == "List of documents" { talking = false; }
                            else if talking { body.push_str(&t.text); }
                        }
                    }
                    Draw::Fill { x, y, w, h, .. } => {
                        prop_assert!(*x >= g.left - 0.01 && x + w <= g.right + 0.01);
                        prop_assert!(*y >= g.header_top - 0.01 && y + h <= g.footer_bottom + 0.01);
                    }
                    Draw::Rule { x1, x2, y1, y2, .. } => {
                        prop_assert!(*x1 >= g.left - 0.01 && *x2 <= g.right + 0.01);
                        prop_assert!(*y1 >= g.header_top - 0.01 && *y2 <= g.footer_bottom + 0.01);
                    }
                }
            }
        }
        // Paragraph text: every character, once, in order (line breaks only drop spaces).
        let expected: String = paras.iter().map(|p| squash(p)).collect();
        // (The drawn lines are already normalised: only spaces are dropped, since normalising
        // the concatenation could reorder marks that met across a line break.)
        let drawn: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        prop_assert_eq!(drawn, expected);
        // Contents entries point at real pages.
        for c in &l.contents {
            prop_assert!(c.page >= 1 && c.page <= l.pages.len());
        }
    }
}

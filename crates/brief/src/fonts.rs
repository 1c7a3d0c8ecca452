//! The bundled fonts (Noto, SIL OFL 1.1: see `fonts/OFL.txt`) and which one draws which character.
//!
//! Five families, each in regular and bold: Noto Sans (Latin, with Vietnamese), Noto Sans Thai,
//! Lao, Khmer and Myanmar. They are compiled into the binary so a pack can be made offline on any
//! machine; only the glyphs a pack uses are embedded in its PDF.

use harfrust::{Direction, Font, Script, ShapePlan};
use std::sync::OnceLock;

/// A family: one per script we typeset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Latin,
    Thai,
    Lao,
    Khmer,
    Myanmar,
}

impl Family {
    pub const ALL: [Family; 5] = [
        Family::Latin,
        Family::Thai,
        Family::Lao,
        Family::Khmer,
        Family::Myanmar,
    ];

    /// The family of a character's own script, if it is one of the complex scripts we carry.
    /// Everything else (Latin, Vietnamese, digits, punctuation) is `None`: drawn by whichever
    /// family the surrounding text uses when it has the glyph, else by Noto Sans.
    pub fn of_script(c: char) -> Option<Family> {
        match u32::from(c) {
            0x0E00..=0x0E7F => Some(Family::Thai),
            0x0E80..=0x0EFF => Some(Family::Lao),
            0x1780..=0x17FF | 0x19E0..=0x19FF => Some(Family::Khmer),
            0x1000..=0x109F | 0xA9E0..=0xA9FF | 0xAA60..=0xAA7F => Some(Family::Myanmar),
            _ => None,
        }
    }

    fn script(self) -> Script {
        match self {
            Family::Latin => Script::LATIN,
            Family::Thai => Script::THAI,
            Family::Lao => Script::LAO,
            Family::Khmer => Script::KHMER,
            Family::Myanmar => Script::MYANMAR,
        }
    }

    fn bytes(self, bold: bool) -> &'static [u8] {
        match (self, bold) {
            (Family::Latin, false) => include_bytes!("../fonts/NotoSans-Regular.ttf"),
            (Family::Latin, true) => include_bytes!("../fonts/NotoSans-Bold.ttf"),
            (Family::Thai, false) => include_bytes!("../fonts/NotoSansThai-Regular.ttf"),
            (Family::Thai, true) => include_bytes!("../fonts/NotoSansThai-Bold.ttf"),
            (Family::Lao, false) => include_bytes!("../fonts/NotoSansLao-Regular.ttf"),
            (Family::Lao, true) => include_bytes!("../fonts/NotoSansLao-Bold.ttf"),
            (Family::Khmer, false) => include_bytes!("../fonts/NotoSansKhmer-Regular.ttf"),
            (Family::Khmer, true) => include_bytes!("../fonts/NotoSansKhmer-Bold.ttf"),
            (Family::Myanmar, false) => include_bytes!("../fonts/NotoSansMyanmar-Regular.ttf"),
            (Family::Myanmar, true) => include_bytes!("../fonts/NotoSansMyanmar-Bold.ttf"),
        }
    }
}

/// One face (family × weight), identified by a small index into [`faces`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FaceId(pub u8);

impl FaceId {
    pub fn new(family: Family, bold: bool) -> FaceId {
        let f = Family::ALL.iter().position(|x| *x == family).unwrap_or(0);
        FaceId((f * 2 + usize::from(bold)) as u8)
    }
    pub fn family(self) -> Family {
        Family::ALL[usize::from(self.0 / 2) % Family::ALL.len()]
    }
    pub fn bold(self) -> bool {
        self.0 % 2 == 1
    }
    pub const COUNT: usize = 10;
}

pub struct Face {
    pub id: FaceId,
    pub bytes: &'static [u8],
    pub font: Font,
    pub plan: ShapePlan,
    pub script: Script,
    pub units_per_em: f32,
    /// Above the baseline, in em (positive).
    pub ascent: f32,
    /// Below the baseline, in em (positive).
    pub descent: f32,
}

impl Face {
    /// Whether the face has a glyph of its own for `c`.
    pub fn covers(&self, c: char) -> bool {
        self.font.charmap().map_unicode(c).is_some()
    }

    /// The advance PDF readers take for a glyph: the font's own width in thousandths of an em,
    /// truncated exactly as printpdf writes it into the font's /W array.
    pub fn pdf_width(&self, gid: u16) -> f32 {
        let shaper = harfrust::ShaperFont::new(&self.font);
        let adv = shaper.glyph_h_advance(harfrust::GlyphId::new(u32::from(gid)));
        ((adv as f32) * 1000.0 / self.units_per_em).trunc()
    }
}

fn load(id: FaceId) -> Option<Face> {
    let family = id.family();
    let bytes = family.bytes(id.bold());
    let font = Font::new(bytes, 0)?;
    let script = family.script();
    let plan = ShapePlan::new(&font, Direction::LeftToRight, Some(script), None, &[]);
    let upem = f32::from(font.units_per_em().max(1));
    let metrics = font.metrics();
    let (ascent, descent) = match metrics.hhea_line.or(metrics.typo_line) {
        Some(l) => (
            l.ascender.to_f32() / upem,
            (-l.descender.to_f32()).max(0.0) / upem,
        ),
        None => (1.0, 0.3),
    };
    Some(Face {
        id,
        bytes,
        font,
        plan,
        script,
        units_per_em: upem,
        ascent,
        descent,
    })
}

/// All ten faces, parsed once per process. `None` only if a bundled font failed to parse, which
/// a unit test rules out.
pub fn faces() -> Option<&'static [Face]> {
    static FACES: OnceLock<Option<Vec<Face>>> = OnceLock::new();
    FACES
        .get_or_init(|| {
            (0..FaceId::COUNT)
                .map(|i| load(FaceId(i as u8)))
                .collect::<Option<Vec<Face>>>()
        })
        .as_deref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_face_parses_and_covers_its_script() {
        let faces = faces().expect("bundled fonts parse");
        assert_eq!(faces.len(), FaceId::COUNT);
        let samples = [
            (Family::Latin, 'ệ'),
            (Family::Thai, 'ก'),
            (Family::Lao, 'ກ'),
            (Family::Khmer, 'ក'),
            (Family::Myanmar, 'မ'),
        ];
        for (family, c) in samples {
            for bold in [false, true] {
                let f = &faces[usize::from(FaceId::new(family, bold).0)];
                assert_eq!(f.id.family(), family);
                assert_eq!(f.id.bold(), bold);
                assert!(f.covers(c), "{family:?} bold={bold} lacks {c}");
                assert!(
                    f.ascent > 0.5 && f.ascent < 3.0,
                    "{family:?} ascent {}",
                    f.ascent
                );
                assert!(
                    f.descent > 0.0 && f.descent < 2.0,
                    "{family:?} descent {}",
                    f.descent
                );
            }
        }
        // No face of ours draws Han or Arabic: those become visible .notdef boxes.
        assert!(faces.iter().all(|f| !f.covers('中') && !f.covers('ع')));
    }

    #[test]
    fn complex_scripts_are_recognised_by_block() {
        assert_eq!(Family::of_script('ស'), Some(Family::Khmer));
        assert_eq!(Family::of_script('ျ'), Some(Family::Myanmar));
        assert_eq!(Family::of_script('່'), Some(Family::Lao));
        assert_eq!(Family::of_script('๊'), Some(Family::Thai));
        assert_eq!(Family::of_script('ơ'), None);
        assert_eq!(Family::of_script('7'), None);
    }
}

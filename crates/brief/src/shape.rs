//! Text → positioned glyphs, and glyphs → lines.
//!
//! Text is normalised to NFC, split into runs by the font that draws them (the script's own
//! Noto family; Latin, Vietnamese and shared punctuation by Noto Sans unless the surrounding
//! complex-script font has the glyph), and each run shaped with harfrust (HarfBuzz's Rust port):
//! Khmer subscripts and reordered vowels, Myanmar medials, Thai/Lao stacked marks come out as the
//! fonts' designers intend. Lines break only where ICU's line segmenter allows — with dictionaries
//! for Thai, Lao, Khmer and Myanmar, which write no spaces between words — and inside a word only
//! when the word alone is wider than the line (then between grapheme clusters, never inside one).

use crate::fonts::{faces, Face, FaceId, Family};
use harfrust::{Buffer, Direction, ShapeOptions, ShaperFont};
use icu_segmenter::options::LineBreakOptions;
use icu_segmenter::LineSegmenter;
use unicode_normalization::UnicodeNormalization;

/// One glyph, positioned in points relative to the pen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Glyph {
    pub face: FaceId,
    pub gid: u16,
    /// Pen advance after the glyph.
    pub advance: f32,
    /// Drawing offset from the pen (marks sit off the pen position).
    pub dx: f32,
    /// Vertical offset, up positive.
    pub dy: f32,
    /// Byte offset in [`Shaped::text`] of the cluster this glyph draws.
    pub cluster: u32,
}

/// A run of text shaped at one size and weight.
#[derive(Debug, Clone)]
pub struct Shaped {
    pub text: String,
    pub size: f32,
    pub glyphs: Vec<Glyph>,
}

/// A line of a wrapped [`Shaped`] text: glyphs `start..end`, text bytes `text_start..text_end`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineSpan {
    pub start: usize,
    pub end: usize,
    pub text_start: usize,
    pub text_end: usize,
    /// Width without trailing spaces.
    pub width: f32,
}

/// Prepares user text for typesetting: NFC, tabs as spaces, other control characters dropped
/// (newlines are kept; callers split paragraphs on them).
pub fn clean(text: &str) -> String {
    text.nfc()
        .filter_map(|c| match c {
            '\t' => Some(' '),
            '\n' => Some('\n'),
            '\r' => None,
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

fn neutral(c: char) -> bool {
    !c.is_alphabetic() || matches!(u32::from(c), 0x0300..=0x036F | 0x200B..=0x200D | 0x2060)
}

/// Splits `text` into (byte range, family) runs.
fn itemize(text: &str, faces: &[Face], bold: bool) -> Vec<(usize, usize, Family)> {
    let face = |f: Family| &faces[usize::from(FaceId::new(f, bold).0)];
    let mut runs: Vec<(usize, usize, Family)> = Vec::new();
    for (i, c) in text.char_indices() {
        let current = runs.last().map(|r| r.2);
        let family = match Family::of_script(c) {
            Some(f) => f,
            None => match current {
                Some(cur) if neutral(c) && face(cur).covers(c) => cur,
                _ => Family::Latin,
            },
        };
        let end = i + c.len_utf8();
        match runs.last_mut() {
            Some(r) if r.2 == family => r.1 = end,
            _ => runs.push((i, end, family)),
        }
    }
    runs
}

/// Shapes already-[`clean`]ed text (no newlines) at `size` points.
pub fn shape(text: &str, size: f32, bold: bool) -> Shaped {
    let mut glyphs = Vec::with_capacity(text.len());
    let Some(faces) = faces() else {
        return Shaped {
            text: text.to_string(),
            size,
            glyphs,
        };
    };
    for (start, end, family) in itemize(text, faces, bold) {
        let face = &faces[usize::from(FaceId::new(family, bold).0)];
        shape_run(face, text, start, end, size, &mut glyphs);
    }
    Shaped {
        text: text.to_string(),
        size,
        glyphs,
    }
}

fn shape_run(face: &Face, text: &str, start: usize, end: usize, size: f32, out: &mut Vec<Glyph>) {
    let scale = size / face.units_per_em;
    let mut buf = Buffer::new();
    for (i, c) in text[start..end].char_indices() {
        buf.push(u32::from(c), (start + i) as u32);
    }
    buf.set_direction(Direction::LeftToRight);
    buf.set_script(Some(face.script));
    let shaper = ShaperFont::new(&face.font);
    if harfrust::shape(
        &shaper,
        &mut buf,
        ShapeOptions::new().plan(Some(&face.plan)),
    )
    .is_err()
    {
        // A shaping failure (malformed input the shaper refuses) still prints something
        // visible: a missing-glyph box per character, never nothing.
        for (i, _) in text[start..end].char_indices() {
            out.push(Glyph {
                face: face.id,
                gid: 0,
                advance: 0.6 * size,
                dx: 0.0,
                dy: 0.0,
                cluster: (start + i) as u32,
            });
        }
        return;
    }
    for (info, pos) in buf.glyph_infos().iter().zip(buf.glyph_positions()) {
        out.push(Glyph {
            face: face.id,
            gid: u16::try_from(info.glyph_id).unwrap_or(0),
            advance: pos.x_advance as f32 * scale,
            dx: pos.x_offset as f32 * scale,
            dy: pos.y_offset as f32 * scale,
            cluster: info.cluster,
        });
    }
}

impl Shaped {
    pub fn width(&self) -> f32 {
        self.glyphs.iter().map(|g| g.advance).sum()
    }

    /// Ascent and descent (points, both positive) of the faces drawing `glyphs[range]`; Noto
    /// Sans's when the range is empty, so blank lines keep the line height.
    pub fn extent(&self, start: usize, end: usize) -> (f32, f32) {
        let Some(faces) = faces() else {
            return (self.size, 0.3 * self.size);
        };
        let latin = &faces[usize::from(FaceId::new(Family::Latin, false).0)];
        let mut asc = latin.ascent;
        let mut desc = latin.descent;
        let mut seen = [false; FaceId::COUNT];
        for g in &self.glyphs[start.min(end)..end.min(self.glyphs.len())] {
            let i = usize::from(g.face.0);
            if i < FaceId::COUNT && !seen[i] {
                seen[i] = true;
                asc = asc.max(faces[i].ascent);
                desc = desc.max(faces[i].descent);
            }
        }
        (asc * self.size, desc * self.size)
    }

    fn glyph_at_byte(&self, byte: usize) -> usize {
        self.glyphs.partition_point(|g| (g.cluster as usize) < byte)
    }

    fn text_at_glyph(&self, i: usize) -> usize {
        self.glyphs
            .get(i)
            .map_or(self.text.len(), |g| g.cluster as usize)
    }

    fn is_space(&self, g: &Glyph) -> bool {
        self.text
            .get(g.cluster as usize..)
            .and_then(|s| s.chars().next())
            .is_some_and(char::is_whitespace)
    }

    fn trimmed_width(&self, start: usize, end: usize) -> f32 {
        let mut e = end;
        while e > start && self.is_space(&self.glyphs[e - 1]) {
            e -= 1;
        }
        self.glyphs[start..e].iter().map(|g| g.advance).sum()
    }

    /// Glyph-index ranges of the unbreakable pieces of the text (a word with its trailing
    /// spaces, or a syllable-cluster run the dictionary keeps together).
    fn segments(&self) -> Vec<(usize, usize)> {
        let seg = LineSegmenter::new_dictionary(LineBreakOptions::default());
        let mut out = Vec::new();
        let mut prev = 0usize;
        for b in seg.segment_str(&self.text) {
            let g = self.glyph_at_byte(b);
            if g > prev {
                out.push((prev, g));
                prev = g;
            }
        }
        if prev < self.glyphs.len() {
            out.push((prev, self.glyphs.len()));
        }
        out
    }

    /// Glyph-index ranges of the space-delimited words of the text (each with its trailing
    /// spaces): the dictionary's pieces joined up to the next space, so a Thai, Lao, Khmer or
    /// Myanmar name stays whole, as do hyphenated words.
    fn words(&self) -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = Vec::new();
        let mut open = false;
        for (a, b) in self.segments() {
            match out.last_mut() {
                Some(last) if open => last.1 = b,
                _ => out.push((a, b)),
            }
            open = !(b > a && self.is_space(&self.glyphs[b - 1]));
        }
        out
    }

    /// The widest space-delimited word (for table columns that should break only at spaces).
    pub fn word_width(&self) -> f32 {
        self.words()
            .iter()
            .map(|(a, b)| self.trimmed_width(*a, *b))
            .fold(0.0, f32::max)
    }

    /// Like [`Shaped::wrap`], but breaking only at spaces (names: "Sangiampongsa", "เสงี่ยมพงษ์"
    /// stay whole); a word wider than the line is broken where the dictionary allows, and only
    /// then between clusters.
    pub fn wrap_words(&self, width: f32) -> Vec<LineSpan> {
        let mut pieces = Vec::new();
        for (a, b) in self.words() {
            if self.trimmed_width(a, b) <= width {
                pieces.push((a, b));
            } else {
                pieces.extend(
                    self.segments()
                        .into_iter()
                        .filter(|(x, y)| *x >= a && *y <= b),
                );
            }
        }
        self.wrap_pieces(&pieces, width)
    }

    /// The widest piece that cannot be broken without splitting a word (for table columns).
    pub fn min_width(&self) -> f32 {
        self.segments()
            .iter()
            .map(|(a, b)| self.trimmed_width(*a, *b))
            .fold(0.0, f32::max)
    }

    fn span(&self, start: usize, end: usize) -> LineSpan {
        LineSpan {
            start,
            end,
            text_start: self.text_at_glyph(start),
            text_end: self.text_at_glyph(end),
            width: self.trimmed_width(start, end),
        }
    }

    /// Breaks the text into lines no wider than `width` points (a single glyph wider than the
    /// line is the only thing that can exceed it, and only by its own width). Empty text gives
    /// no lines.
    pub fn wrap(&self, width: f32) -> Vec<LineSpan> {
        self.wrap_pieces(&self.segments(), width)
    }

    /// Breaks the text into lines no wider than `width` between the given unbreakable pieces
    /// (in order, covering every glyph).
    fn wrap_pieces(&self, pieces: &[(usize, usize)], width: f32) -> Vec<LineSpan> {
        let mut lines = Vec::new();
        let mut start = 0usize; // first glyph of the line being filled
        let mut end = 0usize; // one past its last glyph
        for &(a, b) in pieces {
            if end > start && self.trimmed_width(start, b) > width {
                lines.push(self.span(start, end));
                start = a;
            }
            end = b;
            // A piece wider than a whole line: cut it between clusters.
            while self.trimmed_width(start, end) > width {
                let mut cut = start;
                let mut i = start;
                let mut w = 0.0;
                while i < end {
                    let c = self.glyphs[i].cluster;
                    let mut j = i;
                    let mut cw = 0.0;
                    while j < end && self.glyphs[j].cluster == c {
                        cw += self.glyphs[j].advance;
                        j += 1;
                    }
                    if w + cw > width && cut > start {
                        break;
                    }
                    if cw > width {
                        // One cluster wider than the line (a long run of marks with no base
                        // letter): only here do we cut between glyphs. Its text stays with the
                        // line that draws its last glyphs.
                        let mut k = i;
                        let mut gw = 0.0;
                        while k < j && (k == i || gw + self.glyphs[k].advance <= width) {
                            gw += self.glyphs[k].advance;
                            k += 1;
                        }
                        cut = k;
                        break;
                    }
                    w += cw;
                    cut = j;
                    i = j;
                }
                if cut >= end {
                    break;
                }
                lines.push(self.span(start, cut));
                start = cut;
            }
        }
        if end > start {
            lines.push(self.span(start, end));
        }
        lines
    }

    /// The text a line draws, as readers should extract it (logical order, trailing spaces
    /// dropped).
    pub fn line_text(&self, l: &LineSpan) -> &str {
        self.text
            .get(l.text_start..l.text_end)
            .unwrap_or_default()
            .trim_end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn families(s: &Shaped) -> Vec<Family> {
        let mut v: Vec<Family> = s.glyphs.iter().map(|g| g.face.family()).collect();
        v.dedup();
        v
    }

    #[test]
    fn mixed_text_is_drawn_by_each_scripts_font() {
        let s = shape(&clean("Lao PDR ສປປ ລາວ and ព្រះរាជាណាចក្រកម្ពុជា"), 10.0, false);
        assert_eq!(
            families(&s),
            vec![Family::Latin, Family::Lao, Family::Latin, Family::Khmer]
        );
        assert!(s.glyphs.iter().all(|g| g.gid != 0), "no missing glyphs");
    }

    #[test]
    fn khmer_coeng_and_myanmar_medials_are_shaped_not_spelled_out() {
        // ក្រ (ka + coeng + ro) is one cluster drawn by 2 glyphs; unshaped it would be 3 plus a
        // dotted circle.
        let k = shape(&clean("ក្រ"), 10.0, false);
        assert!(k.glyphs.len() <= 2, "{:?}", k.glyphs);
        assert!(k.glyphs.iter().all(|g| g.cluster == 0));
        // မြန်မာ: the medial ra wraps the consonant; every glyph exists.
        let m = shape(&clean("မြန်မာ"), 10.0, false);
        assert!(m.glyphs.iter().all(|g| g.gid != 0));
        // Thai tone mark above a vowel above a consonant is lifted (a y offset or its own
        // positioned glyph), never left colliding at the default position.
        let t = shape(&clean("ที่"), 10.0, false);
        assert_eq!(t.glyphs.len(), 3);
    }

    #[test]
    fn names_wrap_at_spaces_and_keep_family_names_whole() {
        let s = shape(&clean("มาริษ เสงี่ยมพงษ์วัฒนากุล"), 10.0, false);
        let family = shape(&clean("เสงี่ยมพงษ์วัฒนากุล"), 10.0, false).width();
        // The longest word is the family name, wider than any dictionary piece of it.
        assert!((s.word_width() - family).abs() < 0.01);
        assert!(s.min_width() < family);
        // A line as wide as the family name: the dictionary would cut it, words do not.
        let width = family + 1.0;
        let by_words: Vec<&str> = s.wrap_words(width).iter().map(|l| s.line_text(l)).collect();
        assert_eq!(by_words, ["มาริษ", "เสงี่ยมพงษ์วัฒนากุล"]);
        let by_dictionary: Vec<&str> = s.wrap(width).iter().map(|l| s.line_text(l)).collect();
        assert_ne!(
            by_dictionary, by_words,
            "the dictionary fills the first line"
        );
        // A word wider than the line still breaks, at dictionary boundaries.
        let narrow = s.wrap_words(family * 0.6);
        assert!(narrow.len() >= 3, "{narrow:?}");
        let joined: String = narrow.iter().map(|l| s.line_text(l)).collect();
        assert_eq!(squash(&joined), squash(&s.text));
        // Latin: a hyphenated name is one word.
        let l = shape(&clean("Jean-Pierre Sangiampongsa"), 10.0, false);
        let lines: Vec<&str> = l
            .wrap_words(shape("Sangiampongsa", 10.0, false).width() + 1.0)
            .iter()
            .map(|x| l.line_text(x))
            .collect();
        assert_eq!(lines, ["Jean-Pierre", "Sangiampongsa"]);
    }

    fn squash(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    #[test]
    fn nfd_vietnamese_is_composed_before_shaping() {
        let nfd = "Nguye\u{302}\u{303}n";
        let a = shape(&clean(nfd), 10.0, false);
        let b = shape(&clean("Nguyễn"), 10.0, false);
        assert_eq!(a.text, b.text);
        assert_eq!(a.glyphs.len(), b.glyphs.len());
    }

    #[test]
    fn thai_breaks_between_words_not_inside_them() {
        // "ประเทศไทย" (Thailand) + "กระทรวงการต่างประเทศ" (Ministry of Foreign Affairs)
        let s = shape(&clean("กระทรวงการต่างประเทศแห่งราชอาณาจักรไทย"), 10.0, false);
        let lines = s.wrap(s.width() * 0.45);
        assert!(lines.len() >= 3, "{lines:?}");
        let joined: String = lines.iter().map(|l| s.line_text(l)).collect();
        assert_eq!(joined, s.text);
        for l in &lines {
            assert!(l.width <= s.width() * 0.45 + 0.01);
            // Every line ends at a dictionary word boundary: a known word closes it.
            let t = s.line_text(l);
            assert!(
                [
                    "กระทรวง",
                    "การ",
                    "ต่าง",
                    "ประเทศ",
                    "แห่ง",
                    "ราช",
                    "อาณาจักร",
                    "ไทย"
                ]
                .iter()
                .any(|w| t.ends_with(w)),
                "line ends mid-word: {t}"
            );
        }
    }

    #[test]
    fn a_word_longer_than_the_line_is_cut_between_clusters() {
        let s = shape(&clean(&"ស្រុក".repeat(40)), 10.0, false);
        let lines = s.wrap(60.0);
        assert!(lines.len() > 3);
        for l in &lines {
            assert!(l.width <= 60.0 + 0.01, "{l:?}");
        }
        let joined: String = lines.iter().map(|l| s.line_text(l)).collect();
        assert_eq!(joined, s.text);
        // Never inside a cluster: each cut falls where a glyph starts a new cluster.
        for w in lines.windows(2) {
            let g = &s.glyphs[w[1].start];
            assert_ne!(g.cluster, s.glyphs[w[1].start - 1].cluster);
        }
    }

    #[test]
    fn unknown_scripts_show_a_visible_box_and_keep_their_text() {
        let s = shape(&clean("会议 agenda"), 10.0, false);
        assert_eq!(s.glyphs[0].gid, 0);
        assert!(s.glyphs[0].advance > 0.0);
        let lines = s.wrap(500.0);
        assert_eq!(s.line_text(&lines[0]), "会议 agenda");
    }

    #[test]
    fn empty_and_control_text() {
        assert!(shape("", 10.0, false).wrap(100.0).is_empty());
        assert_eq!(clean("a\tb\u{7}c\r\nd"), "a bc\nd");
    }
}

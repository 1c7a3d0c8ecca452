//! Lines: text shaped in one style and broken to a width ([`Para`], [`lines`]), or cut to one
//! line with an ellipsis ([`one_line`]); then placed as a [`Draw::Text`]. Breaking itself
//! (dictionary boundaries, scripts) is the shaper's ([`crate::shape`]).

use super::{Color, Draw, TextLine};
use crate::shape::{clean, shape, Glyph, Shaped};

pub(super) const BODY: f32 = 10.0;
pub(super) const TABLE: f32 = 8.5;
pub(super) const PAD_X: f32 = 4.0;
pub(super) const PAD_Y: f32 = 3.0;

/// A wrapped line before placement.
#[derive(Debug, Clone)]
pub(super) struct LineBox {
    pub(super) glyphs: Vec<Glyph>,
    pub(super) text: String,
    pub(super) width: f32,
    pub(super) ascent: f32,
    pub(super) descent: f32,
    pub(super) size: f32,
}

impl LineBox {
    pub(super) fn height(&self) -> f32 {
        self.ascent + self.descent
    }
}

/// A text in one style, shaped paragraph by paragraph (split at newlines).
pub(super) struct Para {
    pub(super) parts: Vec<Shaped>,
}

thread_local! {
    /// Shaped text by (text, size, weight) while one pack is laid out: tables repeat the same
    /// cells (roles, countries, units, statuses) hundreds of times.
    static SHAPED: std::cell::RefCell<std::collections::HashMap<(String, u32, bool), Shaped>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Empties the cache of shaped text (before and after each pack).
pub(super) fn forget_shaped() {
    SHAPED.with(|c| c.borrow_mut().clear());
}

pub(super) fn shape_cached(text: &str, size: f32, bold: bool) -> Shaped {
    if text.len() > 200 {
        return shape(text, size, bold);
    }
    let key = (text.to_string(), size.to_bits(), bold);
    if let Some(s) = SHAPED.with(|c| c.borrow().get(&key).cloned()) {
        return s;
    }
    let s = shape(text, size, bold);
    SHAPED.with(|c| c.borrow_mut().insert(key, s.clone()));
    s
}

impl Para {
    pub(super) fn new(text: &str, size: f32, bold: bool) -> Para {
        let text = clean(text);
        let trimmed = text.trim_matches('\n');
        Para {
            parts: if trimmed.is_empty() {
                Vec::new()
            } else {
                trimmed
                    .split('\n')
                    .map(|p| shape_cached(p, size, bold))
                    .collect()
            },
        }
    }
    pub(super) fn natural_width(&self) -> f32 {
        self.parts.iter().map(Shaped::width).fold(0.0, f32::max)
    }
    pub(super) fn min_width(&self) -> f32 {
        self.parts.iter().map(Shaped::min_width).fold(0.0, f32::max)
    }
    /// The widest space-delimited word.
    pub(super) fn word_width(&self) -> f32 {
        self.parts
            .iter()
            .map(Shaped::word_width)
            .fold(0.0, f32::max)
    }
    pub(super) fn lines(&self, width: f32) -> Vec<LineBox> {
        self.wrapped(width, false)
    }
    /// Lines broken at spaces only, where the words fit (table cells: names stay whole).
    pub(super) fn word_lines(&self, width: f32) -> Vec<LineBox> {
        self.wrapped(width, true)
    }
    fn wrapped(&self, width: f32, words: bool) -> Vec<LineBox> {
        let mut out = Vec::new();
        for s in &self.parts {
            let spans = if words {
                s.wrap_words(width)
            } else {
                s.wrap(width)
            };
            if spans.is_empty() {
                let (ascent, descent) = s.extent(0, 0);
                out.push(LineBox {
                    glyphs: Vec::new(),
                    text: String::new(),
                    width: 0.0,
                    ascent,
                    descent,
                    size: s.size,
                });
            }
            for l in spans {
                let (ascent, descent) = s.extent(l.start, l.end);
                out.push(LineBox {
                    glyphs: s.glyphs[l.start..l.end].to_vec(),
                    text: s.line_text(&l).to_string(),
                    width: l.width,
                    ascent,
                    descent,
                    size: s.size,
                });
            }
        }
        out
    }
}

pub(super) fn lines(text: &str, size: f32, bold: bool, width: f32) -> Vec<LineBox> {
    Para::new(text, size, bold).lines(width)
}

/// One line only: cut to fit `width`, with an ellipsis when something was left out (running
/// headers must never wrap or run into the margin).
pub(super) fn one_line(text: &str, size: f32, bold: bool, width: f32) -> Option<LineBox> {
    let flat = clean(text).replace('\n', " ");
    let mut ls = lines(&flat, size, bold, width);
    if ls.len() <= 1 {
        return ls.pop();
    }
    let ell = shape("…", size, bold).width();
    let first = lines(&flat, size, bold, (width - ell).max(size))
        .into_iter()
        .next()?;
    lines(&format!("{}…", first.text), size, bold, width * 2.0)
        .into_iter()
        .next()
}

pub(super) fn text_draw(l: LineBox, x: f32, baseline: f32, color: Color) -> Draw {
    Draw::Text(TextLine {
        x,
        baseline,
        size: l.size,
        color,
        glyphs: l.glyphs,
        text: l.text,
        width: l.width,
        ascent: l.ascent,
        descent: l.descent,
    })
}

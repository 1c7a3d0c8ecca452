//! Pack model → pages of positioned lines, rules and fills. No PDF here: the layout is plain data
//! so tests can check geometry (nothing outside the margins, contents numbers = real pages)
//! before anything is serialised.
//!
//! Page order: cover, contents, then each section from a new page. Tables repeat their header
//! row on every page they continue onto; a row taller than the space left is continued on the
//! next page line by line rather than clipped. Headers and footers (short title, classification,
//! "data as of", "Page x of y") are added once the page count is known.

use crate::compose::Paper;
use crate::model::{Block, Pack, SectionKind};
use crate::shape::Glyph;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Color(pub f32, pub f32, pub f32);

pub const BLACK: Color = Color(0.1, 0.1, 0.12);
pub const GREY: Color = Color(0.38, 0.4, 0.44);
pub const RULE: Color = Color(0.72, 0.74, 0.78);
pub const SHADE: Color = Color(0.91, 0.93, 0.96);
pub const ACCENT: Color = Color(0.06, 0.24, 0.45);
pub const ALERT: Color = Color(0.75, 0.08, 0.1);
pub const RAG_RED: Color = Color(0.82, 0.12, 0.12);
pub const RAG_AMBER: Color = Color(0.95, 0.62, 0.05);
pub const RAG_GREEN: Color = Color(0.1, 0.6, 0.25);

/// One line of text at a position. `y` coordinates here run down from the top of the page.
#[derive(Debug, Clone)]
pub struct TextLine {
    pub x: f32,
    pub baseline: f32,
    pub size: f32,
    pub color: Color,
    pub glyphs: Vec<Glyph>,
    /// The characters the glyphs draw, in logical order (what copy/paste and search give).
    pub text: String,
    pub width: f32,
    pub ascent: f32,
    pub descent: f32,
}

#[derive(Debug, Clone)]
pub enum Draw {
    Text(TextLine),
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: Color,
    },
    Rule {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
        color: Color,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Page {
    pub draws: Vec<Draw>,
}

/// Page size and the frames text may occupy (points; y down from the top).
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    pub width: f32,
    pub height: f32,
    pub left: f32,
    pub right: f32,
    /// Body frame.
    pub top: f32,
    pub bottom: f32,
    /// Header band (running title, classification) and footer band.
    pub header_top: f32,
    pub footer_bottom: f32,
}

impl Geometry {
    pub fn new(paper: Paper) -> Geometry {
        let (width, height) = match paper {
            Paper::A4 => (595.28, 841.89),
            Paper::Letter => (612.0, 792.0),
        };
        Geometry {
            width,
            height,
            left: 56.0,
            right: width - 56.0,
            top: 64.0,
            bottom: height - 60.0,
            header_top: 24.0,
            footer_bottom: height - 22.0,
        }
    }
    pub fn measure(&self) -> f32 {
        self.right - self.left
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContentsEntry {
    pub level: u8,
    pub title: String,
    /// 1-based page number in the finished pack.
    pub page: usize,
}

#[derive(Debug, Clone)]
pub struct Layout {
    pub geometry: Geometry,
    pub pages: Vec<Page>,
    pub contents: Vec<ContentsEntry>,
}

mod lines;

use lines::{forget_shaped, lines, one_line, text_draw, LineBox, Para, BODY, PAD_X, PAD_Y, TABLE};

// ---------------------------------------------------------------------------------------------
// Flow: fills the body frame page after page.

struct Flow {
    geo: Geometry,
    pages: Vec<Page>,
    y: f32,
}

/// The style of one table.
struct TableStyle {
    header: bool,
    borders: bool,
    first_column_bold: bool,
    size: f32,
}

struct CellBox {
    lines: Vec<LineBox>,
    color: Color,
    marker: Option<Color>,
}

const MARKER: f32 = 11.0;

impl Flow {
    fn new(geo: Geometry) -> Flow {
        Flow {
            geo,
            pages: vec![Page::default()],
            y: geo.top,
        }
    }

    fn draw(&mut self, d: Draw) {
        if let Some(p) = self.pages.last_mut() {
            p.draws.push(d);
        }
    }

    fn break_page(&mut self) {
        self.pages.push(Page::default());
        self.y = self.geo.top;
    }

    fn at_top(&self) -> bool {
        self.y <= self.geo.top + 0.01
    }

    fn room(&self) -> f32 {
        self.geo.bottom - self.y
    }

    /// Starts a new page unless `h` still fits (or the page is empty: then it must go here).
    fn need(&mut self, h: f32) {
        if h > self.room() + 0.01 && !self.at_top() {
            self.break_page();
        }
    }

    fn gap(&mut self, h: f32) {
        if !self.at_top() {
            self.y = (self.y + h).min(self.geo.bottom);
        }
    }

    fn put(&mut self, l: LineBox, x: f32, color: Color) {
        let h = l.height();
        self.need(h);
        let baseline = self.y + l.ascent;
        self.draw(text_draw(l, x, baseline, color));
        self.y += h;
    }

    fn paragraph(&mut self, text: &str, size: f32, bold: bool, color: Color, indent: f32) {
        for l in lines(text, size, bold, self.geo.measure() - indent) {
            self.put(l, self.geo.left + indent, color);
        }
    }

    fn body_line(&self) -> f32 {
        BODY * 1.4
    }

    /// Sets a heading (kept with what follows) and returns the index of the page it is on.
    fn heading(&mut self, level: u8, text: &str) -> usize {
        let (size, before, color) = match level {
            0 => (16.0, 0.0, ACCENT),
            1 => (12.5, 12.0, ACCENT),
            _ => (10.5, 7.0, BLACK),
        };
        self.gap(before);
        let ls = lines(text, size, true, self.geo.measure());
        let h: f32 = ls.iter().map(LineBox::height).sum();
        // Keep the heading with at least three lines of what follows.
        self.need(h + 3.0 * self.body_line());
        let page = self.pages.len() - 1;
        for l in ls {
            self.put(l, self.geo.left, color);
        }
        if level == 0 {
            self.y += 3.0;
            let (l, r, y) = (self.geo.left, self.geo.right, self.y);
            self.draw(Draw::Rule {
                x1: l,
                y1: y,
                x2: r,
                y2: y,
                width: 1.0,
                color: ACCENT,
            });
            self.y += 8.0;
        } else {
            self.y += 3.0;
        }
        page
    }

    /// Column widths that fill the measure: natural widths when they fit, else every column
    /// gets its longest word and the rest is shared by how much text each holds (`vol`: the
    /// sum of its cells' natural widths), no column beyond its natural width. A column of a
    /// few short labels (a delegation's name on its first row only) then takes little, and
    /// the columns that hold the most text (names, positions) wrap least.
    fn widths(&self, nat: &[f32], min: &[f32], vol: &[f32]) -> Vec<f32> {
        let w = self.geo.measure();
        let n = nat.len().max(1) as f32;
        let cap = |v: f32| v.min(w);
        let nat: Vec<f32> = nat.iter().map(|v| cap(v + 2.0 * PAD_X)).collect();
        let min: Vec<f32> = min
            .iter()
            .zip(&nat)
            .map(|(m, n)| cap(m + 2.0 * PAD_X).min(*n).max(2.0 * PAD_X + 12.0))
            .collect();
        let sum_nat: f32 = nat.iter().sum();
        let sum_min: f32 = min.iter().sum();
        if sum_nat <= w {
            let extra = w - sum_nat;
            return nat
                .iter()
                .map(|v| v + extra * if sum_nat > 0.0 { v / sum_nat } else { 1.0 / n })
                .collect();
        }
        if sum_min <= w {
            // Water-filling: the width left after every column's longest word is shared by
            // text volume; a column that reaches its natural width stops and its share goes to
            // the others. Since the natural widths do not fit, all of it is used.
            let mut ws = min.clone();
            let mut extra = w - sum_min;
            let mut open: Vec<usize> = (0..nat.len()).filter(|i| nat[*i] > min[*i]).collect();
            while extra > 0.001 && !open.is_empty() {
                let weight = |i: usize| vol.get(i).copied().unwrap_or(0.0).max(1.0);
                let total: f32 = open.iter().map(|i| weight(*i)).sum();
                let mut used = 0.0;
                let mut still = Vec::with_capacity(open.len());
                for &i in &open {
                    let share = extra * weight(i) / total;
                    let room = nat[i] - ws[i];
                    if share >= room {
                        ws[i] = nat[i];
                        used += room;
                    } else {
                        ws[i] += share;
                        used += share;
                        still.push(i);
                    }
                }
                extra -= used;
                if still.len() == open.len() {
                    break;
                }
                open = still;
            }
            if extra > 0.001 {
                // Rounding: whatever is left goes to the last column.
                if let Some(last) = ws.last_mut() {
                    *last += extra;
                }
            }
            return ws;
        }
        // Not even the longest words fit: every column keeps room for a glyph or two (words
        // are then cut between clusters), the rest goes by how much each would need.
        let floor = (2.0 * PAD_X + 14.0).min(w / n);
        let over: f32 = min.iter().map(|m| (m - floor).max(0.0)).sum();
        let extra = w - floor * n;
        min.iter()
            .map(|m| {
                floor
                    + if over > 0.0 {
                        extra * (m - floor).max(0.0) / over
                    } else {
                        extra / n
                    }
            })
            .collect()
    }

    fn table(
        &mut self,
        header: Option<&[String]>,
        rows: &[Vec<(String, bool, Option<Color>)>],
        st: &TableStyle,
    ) {
        let ncols = header
            .map(<[String]>::len)
            .unwrap_or(0)
            .max(rows.iter().map(Vec::len).max().unwrap_or(0));
        if ncols == 0 {
            return;
        }
        let head: Option<Vec<Para>> =
            header.map(|h| h.iter().map(|t| Para::new(t, st.size, true)).collect());
        let body: Vec<Vec<Para>> = rows
            .iter()
            .map(|r| {
                (0..ncols)
                    .map(|i| {
                        let (t, alert, _) = r.get(i).cloned().unwrap_or_default();
                        Para::new(&t, st.size, alert || (st.first_column_bold && i == 0))
                    })
                    .collect()
            })
            .collect();
        let mut nat = vec![0.0f32; ncols];
        let mut min = vec![0.0f32; ncols];
        // The longest space-delimited word of each column: columns get at least that where
        // the line allows, and cells then break at spaces only, so a name ("Sangiampongsa",
        // "เสงี่ยมพงษ์") is never split across lines.
        let mut word = vec![0.0f32; ncols];
        let mut vol = vec![0.0f32; ncols];
        for r in head.iter().chain(body.iter()) {
            for (i, p) in r.iter().enumerate() {
                let marker = if rows.iter().any(|r| r.get(i).is_some_and(|c| c.2.is_some())) {
                    MARKER
                } else {
                    0.0
                };
                nat[i] = nat[i].max(p.natural_width() + marker);
                vol[i] += p.natural_width();
                min[i] = min[i].max(p.min_width() + marker);
                word[i] = word[i].max(p.word_width() + marker);
            }
        }
        // Only in tables with a header (field lists hold running text).
        let words_fit = st.header
            && word
                .iter()
                .map(|w| (w + 2.0 * PAD_X).max(2.0 * PAD_X + 12.0))
                .sum::<f32>()
                <= self.geo.measure();
        if words_fit {
            min = word;
        }
        let ws = if st.header || ncols != 2 {
            self.widths(&nat, &min, &vol)
        } else {
            // Field lists: a label column of a steady width (what the labels need, between a
            // fifth and a third of the line), the value takes the rest.
            let m = self.geo.measure();
            let label = (nat[0] + 2.0 * PAD_X).clamp(m * 0.2, m / 3.0);
            vec![label, m - label]
        };
        let mut xs = Vec::with_capacity(ncols);
        let mut x = self.geo.left;
        for w in &ws {
            xs.push(x);
            x += w;
        }
        let cells = |paras: &[Para], src: Option<&Vec<(String, bool, Option<Color>)>>| {
            paras
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let c = src.and_then(|r| r.get(i));
                    let marker = c.and_then(|c| c.2);
                    let inner = ws[i] - 2.0 * PAD_X - if marker.is_some() { MARKER } else { 0.0 };
                    CellBox {
                        lines: if words_fit {
                            p.word_lines(inner.max(1.0))
                        } else {
                            p.lines(inner.max(1.0))
                        },
                        color: match c {
                            Some((_, true, _)) => ALERT,
                            _ if st.first_column_bold && i == 0 => GREY,
                            _ => BLACK,
                        },
                        marker,
                    }
                })
                .collect::<Vec<CellBox>>()
        };
        let mut head_cells = head.as_ref().map(|h| cells(h, None));
        let mut head_h = head_cells.as_ref().map_or(0.0, |h| row_height(h));
        // A header row taller than a third of the page cannot sensibly repeat: it is printed
        // once, as the first row, and continues like any other row if it must.
        if head_h > (self.geo.bottom - self.geo.top) / 3.0 {
            if let Some(h) = head_cells.take() {
                self.row(&h, None, &xs, &ws, st);
            }
            head_h = 0.0;
        }
        // Start where the header and the first row (or a good part of it) fit together.
        let first_h = body
            .first()
            .map(|r| row_height(&cells(r, rows.first())).min(4.0 * self.body_line()))
            .unwrap_or(0.0);
        self.need(head_h + first_h);
        if let Some(h) = &head_cells {
            self.slice(h, &xs, &ws, &vec![0; ncols], &vec![0; ncols], true, st);
        }
        for (r, src) in body.iter().zip(rows) {
            let cb = cells(r, Some(src));
            self.row(&cb, head_cells.as_deref(), &xs, &ws, st);
        }
        self.y += 6.0;
    }

    /// Places one row, continuing it on following pages (under a repeated header) when it
    /// does not fit.
    fn row(
        &mut self,
        cells: &[CellBox],
        head: Option<&[CellBox]>,
        xs: &[f32],
        ws: &[f32],
        st: &TableStyle,
    ) {
        let head_h = head.map_or(0.0, row_height);
        let fresh_room = self.geo.bottom - self.geo.top - head_h;
        let mut pos = vec![0usize; cells.len()];
        let mut fresh = false;
        loop {
            let rest = remaining_height(cells, &pos) + 2.0 * PAD_Y;
            if rest <= self.room() + 0.01 || (fresh && rest <= fresh_room + 0.01) {
                let end: Vec<usize> = cells.iter().map(|c| c.lines.len()).collect();
                self.slice(cells, xs, ws, &pos, &end, false, st);
                return;
            }
            if !fresh && rest <= fresh_room + 0.01 {
                self.continue_table(head, xs, ws, st);
                fresh = true;
                continue;
            }
            // Taller than a page, or continuing: as many lines of each cell as fit here.
            let avail = self.room() - 2.0 * PAD_Y;
            let mut end = pos.clone();
            for (i, c) in cells.iter().enumerate() {
                let mut h = 0.0;
                while end[i] < c.lines.len() && h + c.lines[end[i]].height() <= avail + 0.01 {
                    h += c.lines[end[i]].height();
                    end[i] += 1;
                }
                if end[i] == pos[i] && pos[i] < c.lines.len() && fresh {
                    end[i] += 1; // a page holds at least one line of every cell
                }
            }
            if end == pos {
                self.continue_table(head, xs, ws, st);
                fresh = true;
                continue;
            }
            self.slice(cells, xs, ws, &pos, &end, false, st);
            pos = end;
            if cells.iter().zip(&pos).all(|(c, p)| *p >= c.lines.len()) {
                return;
            }
            self.continue_table(head, xs, ws, st);
            fresh = true;
        }
    }

    fn continue_table(
        &mut self,
        head: Option<&[CellBox]>,
        xs: &[f32],
        ws: &[f32],
        st: &TableStyle,
    ) {
        self.break_page();
        if let Some(h) = head {
            let n = h.len();
            self.slice(
                h,
                xs,
                ws,
                &vec![0; n],
                &h.iter().map(|c| c.lines.len()).collect::<Vec<_>>(),
                true,
                st,
            );
        }
    }

    /// Draws lines `from[i]..to[i]` of every cell as one band of a row.
    #[allow(clippy::too_many_arguments)]
    fn slice(
        &mut self,
        cells: &[CellBox],
        xs: &[f32],
        ws: &[f32],
        from: &[usize],
        to: &[usize],
        header: bool,
        st: &TableStyle,
    ) {
        let full: Vec<usize> = cells.iter().map(|c| c.lines.len()).collect();
        let to: &[usize] = if header { &full } else { to };
        let mut h: f32 = 0.0;
        for (i, c) in cells.iter().enumerate() {
            let part: f32 = c.lines[from[i].min(to[i])..to[i]]
                .iter()
                .map(LineBox::height)
                .sum();
            h = h.max(part);
        }
        if h == 0.0 {
            h = BODY * 1.2;
        }
        let band = h + 2.0 * PAD_Y;
        let (left, right) = (
            self.geo.left,
            xs.last()
                .zip(ws.last())
                .map_or(self.geo.right, |(x, w)| x + w),
        );
        let top = self.y;
        if header && st.header {
            self.draw(Draw::Fill {
                x: left,
                y: top,
                w: right - left,
                h: band,
                color: SHADE,
            });
        }
        for (i, c) in cells.iter().enumerate() {
            let mut y = top + PAD_Y;
            let mut x = xs[i] + PAD_X;
            if let Some(m) = c.marker {
                if from[i] == 0 {
                    let first = c.lines.first().map_or(BODY, |l| l.ascent);
                    let side = 7.0;
                    self.draw(Draw::Fill {
                        x,
                        y: y + first - side - 0.5,
                        w: side,
                        h: side,
                        color: m,
                    });
                }
                x += MARKER;
            }
            for l in &c.lines[from[i].min(to[i])..to[i]] {
                let lh = l.height();
                let baseline = y + l.ascent;
                let color = if header { ACCENT } else { c.color };
                self.draw(text_draw(l.clone(), x, baseline, color));
                y += lh;
            }
        }
        self.y = top + band;
        if st.borders || (header && st.header) {
            let y = self.y;
            self.draw(Draw::Rule {
                x1: left,
                y1: y,
                x2: right,
                y2: y,
                width: if header { 0.8 } else { 0.4 },
                color: if header { ACCENT } else { RULE },
            });
        }
    }
}

fn row_height(cells: &[CellBox]) -> f32 {
    remaining_height(cells, &vec![0; cells.len()]) + 2.0 * PAD_Y
}

fn remaining_height(cells: &[CellBox], pos: &[usize]) -> f32 {
    let h = cells
        .iter()
        .zip(pos)
        .map(|(c, p)| {
            c.lines[(*p).min(c.lines.len())..]
                .iter()
                .map(LineBox::height)
                .sum::<f32>()
        })
        .fold(0.0, f32::max);
    if h == 0.0 && pos.iter().all(|p| *p == 0) {
        BODY * 1.2
    } else {
        h
    }
}

fn rag_marker(label: &str, value: &str) -> Option<Color> {
    if label != crate::model::RATING_LABEL {
        return None;
    }
    let v = value.trim_start().to_ascii_uppercase();
    if v.starts_with("RED") {
        Some(RAG_RED)
    } else if v.starts_with("AMBER") {
        Some(RAG_AMBER)
    } else if v.starts_with("GREEN") {
        Some(RAG_GREEN)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// The pack

/// Where a contents entry points, while the body is being laid out (page index in the body).
struct Anchor {
    level: u8,
    title: String,
    body_page: usize,
}

fn cover(pack: &Pack, geo: Geometry) -> Vec<Page> {
    let mut f = Flow::new(geo);
    f.y = geo.top + 120.0;
    let m = geo.measure();
    if !pack.framework.is_empty() {
        f.paragraph(&pack.framework, 13.0, true, GREY, 0.0);
    }
    f.gap(6.0);
    f.paragraph("Briefing pack", 12.0, false, GREY, 0.0);
    f.gap(18.0);
    f.paragraph(&pack.title, 22.0, true, ACCENT, 0.0);
    f.gap(14.0);
    f.paragraph(&pack.dates, 13.0, false, BLACK, 0.0);
    f.paragraph(&pack.venue, 12.0, false, BLACK, 0.0);
    f.gap(28.0);
    if !pack.classification.is_empty() {
        let ls = lines(&pack.classification, 12.0, true, m - 16.0);
        let h: f32 = ls.iter().map(LineBox::height).sum::<f32>() + 10.0;
        f.need(h);
        let w = ls.iter().map(|l| l.width).fold(0.0, f32::max) + 16.0;
        let (x, y) = (geo.left, f.y);
        for (y1, y2) in [(y, y), (y + h, y + h)] {
            f.draw(Draw::Rule {
                x1: x,
                y1,
                x2: x + w,
                y2,
                width: 1.2,
                color: ALERT,
            });
        }
        f.y += 5.0;
        for l in ls {
            f.put(l, geo.left + 8.0, ALERT);
        }
        f.y = y + h;
        f.gap(14.0);
    }
    if !pack.prepared_for.is_empty() {
        f.paragraph(&pack.prepared_for, 11.0, true, ALERT, 0.0);
        f.gap(6.0);
    }
    if !pack.data_as_of.is_empty() {
        f.paragraph(&pack.data_as_of, 9.5, false, GREY, 0.0);
    }
    f.pages
}

fn contents_pages(entries: &[(u8, String, String)], geo: Geometry) -> Vec<Page> {
    let mut f = Flow::new(geo);
    let _ = f.heading(0, "Contents");
    let num_w = 40.0;
    for (level, title, number) in entries {
        let (size, bold, indent, gap) = if *level == 0 {
            (10.5, true, 0.0, 6.0)
        } else {
            (9.5, false, 14.0, 1.5)
        };
        f.gap(gap);
        let ls = lines(title, size, bold, geo.measure() - indent - num_w);
        let h: f32 = ls.iter().map(LineBox::height).sum();
        f.need(h);
        let count = ls.len();
        for (i, l) in ls.into_iter().enumerate() {
            let baseline = f.y + l.ascent;
            let lh = l.height();
            f.draw(text_draw(l, geo.left + indent, baseline, BLACK));
            if i + 1 == count {
                if let Some(n) = one_line(number, size, bold, num_w) {
                    let x = geo.right - n.width;
                    f.draw(text_draw(n, x, baseline, BLACK));
                }
            }
            f.y += lh;
        }
    }
    f.pages
}

fn body(pack: &Pack, geo: Geometry) -> (Vec<Page>, Vec<Anchor>) {
    let mut f = Flow::new(geo);
    let mut anchors = Vec::new();
    let fields = TableStyle {
        header: false,
        borders: false,
        first_column_bold: true,
        size: 9.5,
    };
    let table = TableStyle {
        header: true,
        borders: true,
        first_column_bold: false,
        size: TABLE,
    };
    for (si, s) in pack.sections.iter().enumerate() {
        if si > 0 {
            f.break_page();
        }
        anchors.push(Anchor {
            level: 0,
            title: s.title.clone(),
            body_page: f.pages.len() - 1,
        });
        let _ = f.heading(0, &s.title);
        let listed = matches!(s.kind, SectionKind::Briefs | SectionKind::Projects);
        for (bi, b) in s.blocks.iter().enumerate() {
            match b {
                Block::Heading { level, text } => {
                    if s.kind == SectionKind::Projects && *level == 1 && bi > 0 {
                        // One background page per project.
                        f.break_page();
                    }
                    let page = f.heading(*level, text);
                    if listed && *level == 1 {
                        anchors.push(Anchor {
                            level: 1,
                            title: text.clone(),
                            body_page: page,
                        });
                    }
                }
                Block::Paragraph { text } => {
                    f.paragraph(text, BODY, false, BLACK, 0.0);
                    f.gap(5.0);
                }
                Block::Fields { rows } => {
                    let rows: Vec<Vec<(String, bool, Option<Color>)>> = rows
                        .iter()
                        .map(|(k, v)| {
                            vec![
                                (k.clone(), false, None),
                                (v.clone(), false, rag_marker(k, v)),
                            ]
                        })
                        .collect();
                    f.table(None, &rows, &fields);
                }
                Block::Table { columns, rows } => {
                    let rows: Vec<Vec<(String, bool, Option<Color>)>> = rows
                        .iter()
                        .map(|r| r.iter().map(|c| (c.text.clone(), c.alert, None)).collect())
                        .collect();
                    f.table(Some(columns), &rows, &table);
                }
            }
        }
    }
    (f.pages, anchors)
}

fn running_heads(pack: &Pack, geo: Geometry, pages: &mut [Page]) {
    let total = pages.len();
    let m = geo.measure();
    let small = 8.0;
    for (i, p) in pages.iter_mut().enumerate() {
        let mut put = |l: Option<LineBox>,
                       x: f32,
                       right_align: bool,
                       centre: bool,
                       top: bool,
                       color: Color| {
            if let Some(l) = l {
                let x = if right_align {
                    x - l.width
                } else if centre {
                    x - l.width / 2.0
                } else {
                    x
                };
                let baseline = if top {
                    geo.header_top + l.ascent
                } else {
                    geo.footer_bottom - l.descent
                };
                p.draws.push(text_draw(l, x, baseline, color));
            }
        };
        let class = one_line(&pack.classification, small, true, m * 0.3);
        let class_w = class.as_ref().map_or(0.0, |l| l.width);
        // "Prepared for …" in the header's middle, the title left of it.
        let prepared = one_line(&pack.prepared_for, small, true, m * 0.5);
        let prepared_w = prepared.as_ref().map_or(0.0, |l| l.width);
        let title_room = if prepared.is_some() {
            (m / 2.0 - prepared_w / 2.0 - 12.0).min(m - class_w - prepared_w - 36.0)
        } else {
            m - class_w - 24.0
        };
        put(prepared, geo.left + m / 2.0, false, true, true, ALERT);
        put(
            one_line(&pack.short_title, small, false, title_room),
            geo.left,
            false,
            false,
            true,
            GREY,
        );
        put(class.clone(), geo.right, true, false, true, ALERT);
        put(
            one_line(&pack.data_as_of, small, false, m * 0.33),
            geo.left,
            false,
            false,
            false,
            GREY,
        );
        put(class, geo.left + m / 2.0, false, true, false, ALERT);
        put(
            one_line(
                &format!("Page {} of {}", i + 1, total),
                small,
                false,
                m * 0.3,
            ),
            geo.right,
            true,
            false,
            false,
            GREY,
        );
        let head_rule = geo.header_top + 14.0;
        let foot_rule = geo.footer_bottom - 14.0;
        for y in [head_rule, foot_rule] {
            p.draws.push(Draw::Rule {
                x1: geo.left,
                y1: y,
                x2: geo.right,
                y2: y,
                width: 0.5,
                color: RULE,
            });
        }
    }
}

/// Lays out a whole pack.
pub fn layout(pack: &Pack, paper: Paper) -> Layout {
    forget_shaped();
    let l = layout_pages(pack, paper);
    forget_shaped();
    l
}

fn layout_pages(pack: &Pack, paper: Paper) -> Layout {
    let geo = Geometry::new(paper);
    let cover = cover(pack, geo);
    let (body, anchors) = body(pack, geo);
    // The contents' own length does not depend on the numbers (they sit in a fixed column), so
    // one dry run gives where the body starts.
    let mut entries: Vec<(u8, String, String)> = anchors
        .iter()
        .map(|a| (a.level, a.title.clone(), "000".to_string()))
        .collect();
    let dry = contents_pages(&entries, geo).len();
    let first_body_page = cover.len() + dry + 1;
    let contents: Vec<ContentsEntry> = anchors
        .iter()
        .map(|a| ContentsEntry {
            level: a.level,
            title: a.title.clone(),
            page: first_body_page + a.body_page,
        })
        .collect();
    for (e, c) in entries.iter_mut().zip(&contents) {
        e.2 = c.page.to_string();
    }
    let toc = contents_pages(&entries, geo);
    debug_assert_eq!(toc.len(), dry);
    let mut pages = cover;
    pages.extend(toc);
    pages.extend(body);
    running_heads(pack, geo, &mut pages);
    Layout {
        geometry: geo,
        pages,
        contents,
    }
}

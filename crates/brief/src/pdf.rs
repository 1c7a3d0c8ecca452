//! Layout → PDF bytes with printpdf's ops API.
//!
//! Glyphs are written by id (the shaper already chose them) and each line is wrapped in marked
//! content carrying `/ActualText`, so copy/paste, search and `pdftotext` read the characters in
//! logical order even where the glyph order differs (Khmer and Myanmar reorder vowels, Thai stacks
//! marks). Fonts are subset to the glyphs used. The output is deterministic: font resource names,
//! the trailer /ID and the document dates come from the pack, never from a clock or a random
//! source, so the same replica and options give the same bytes.

use crate::fonts::{faces, Face, FaceId};
use crate::layout::{Color, Draw, Layout, TextLine};
use crate::model::Pack;
use printpdf::{
    Codepoint, DictItem, FontId, Line, LinePoint, Mm, Op, PaintMode, ParsedFont, PdfDocument,
    PdfFont, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, Rect, Rgb, TextItem, TextMatrix,
};
use std::collections::BTreeMap;
use std::sync::OnceLock;

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("a bundled font could not be read")]
    Font,
    #[error("the PDF could not be written: {0}")]
    Write(String),
}

fn rgb(c: Color) -> printpdf::Color {
    printpdf::Color::Rgb(Rgb {
        r: c.0,
        g: c.1,
        b: c.2,
        icc_profile: None,
    })
}

fn mm(pt: f32) -> Mm {
    Mm(pt * 25.4 / 72.0)
}

/// printpdf's parsed form of each face, made once per process (parsing is the slow part).
fn parsed(face: FaceId) -> Option<&'static ParsedFont> {
    static PARSED: OnceLock<Vec<Option<ParsedFont>>> = OnceLock::new();
    PARSED
        .get_or_init(|| {
            let Some(fs) = faces() else {
                return Vec::new();
            };
            fs.iter()
                .map(|f| ParsedFont::from_bytes(f.bytes, 0, &mut Vec::new()))
                .collect()
        })
        .get(usize::from(face.0))
        .and_then(Option::as_ref)
}

/// Resource name and subset tag: six capital letters, stable per face.
fn font_id(face: FaceId) -> FontId {
    FontId(format!("DESKF{}", char::from(b'A' + face.0)))
}

fn actual_text(s: &str) -> DictItem {
    let mut data = vec![0xFE, 0xFF];
    for u in s.encode_utf16() {
        data.extend_from_slice(&u.to_be_bytes());
    }
    let mut map = BTreeMap::new();
    map.insert(
        "ActualText".to_string(),
        DictItem::String {
            data,
            literal: false,
        },
    );
    DictItem::Dict { map }
}

/// The ops drawing one line: per font run, glyphs on the baseline as one positioned string,
/// glyphs raised or lowered by the shaper (stacked marks) each at their own position.
/// Text state carried from line to line within a page's text object, so unchanged colour and
/// font are not set again (a 100-page pack has some 10,000 lines).
#[derive(Default)]
struct TextState {
    color: Option<Color>,
    font: Option<(FaceId, u32)>,
}

/// Positions rounded to 1/100 pt (invisible; shorter numbers make smaller, faster files).
fn r2(v: f32) -> f32 {
    (v * 100.0).round() / 100.0
}

fn text_ops(t: &TextLine, page_h: f32, faces: &[Face], st: &mut TextState, ops: &mut Vec<Op>) {
    if t.glyphs.is_empty() {
        return;
    }
    if st.color != Some(t.color) {
        ops.push(Op::SetFillColor { col: rgb(t.color) });
        st.color = Some(t.color);
    }
    ops.push(Op::BeginMarkedContentWithProperties {
        tag: "Span".to_string(),
        properties: actual_text(&t.text),
    });
    let base_y = page_h - t.baseline;
    let mut pen = t.x;
    let mut i = 0;
    while i < t.glyphs.len() {
        let g = t.glyphs[i];
        let font = (g.face, t.size.to_bits());
        if st.font != Some(font) {
            ops.push(Op::SetFont {
                font: PdfFontHandle::External(font_id(g.face)),
                size: Pt(t.size),
            });
            st.font = Some(font);
        }
        // A segment: glyphs of one face sharing the baseline offset.
        let mut j = i;
        let mut xs = Vec::new();
        let mut p = pen;
        while j < t.glyphs.len() && t.glyphs[j].face == g.face && t.glyphs[j].dy == g.dy {
            xs.push(p + t.glyphs[j].dx);
            p += t.glyphs[j].advance;
            j += 1;
            if g.dy != 0.0 {
                break;
            }
        }
        let face = &faces[usize::from(g.face.0)];
        let mut items = Vec::with_capacity(j - i);
        for k in i..j {
            let gid = t.glyphs[k].gid;
            // PDF moves the pen by the font's width; the TJ number corrects it to where the
            // shaper put the next glyph.
            let offset = if k + 1 < j {
                let wanted = (xs[k + 1 - i] - xs[k - i]) * 1000.0 / t.size;
                ((face.pdf_width(gid) - wanted) * 10.0).round() / 10.0
            } else {
                0.0
            };
            items.push(Codepoint {
                gid,
                offset,
                cid: None,
            });
        }
        ops.push(Op::SetTextMatrix {
            matrix: TextMatrix::Translate(Pt(r2(xs[0])), Pt(r2(base_y + g.dy))),
        });
        ops.push(Op::ShowText {
            items: vec![TextItem::GlyphIds(items)],
        });
        pen = p;
        i = j;
    }
    ops.push(Op::EndMarkedContentWithProperties);
}

fn page_ops(draws: &[Draw], page_h: f32, faces: &[Face]) -> Vec<Op> {
    let mut ops = Vec::new();
    for d in draws {
        match d {
            Draw::Fill { x, y, w, h, color } => {
                ops.push(Op::SetFillColor { col: rgb(*color) });
                ops.push(Op::DrawRectangle {
                    rectangle: Rect {
                        x: Pt(r2(*x)),
                        y: Pt(r2(page_h - y - h)),
                        width: Pt(r2(*w)),
                        height: Pt(r2(*h)),
                        mode: Some(PaintMode::Fill),
                        winding_order: None,
                    },
                });
            }
            Draw::Rule {
                x1,
                y1,
                x2,
                y2,
                width,
                color,
            } => {
                ops.push(Op::SetOutlineColor { col: rgb(*color) });
                ops.push(Op::SetOutlineThickness { pt: Pt(*width) });
                let pt = |x: f32, y: f32| LinePoint {
                    p: Point {
                        x: Pt(r2(x)),
                        y: Pt(r2(page_h - y)),
                    },
                    bezier: false,
                };
                ops.push(Op::DrawLine {
                    line: Line {
                        points: vec![pt(*x1, *y1), pt(*x2, *y2)],
                        is_closed: false,
                    },
                });
            }
            Draw::Text(_) => {}
        }
    }
    // Text last, in one text object per page.
    let texts: Vec<&TextLine> = draws
        .iter()
        .filter_map(|d| match d {
            Draw::Text(t) => Some(t),
            _ => None,
        })
        .collect();
    if !texts.is_empty() {
        ops.push(Op::StartTextSection);
        let mut st = TextState::default();
        for t in texts {
            text_ops(t, page_h, faces, &mut st, &mut ops);
        }
        ops.push(Op::EndTextSection);
    }
    ops
}

/// A stable 128-bit digest (two FNV-1a lanes), for the trailer /ID.
fn digest(bytes: &[u8]) -> Vec<u8> {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x6c62_272e_07bb_0142;
    for &x in bytes {
        a = (a ^ u64::from(x)).wrapping_mul(0x0000_0100_0000_01b3);
        b = (b ^ u64::from(x))
            .wrapping_mul(0x0000_0100_0000_01b3)
            .rotate_left(5);
    }
    [a.to_be_bytes(), b.to_be_bytes()].concat()
}

/// Deflates every stream that may be compressed. lopdf's own `compress` uses the slowest level
/// (9): on a 100-page pack that was a fifth of the whole time for files about 3% smaller.
fn compress(lo: &mut lopdf::Document) -> Result<(), PdfError> {
    let mut streams: Vec<&mut lopdf::Stream> = lo
        .objects
        .values_mut()
        .filter_map(|o| match o {
            lopdf::Object::Stream(s) if s.allows_compression && s.dict.get(b"Filter").is_err() => {
                Some(s)
            }
            _ => None,
        })
        .collect();
    // Two halves of about equal bytes, deflated on two threads (each stream on its own, so
    // the bytes do not depend on the split).
    streams.sort_by_key(|s| std::cmp::Reverse(s.content.len()));
    let (mut a, mut b): (Vec<&mut lopdf::Stream>, Vec<&mut lopdf::Stream>) =
        (Vec::new(), Vec::new());
    let (mut wa, mut wb) = (0usize, 0usize);
    for s in streams {
        if wa <= wb {
            wa += s.content.len();
            a.push(s);
        } else {
            wb += s.content.len();
            b.push(s);
        }
    }
    let results = std::thread::scope(|sc| {
        let h = sc.spawn(move || deflate_all(b));
        let ra = deflate_all(a);
        let rb = h
            .join()
            .unwrap_or_else(|_| Err(PdfError::Write("compression thread failed".into())));
        ra.and(rb)
    });
    results
}

fn deflate_all(streams: Vec<&mut lopdf::Stream>) -> Result<(), PdfError> {
    use std::io::Write;
    for stream in streams {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
        z.write_all(&stream.content)
            .map_err(|e| PdfError::Write(e.to_string()))?;
        let packed = z.finish().map_err(|e| PdfError::Write(e.to_string()))?;
        if packed.len() + 19 < stream.content.len() {
            stream.dict.set("Filter", "FlateDecode");
            stream.set_content(packed);
        }
    }
    Ok(())
}

pub fn write(pack: &Pack, layout: &Layout) -> Result<Vec<u8>, PdfError> {
    let faces = faces().ok_or(PdfError::Font)?;
    let geo = layout.geometry;
    let mut doc = PdfDocument::new(&pack.title);
    let when = printpdf::OffsetDateTime::from_unix_timestamp(pack.as_of_unix)
        .or_else(|_| printpdf::OffsetDateTime::from_unix_timestamp(0))
        .map_err(|e| PdfError::Write(e.to_string()))?;
    {
        let info = &mut doc.metadata.info;
        info.creation_date = when;
        info.modification_date = when;
        info.metadata_date = when;
        info.creator = "Secretariat Desk".to_string();
        info.producer = "Secretariat Desk briefing packs (printpdf)".to_string();
        info.subject = pack.short_title.clone();
    }
    let mut used = [false; FaceId::COUNT];
    for p in &layout.pages {
        for d in &p.draws {
            if let Draw::Text(t) = d {
                for g in &t.glyphs {
                    if let Some(u) = used.get_mut(usize::from(g.face.0)) {
                        *u = true;
                    }
                }
            }
        }
    }
    for (i, u) in used.iter().enumerate() {
        if *u {
            let face = FaceId(i as u8);
            let pf = parsed(face).ok_or(PdfError::Font)?;
            doc.resources
                .fonts
                .map
                .insert(font_id(face), PdfFont::new(pf.clone()));
        }
    }
    let pages: Vec<PdfPage> = layout
        .pages
        .iter()
        .map(|p| {
            PdfPage::new(
                mm(geo.width),
                mm(geo.height),
                page_ops(&p.draws, geo.height, faces),
            )
        })
        .collect();
    doc.with_pages(pages);
    let opts = PdfSaveOptions {
        optimize: true,
        subset_fonts: true,
        secure: true,
        image_optimization: None,
    };
    let mut warnings = Vec::new();
    let mut lo = doc.to_lopdf_document(&opts, &mut warnings);
    let id = digest(
        format!(
            "{}\u{0}{}\u{0}{}\u{0}{}",
            pack.outline(),
            pack.as_of_unix,
            geo.width,
            layout.pages.len()
        )
        .as_bytes(),
    );
    lo.trailer.set(
        "ID",
        lopdf::Object::Array(vec![
            lopdf::Object::String(id.clone(), lopdf::StringFormat::Hexadecimal),
            lopdf::Object::String(id, lopdf::StringFormat::Hexadecimal),
        ]),
    );
    compress(&mut lo)?;
    let mut out = Vec::new();
    lo.save_to(&mut out)
        .map_err(|e| PdfError::Write(e.to_string()))?;
    Ok(out)
}

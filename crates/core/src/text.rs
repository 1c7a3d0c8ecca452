//! Text normalisation shared by validation and search.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// NFC, as every stored string is: Vietnamese typed as NFD on one machine and NFC on another
/// compares equal, and shaping in briefing packs gets precomposed letters.
pub fn nfc(s: &str) -> String {
    match unicode_normalization::is_nfc_quick(s.chars()) {
        unicode_normalization::IsNormalized::Yes => s.to_string(),
        _ => s.nfc().collect(),
    }
}

/// Latin letters (Basic Latin to Latin Extended-B, IPA, Latin Extended Additional): the only
/// letters whose diacritics search ignores. Thai, Lao, Khmer and Myanmar vowel signs are
/// combining marks too, but they are part of the letter: removing them would change the word.
fn is_latin(c: char) -> bool {
    matches!(c as u32, 0x41..=0x24F | 0x1E00..=0x1EFF)
}

/// The form text takes in the search index and in queries: NFC, lower case, and Latin letters
/// stripped of diacritics (`Nguyễn` → `nguyen`, `Đà Nẵng` → `da nang`), so a user finds
/// Vietnamese names with or without tones. Other scripts pass through unchanged.
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(s.len());
    for c in nfc(s).chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if c == 'đ' || c == 'Đ' {
            out.push('d');
        } else if is_latin(c) {
            for d in c.to_lowercase().flat_map(|l| std::iter::once(l).nfd()) {
                if !is_combining_mark(d) {
                    out.push(d);
                }
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_folds_to_plain_latin() {
        assert_eq!(fold("Nguyễn Thị Thu Hà"), "nguyen thi thu ha");
        assert_eq!(fold("Đà Nẵng"), "da nang");
        // NFD input folds the same as NFC.
        let nfd: String = "Trần Quốc Vượng".nfd().collect();
        assert_eq!(fold(&nfd), fold("Trần Quốc Vượng"));
    }

    #[test]
    fn complex_scripts_keep_their_marks() {
        for s in ["สมชาย ใจดี", "ສົມພອນ", "សុខ ចាន់ថា", "အောင်ကျော်"]
        {
            assert_eq!(fold(s), nfc(s));
        }
    }
}

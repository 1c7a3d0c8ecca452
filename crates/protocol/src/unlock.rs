//! One-time unlock codes for a device past its offline lease: an administrator issues one for
//! a device (`desk-server device unlock-code`), reads it out over the phone, and the device
//! checks it with no network. A code is an HMAC-SHA256 over the device's id, a random nonce and
//! the days it grants, keyed by the SHA-256 of the device's sync token — which the server keeps
//! (never the token) and the device can compute — so it works for that device alone, and only
//! while that token stands. The device refuses a nonce it has used before (single use).
//!
//! Shape: `NNNN-NNNN-DD-MMMM-MMMM-MMMM` — 40 random bits of nonce and 60 bits of MAC in RFC 4648
//! base32, the days in two digits. Case, spaces and dashes are ignored when typed.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The most days one code grants.
pub const MAX_DAYS: u32 = 30;
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The hex SHA-256 of a sync token: what the server stores, and the code's key.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// The hex SHA-256 of any bytes (a token's, or a carried file's: its name).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn mac(token_hash: &str, device: &str, nonce: &str, days: u32) -> String {
    // HMAC takes a key of any length: this cannot fail.
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(token_hash.as_bytes()) else {
        return String::new();
    };
    m.update(format!("desk-unlock\0{device}\0{nonce}\0{days}").as_bytes());
    let tag = m.finalize().into_bytes();
    base32(&tag[..8])[..12].to_string()
}

/// A code for `device` granting `days` (1 to [`MAX_DAYS`]), from its token's hash and 5 random
/// bytes.
pub fn make(token_hash: &str, device: &str, random: [u8; 5], days: u32) -> String {
    let days = days.clamp(1, MAX_DAYS);
    let nonce = base32(&random);
    let m = mac(token_hash, device, &nonce, days);
    format!(
        "{}-{}-{days:02}-{}-{}-{}",
        &nonce[..4],
        &nonce[4..],
        &m[..4],
        &m[4..8],
        &m[8..]
    )
}

/// A code that checked out: its nonce (to refuse it next time) and the days it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    pub nonce: String,
    pub days: u32,
}

/// Checks a typed code for `device` holding `token`. The error says what is wrong with it.
pub fn check(token: &str, device: &str, typed: &str) -> Result<Granted, String> {
    let clean: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if clean.len() != 22 || !clean.is_ascii() {
        return Err("an unlock code has 22 letters and digits (dashes and spaces aside)".into());
    }
    let (nonce, rest) = clean.split_at(8);
    let (days, given) = rest.split_at(2);
    let days: u32 = days
        .parse()
        .ok()
        .filter(|d| (1..=MAX_DAYS).contains(d))
        .ok_or("this is not an unlock code (its days are not a number from 1 to 30)")?;
    let want = mac(&token_hash(token), device, nonce, days);
    // Compared in full whatever differs, so the time taken says nothing of where.
    let differs = want
        .bytes()
        .zip(given.bytes())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if differs != 0 || want.len() != given.len() {
        return Err(
            "this unlock code is not for this computer (or was mistyped, or its sign-in has changed since)"
                .into(),
        );
    }
    Ok(Granted {
        nonce: nonce.to_string(),
        days,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"fooba"), "MZXW6YTB");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
    }

    #[test]
    fn a_code_works_for_its_device_and_token_only_and_survives_retyping() {
        let hash = token_hash("the-token");
        let code = make(&hash, "laptop-1", [1, 2, 3, 4, 5], 7);
        assert_eq!(code.len(), 27, "{code}");
        let granted = check("the-token", "laptop-1", &code).unwrap();
        assert_eq!(granted.days, 7);
        // Typed in lower case with spaces for dashes.
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(check("the-token", "laptop-1", &typed).unwrap(), granted);
        assert!(
            check("the-token", "laptop-2", &code).is_err(),
            "another device"
        );
        assert!(
            check("new-token", "laptop-1", &code).is_err(),
            "signed in again since"
        );
        // One character changed anywhere: refused, days included.
        let bytes: Vec<char> = code.chars().collect();
        for i in (0..bytes.len()).filter(|&i| bytes[i] != '-') {
            let mut t = bytes.clone();
            t[i] = if t[i] == 'A' { 'B' } else { 'A' };
            let t: String = t.into_iter().collect();
            if t != code {
                assert!(check("the-token", "laptop-1", &t).is_err(), "{t}");
            }
        }
        assert!(check("the-token", "laptop-1", "1234").is_err());
        assert_eq!(
            make(&hash, "laptop-1", [0; 5], 99).split('-').nth(2),
            Some("30")
        );
    }
}

//! Turns the bytes customers send into text: UTF-8, UTF-16LE/BE with or without BOM (what
//! `wmic … > file.txt` writes) and GBK (a Chinese Windows console), or recognises them as binary.

use encoding_rs::{Encoding, GBK, UTF_8, UTF_16BE, UTF_16LE};

/// Decoded text and the name of the encoding it was read as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decoded {
    pub text: String,
    pub encoding: &'static str,
}

/// How much of the input the UTF-16 and binary heuristics look at; enough for a verdict, cheap on
/// large files.
const SNIFF_BYTES: usize = 8192;

/// Decodes `bytes`, or returns `None` when they are not text (an image, an executable, random bytes).
pub(crate) fn decode(bytes: &[u8]) -> Option<Decoded> {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        let (text, _) = encoding.decode_without_bom_handling(&bytes[bom_len..]);
        return finish(text.into_owned(), encoding.name());
    }
    if let Some(encoding) = sniff_utf16(bytes) {
        let (text, _) = encoding.decode_without_bom_handling(bytes);
        return finish(text.into_owned(), encoding.name());
    }
    let head = &bytes[..bytes.len().min(SNIFF_BYTES)];
    if head.iter().filter(|b| **b == 0).count() > head.len() / 100 {
        return None;
    }
    // In every ASCII-compatible encoding a byte below 0x20 is a control character, so a head full of
    // them is binary whatever the encoding: no need to run the statistical detector over it.
    let controls = head
        .iter()
        .filter(|b| **b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n' | 0x0c))
        .count();
    if controls * 20 > head.len() {
        return None;
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return finish(text.to_string(), UTF_8.name());
    }
    // Chinese Windows consoles write GBK. Trying it before the statistical guess matters for the
    // short outputs we see, where a detector has too little text to be sure.
    if let Some(text) = GBK.decode_without_bom_handling_and_without_replacement(bytes) {
        return finish(text.into_owned(), GBK.name());
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    // The head is enough for a verdict; feeding megabytes of log to the detector is not.
    detector.feed(head, head.len() == bytes.len());
    let encoding = detector.guess(None, chardetng::Utf8Detection::Allow);
    let (text, _) = encoding.decode_without_bom_handling(bytes);
    finish(text.into_owned(), encoding.name())
}

/// UTF-16 without a BOM shows as ASCII letters interleaved with NUL bytes.
fn sniff_utf16(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(SNIFF_BYTES) & !1];
    let pairs = head.len() / 2;
    if pairs < 2 {
        return None;
    }
    let even_zero = head.iter().step_by(2).filter(|b| **b == 0).count();
    let odd_zero = head.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
    if odd_zero * 10 >= pairs * 4 && even_zero * 20 < pairs {
        Some(UTF_16LE)
    } else if even_zero * 10 >= pairs * 4 && odd_zero * 20 < pairs {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// Rejects text that is mostly control characters or replacement characters: that was binary.
fn finish(text: String, encoding: &'static str) -> Option<Decoded> {
    let sample: Vec<char> = text.chars().take(SNIFF_BYTES).collect();
    let junk = sample
        .iter()
        .filter(|c| {
            (c.is_control() && !matches!(c, '\t' | '\r' | '\n' | '\x0c')) || **c == '\u{fffd}'
        })
        .count();
    if junk * 20 > sample.len() {
        return None;
    }
    Some(Decoded { text, encoding })
}

/// Splits text into lines, accepting CRLF, LF and the `\r\r\n` that redirected `wmic` output has.
pub(crate) fn lines(text: &str) -> Vec<&str> {
    text.split('\n').map(|l| l.trim_end_matches('\r')).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(if big_endian {
                &[0xFE, 0xFF]
            } else {
                &[0xFF, 0xFE]
            });
        }
        for unit in text.encode_utf16() {
            let bytes = if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            };
            out.extend_from_slice(&bytes);
        }
        out
    }

    #[test]
    fn decodes_every_encoding_customers_send() {
        let text = "SerialNumber\r\nPGQMN028 主板\r\n";
        let (gbk, _, _) = GBK.encode(text);
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("utf-8", text.as_bytes().to_vec(), "UTF-8"),
            (
                "utf-8 bom",
                [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(),
                "UTF-8",
            ),
            ("utf-16le bom", utf16(text, false, true), "UTF-16LE"),
            ("utf-16le", utf16(text, false, false), "UTF-16LE"),
            ("utf-16be bom", utf16(text, true, true), "UTF-16BE"),
            ("utf-16be", utf16(text, true, false), "UTF-16BE"),
            ("gbk", gbk.into_owned(), "GBK"),
        ];
        for (name, bytes, encoding) in cases {
            let decoded = decode(&bytes).unwrap_or_else(|| panic!("{name} not decoded"));
            assert_eq!(decoded.text, text, "{name}");
            assert_eq!(decoded.encoding, encoding, "{name}");
        }
    }

    #[test]
    fn binary_input_is_not_text() {
        let png = [
            0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52,
        ];
        let noise: Vec<u8> = (0u32..4096)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert_eq!(decode(&png), None);
        assert_eq!(decode(&noise), None);
        // Few NUL bytes, but control bytes throughout: still binary (compressed data looks like this).
        let no_nul: Vec<u8> = (1u32..16_384).map(|i| (i * 31 % 251 + 1) as u8).collect();
        assert_eq!(decode(&no_nul), None);
    }

    #[test]
    fn lines_strip_every_line_ending_form() {
        assert_eq!(lines("a\r\r\nb\r\nc\nd"), vec!["a", "b", "c", "d"]);
    }
}

//! Character sets: trusting declared labels (mapped to their supersets) and detecting undeclared 8-bit text.
//!
//! Chinese, Japanese and Korean mailers routinely label text with the old national standard (gb2312, big5,
//! ks_c_5601-1987, iso-2022-jp) while actually writing the vendor superset (GBK/GB18030, Big5-HKSCS, CP949,
//! CP50220), and many send raw 8-bit headers and bodies with no label at all. Decoding with the strict standard
//! turns real names such as 朱镕基 or 陶喆 into U+FFFD, so every label is widened to the superset, and unlabelled
//! bytes are decoded by detection rather than as lossy UTF-8.

use std::borrow::Cow;
use std::sync::LazyLock;

use mail_parser::decoders::base64::base64_decode;
use regex::Regex;

use encoding_rs::{
    BIG5, EUC_JP, EUC_KR, Encoding, GB18030, ISO_2022_JP, SHIFT_JIS, UTF_8, WINDOWS_1252,
};

/// CJK encodings tried, in order, when detection's first guess does not decode cleanly. GB18030 first: it is
/// the most common in this system's mail, and its four-byte form makes false positives on other CJK text rare.
const CJK_FALLBACKS: [&Encoding; 5] = [GB18030, BIG5, SHIFT_JIS, EUC_KR, EUC_JP];

/// The encoding to decode a declared `charset` label with, widened to the superset that mailers really write.
///
/// Returns `None` for labels encoding_rs does not know (e.g. `utf-7`, `unknown-8bit`); callers then fall back
/// to detection.
pub fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    let label = label.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    let lower = label.to_ascii_lowercase();
    let widened = match lower.replace('_', "-").as_str() {
        // GB18030 is a strict superset of GB2312 and GBK; the four-byte range covers what GBK lacks.
        "gb2312" | "gbk" | "x-gbk" | "cp936" | "ms936" | "windows-936" | "gb-2312"
        | "gb-2312-80" | "csgb2312" | "euc-cn" | "x-euc-cn" | "chinese" | "gb18030"
        | "csgb18030" | "iso-ir-58" | "csiso58gb231280" => Some(GB18030),
        // encoding_rs's EUC-KR decoder is the WHATWG one, i.e. Windows-949 (UHC), the superset of KS C 5601.
        "ks-c-5601-1987" | "ks-c-5601-1989" | "ks-c-5601" | "ksc5601" | "ksc-5601" | "euc-kr"
        | "cp949" | "ms949" | "windows-949" | "x-windows-949" | "uhc" | "korean"
        | "csksc56011987" | "cseuckr" => Some(EUC_KR),
        // WHATWG's ISO-2022-JP decoder uses the JIS X 0208 index with the NEC and IBM extensions (CP50220/50221),
        // and also accepts half-width katakana escapes.
        "iso-2022-jp" | "csiso2022jp" | "cp50220" | "cp50221" | "cp50222" | "iso-2022-jp-ms"
        | "iso-2022-jp-1" | "iso-2022-jp-2" | "iso-2022-jp-3" => Some(ISO_2022_JP),
        // WHATWG's Big5 decoder is Big5-HKSCS, a superset of plain Big5 and CP950.
        "big5" | "big5-hkscs" | "cn-big5" | "x-x-big5" | "csbig5" | "cp950" | "ms950"
        | "windows-950" | "x-big5" => Some(BIG5),
        "shift-jis" | "sjis" | "x-sjis" | "ms932" | "cp932" | "windows-31j" | "ms-kanji"
        | "csshiftjis" | "x-ms-cp932" | "shift-jisx0213" => Some(SHIFT_JIS),
        // Mailers label Windows-1252 text as Latin-1 or even ASCII; 1252 decodes every byte either way.
        "iso-8859-1" | "us-ascii" | "ascii" | "latin1" | "iso8859-1" | "latin-1"
        | "ansi-x3.4-1968" | "cp1252" => Some(WINDOWS_1252),
        "utf8" | "utf-8" | "unicode-1-1-utf-8" => Some(UTF_8),
        _ => None,
    };
    widened.or_else(|| Encoding::for_label_no_replacement(label.as_bytes()))
}

/// Decodes `bytes` that arrived with the declared charset `label`, or with none.
///
/// A known label is trusted (after widening). If the declared decoding hits malformed bytes, a clean decoding
/// found by detection wins, because a mislabelled message is far more likely than intended garbage. Without a
/// usable label the bytes are detected; `tld_hint` (e.g. `b"cn"` from the sender's domain) helps detection on
/// short text.
pub fn decode_text<'a>(
    bytes: &'a [u8],
    label: Option<&str>,
    tld_hint: Option<&[u8]>,
) -> Cow<'a, str> {
    if let Some(encoding) = label.and_then(encoding_for_label) {
        if let Some(text) = decode_strict(encoding, bytes) {
            return text;
        }
        let fallback = detect(bytes, tld_hint);
        if let Some(text) = decode_strict(fallback, bytes) {
            return text;
        }
        return encoding.decode_without_bom_handling(bytes).0;
    }
    let encoding = detect(bytes, tld_hint);
    encoding.decode_without_bom_handling(bytes).0
}

/// Decodes `bytes` with `encoding`, or `None` if any byte sequence is malformed in it.
pub fn decode_strict<'a>(encoding: &'static Encoding, bytes: &'a [u8]) -> Option<Cow<'a, str>> {
    encoding.decode_without_bom_handling_and_without_replacement(bytes)
}

/// Guesses the encoding of undeclared bytes: valid UTF-8 first, then chardetng, then the first CJK encoding
/// that decodes without errors (so a CJK decoding is never passed over for one that produces U+FFFD).
pub fn detect(bytes: &[u8], tld_hint: Option<&[u8]>) -> &'static Encoding {
    if std::str::from_utf8(bytes).is_ok() {
        return UTF_8;
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Allow);
    detector.feed(bytes, true);
    // chardetng panics on a TLD with upper case, dots or non-ASCII; such a hint is useless anyway.
    let tld_hint = tld_hint.filter(|t| {
        t.iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
    });
    let guess = detector.guess(tld_hint, chardetng::Utf8Detection::Allow);
    if prefer_gb18030(guess, bytes, tld_hint) {
        return GB18030;
    }
    if decode_strict(guess, bytes).is_some() && !single_byte_hides_cjk(guess, bytes) {
        return guess;
    }
    CJK_FALLBACKS
        .into_iter()
        .find(|enc| decode_strict(enc, bytes).is_some())
        .unwrap_or(guess)
}

/// Whether to overrule chardetng in favour of GB18030 on a short sample.
///
/// A two-character name such as 陈慧 is four bytes that are equally valid GBK, EUC-KR and Big5, and chardetng
/// cannot tell them apart on so little text. This system's mail is mostly from mainland China, so unless the
/// sender's domain points at Japan, Korea, Taiwan or Hong Kong, short ambiguous samples are read as GB18030.
fn prefer_gb18030(guess: &'static Encoding, bytes: &[u8], tld_hint: Option<&[u8]>) -> bool {
    const SHORT_SAMPLE_HIGH_BYTES: usize = 24;
    const OTHER_CJK_TLDS: [&[u8]; 5] = [b"jp", b"kr", b"tw", b"hk", b"mo"];
    guess != GB18030
        && !tld_hint.is_some_and(|t| OTHER_CJK_TLDS.contains(&t))
        && bytes.iter().filter(|b| **b >= 0x80).count() <= SHORT_SAMPLE_HIGH_BYTES
        && (!guess.is_single_byte() || single_byte_hides_cjk(guess, bytes))
        && decode_strict(GB18030, bytes).is_some()
}

/// Whether a single-byte `guess` is probably a misreading of CJK text.
///
/// Single-byte encodings never report errors, so on short samples (a subject line) chardetng may settle on one
/// even though the bytes are a perfectly good GBK or Big5 string. When nearly every high byte comes in pairs
/// that a CJK encoding accepts, the CJK reading is the one people wrote.
fn single_byte_hides_cjk(guess: &'static Encoding, bytes: &[u8]) -> bool {
    if !guess.is_single_byte() {
        return false;
    }
    let high = bytes.iter().filter(|b| **b >= 0x80).count();
    // Latin text has isolated accented letters; CJK text is almost all high bytes, in pairs.
    let ascii_letters = bytes.iter().filter(|b| b.is_ascii_alphabetic()).count();
    high >= 4
        && high % 2 == 0
        && high * 2 >= ascii_letters
        && CJK_FALLBACKS
            .iter()
            .any(|e| decode_strict(e, bytes).is_some())
}

/// A top-level-domain hint for chardetng from an address or domain, e.g. `cn` for `chen@Centerm.COM.CN`.
pub fn tld_of(address: &str) -> Option<String> {
    let domain = address.rsplit('@').next()?;
    let domain = domain.trim_end_matches(['>', '.', ' ']);
    let (_, tld) = domain.rsplit_once('.')?;
    (!tld.is_empty() && tld.len() <= 6 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| tld.to_ascii_lowercase())
}

/// An RFC 2047 encoded-word: `=?charset?B|Q?text?=`.
static ENCODED_WORD: LazyLock<Regex> = LazyLock::new(|| {
    // Provably valid: a constant pattern exercised by the unit tests.
    Regex::new(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=").expect("encoded-word pattern is valid")
});

/// Decodes the RFC 2047 encoded-words in a raw (unfolded) header value, more forgivingly than mail-parser:
/// adjacent words in one charset are joined *before* decoding, because Chinese mailers split base64 words in the
/// middle of a multi-byte character, and unknown labels (`unknown-8bit`) are decoded by detection.
///
/// Use it when the ordinary decoding produced U+FFFD.
pub fn decode_encoded_words(value: &str, tld_hint: Option<&[u8]>) -> String {
    let mut out = String::with_capacity(value.len());
    let mut pending: Option<(&str, Vec<u8>)> = None;
    let mut last_end = 0;
    let flush = |pending: &mut Option<(&str, Vec<u8>)>, out: &mut String| {
        if let Some((label, bytes)) = pending.take() {
            out.push_str(&decode_text(&bytes, Some(label), tld_hint));
        }
    };
    for caps in ENCODED_WORD.captures_iter(value) {
        let (Some(word), Some(label), Some(kind), Some(text)) =
            (caps.get(0), caps.get(1), caps.get(2), caps.get(3))
        else {
            continue;
        };
        let between = &value[last_end..word.start()];
        // RFC 2047 §6.2: white space between adjacent encoded-words is not displayed.
        if !(pending.is_some() && between.trim().is_empty()) {
            flush(&mut pending, &mut out);
            out.push_str(between);
        }
        // RFC 2231 allows a language suffix: `utf-8*zh-CN`.
        let label = label.as_str().split('*').next().unwrap_or_default();
        let bytes = if kind.as_str().eq_ignore_ascii_case("b") {
            base64_decode(text.as_str().as_bytes())
                .unwrap_or_else(|| text.as_str().as_bytes().to_vec())
        } else {
            decode_q(text.as_str().as_bytes())
        };
        match &mut pending {
            Some((pending_label, buffer)) if pending_label.eq_ignore_ascii_case(label) => {
                buffer.extend(bytes)
            }
            _ => {
                flush(&mut pending, &mut out);
                pending = Some((label, bytes));
            }
        }
        last_end = word.end();
    }
    flush(&mut pending, &mut out);
    out.push_str(&value[last_end..]);
    out
}

/// RFC 2047 "Q" decoding: `_` is a space, `=XX` a byte.
fn decode_q(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'_' => out.push(b' '),
            b'=' if i + 2 < text.len() => {
                let hex = std::str::from_utf8(&text[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'='),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_labels_widen_to_their_supersets() {
        let cases: &[(&str, &Encoding)] = &[
            ("gb2312", GB18030),
            ("GB2312", GB18030),
            ("\"gbk\"", GB18030),
            ("x-gbk", GB18030),
            ("cp936", GB18030),
            ("gb18030", GB18030),
            ("ks_c_5601-1987", EUC_KR),
            ("euc-kr", EUC_KR),
            ("cp949", EUC_KR),
            ("iso-2022-jp", ISO_2022_JP),
            ("cp50220", ISO_2022_JP),
            ("big5", BIG5),
            ("big5-hkscs", BIG5),
            ("shift_jis", SHIFT_JIS),
            ("cp932", SHIFT_JIS),
            ("iso-8859-1", WINDOWS_1252),
            ("us-ascii", WINDOWS_1252),
            ("utf-8", UTF_8),
            ("koi8-r", encoding_rs::KOI8_R),
        ];
        for (label, expected) in cases {
            assert_eq!(encoding_for_label(label), Some(*expected), "{label}");
        }
        assert_eq!(encoding_for_label("utf-7"), None);
        assert_eq!(encoding_for_label("unknown-8bit"), None);
    }

    #[test]
    fn declared_gb2312_decodes_characters_only_gbk_has() {
        // 镕 and 喆 are outside GB2312; mailers still label such text gb2312.
        let (bytes, _, _) = GB18030.encode("朱镕基 陶喆");
        assert_eq!(decode_text(&bytes, Some("gb2312"), None), "朱镕基 陶喆");
    }

    #[test]
    fn undeclared_bytes_are_detected_not_replaced() {
        let cases: &[(&Encoding, &str, Option<&[u8]>)] = &[
            (UTF_8, "日志已上传！", None),
            (GB18030, "回复: 激活失败，请尽快处理", Some(b"com")),
            (GB18030, "陈慧", None),
            (
                BIG5,
                "您好：我們已經依照說明收集日誌，但是啟用仍然失敗",
                Some(b"tw"),
            ),
            (
                SHIFT_JIS,
                "お世話になっております。ログを収集しました",
                Some(b"jp"),
            ),
            (WINDOWS_1252, "Café crème brûlée, voilà", None),
        ];
        for (encoding, text, tld) in cases {
            let (bytes, _, _) = encoding.encode(text);
            let decoded = decode_text(&bytes, None, *tld);
            assert_eq!(decoded, *text, "{} {text}", encoding.name());
        }
    }

    #[test]
    fn mislabelled_text_falls_back_to_a_clean_detection() {
        let (bytes, _, _) = GB18030.encode("主板序列号异常，请收集日志");
        assert_eq!(
            decode_text(&bytes, Some("utf-8"), None),
            "主板序列号异常，请收集日志"
        );
    }

    #[test]
    fn encoded_words_split_inside_a_character_are_joined_before_decoding() {
        let (gbk, _, _) = GB18030.encode("激活失败问题");
        let b64 = |b: &[u8]| {
            const ALPHABET: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut s = String::new();
            for chunk in b.chunks(3) {
                let n = chunk
                    .iter()
                    .enumerate()
                    .fold(0u32, |n, (j, x)| n | (u32::from(*x) << (16 - 8 * j)));
                for k in 0..4 {
                    s.push(if k <= chunk.len() {
                        ALPHABET[((n >> (18 - 6 * k)) & 63) as usize] as char
                    } else {
                        '='
                    });
                }
            }
            s
        };
        let split = format!(
            "Re: =?gb2312?B?{}?= =?GB2312?B?{}?= !",
            b64(&gbk[..5]),
            b64(&gbk[5..])
        );
        let unknown = format!("=?unknown-8bit?B?{}?=", b64(&gbk));
        let cases = [
            (split.as_str(), "Re: 激活失败问题 !"),
            (unknown.as_str(), "激活失败问题"),
            ("=?utf-8?Q?=E6=97=A5=E5=BF=97_ok?= plain", "日志 ok plain"),
            ("=?utf-8*zh-CN?Q?=E6=97=A5?=", "日"),
            ("no words here", "no words here"),
            ("=?utf-8?Q?broken=E?=", "broken=E"),
        ];
        for (value, expected) in cases {
            assert_eq!(decode_encoded_words(value, None), expected, "{value}");
        }
    }

    #[test]
    fn tld_hint_comes_from_the_last_domain_label() {
        let cases: &[(&str, Option<&str>)] = &[
            ("chen@centerm.com.cn", Some("cn")),
            ("lin@example.COM.TW>", Some("tw")),
            ("nobody", None),
            ("x@host.123", None),
        ];
        for (address, expected) in cases {
            assert_eq!(tld_of(address).as_deref(), *expected, "{address}");
        }
    }
}

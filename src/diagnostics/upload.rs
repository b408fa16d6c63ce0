//! Reading file uploads (`multipart/form-data`) within a size limit.
//!
//! A small parser of our own rather than another dependency: upload forms here post a handful of
//! files and a few fields, the body is bounded by [`read_body`] before parsing, and the parts are
//! needed whole (the engine analyses bytes in memory), so streaming buys nothing.

use actix_web::web;

/// One part of a multipart body that carried a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedFile {
    /// The form field's name.
    pub field: String,
    /// The file name as sent, reduced to its last path component.
    pub filename: String,
    /// The part's `Content-Type` (`application/octet-stream` when absent).
    pub content_type: String,
    /// The content.
    pub bytes: Vec<u8>,
}

/// What a multipart form held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    /// File parts, in form order (parts with an empty file name and no content are left out:
    /// that is what a browser sends for a file input left empty).
    pub files: Vec<UploadedFile>,
    /// Ordinary fields (name, value).
    pub fields: Vec<(String, String)>,
}

/// Why an upload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    /// The body exceeds the limit.
    #[error("the upload is larger than {limit_name} ({limit} bytes)")]
    TooLarge {
        /// The configuration key.
        limit_name: &'static str,
        /// The limit in bytes.
        limit: u64,
    },
    /// More files than allowed at once.
    #[error("at most {max} files can be uploaded at once")]
    TooManyFiles {
        /// The limit.
        max: usize,
    },
    /// Not a multipart form.
    #[error("expected a multipart/form-data upload")]
    NotMultipart,
    /// The body does not follow the multipart format.
    #[error("the upload is malformed: {0}")]
    Malformed(&'static str),
    /// The connection failed while reading.
    #[error("the upload was interrupted: {0}")]
    Interrupted(String),
}

/// Reads the whole body, refusing it as soon as it exceeds `limit` bytes.
pub async fn read_body(
    payload: web::Payload,
    limit: u64,
    limit_name: &'static str,
) -> Result<web::Bytes, UploadError> {
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    match payload.to_bytes_limited(cap).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(e)) => Err(UploadError::Interrupted(e.to_string())),
        Err(_) => Err(UploadError::TooLarge { limit_name, limit }),
    }
}

/// The boundary named in a `multipart/form-data` content type.
fn boundary(content_type: &str) -> Result<String, UploadError> {
    let mut params = content_type.split(';');
    let essence = params.next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return Err(UploadError::NotMultipart);
    }
    params
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .filter(|b| !b.is_empty() && b.len() <= 200)
        .ok_or(UploadError::Malformed("no boundary in the content type"))
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut at = from;
    while at + needle.len() <= haystack.len() {
        let offset = haystack[at..=haystack.len() - needle.len()]
            .iter()
            .position(|&b| b == first)?;
        at += offset;
        if &haystack[at..at + needle.len()] == needle {
            return Some(at);
        }
        at += 1;
    }
    None
}

/// A `name="value"` parameter of a header, unquoted (`\"` unescaped).
fn header_param(header: &str, name: &str) -> Option<String> {
    let lower = header.to_ascii_lowercase();
    let mut search = 0;
    while let Some(pos) = lower[search..].find(name) {
        let start = search + pos;
        search = start + name.len();
        let before_ok = start == 0 || matches!(lower.as_bytes()[start - 1], b';' | b' ' | b'\t');
        let rest = &header[start + name.len()..];
        let Some(rest) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        if !before_ok {
            continue;
        }
        let rest = rest.trim_start();
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => return Some(value),
                    other => value.push(other),
                }
            }
            return Some(value);
        }
        return Some(rest.split(';').next().unwrap_or("").trim().to_string());
    }
    None
}

/// The last path component (old browsers send `C:\Users\…\file.txt`), without control characters,
/// at most 200 characters.
fn clean_filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = last.chars().filter(|c| !c.is_control()).take(200).collect();
    let cleaned = cleaned.trim().to_string();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "upload".into()
    } else {
        cleaned
    }
}

/// Parses a `multipart/form-data` body with at most `max_files` files.
pub fn parse(content_type: &str, body: &[u8], max_files: usize) -> Result<Form, UploadError> {
    let boundary = boundary(content_type)?;
    let delimiter = format!("--{boundary}").into_bytes();
    let next_delimiter = format!("\r\n--{boundary}").into_bytes();
    let mut pos = find(body, &delimiter, 0).ok_or(UploadError::Malformed("no boundary found"))?
        + delimiter.len();
    let mut form = Form::default();
    loop {
        if body[pos..].starts_with(b"--") {
            return Ok(form);
        }
        // Transport padding after the boundary, then CRLF.
        while body.get(pos).is_some_and(|b| *b == b' ' || *b == b'\t') {
            pos += 1;
        }
        if !body[pos..].starts_with(b"\r\n") {
            return Err(UploadError::Malformed(
                "a boundary is not followed by a line break",
            ));
        }
        pos += 2;
        let headers_end =
            find(body, b"\r\n\r\n", pos).ok_or(UploadError::Malformed("a part has no headers"))?;
        let headers = String::from_utf8_lossy(&body[pos..headers_end]).into_owned();
        let content_start = headers_end + 4;
        let content_end = find(body, &next_delimiter, content_start)
            .ok_or(UploadError::Malformed("the last part is not closed"))?;
        let content = &body[content_start..content_end];
        pos = content_end + next_delimiter.len();

        let mut disposition = None;
        let mut part_type = None;
        for line in headers.split("\r\n") {
            if let Some((name, value)) = line.split_once(':') {
                let name = name.trim();
                if name.eq_ignore_ascii_case("content-disposition") {
                    disposition = Some(value.trim().to_string());
                } else if name.eq_ignore_ascii_case("content-type") {
                    part_type = Some(value.trim().to_string());
                }
            }
        }
        let disposition =
            disposition.ok_or(UploadError::Malformed("a part has no Content-Disposition"))?;
        let field = header_param(&disposition, "name").unwrap_or_default();
        match header_param(&disposition, "filename") {
            Some(filename) => {
                if filename.is_empty() && content.is_empty() {
                    continue;
                }
                if form.files.len() >= max_files {
                    return Err(UploadError::TooManyFiles { max: max_files });
                }
                form.files.push(UploadedFile {
                    field,
                    filename: clean_filename(&filename),
                    content_type: part_type
                        .unwrap_or_else(|| "application/octet-stream".to_string()),
                    bytes: content.to_vec(),
                });
            }
            None => form
                .fields
                .push((field, String::from_utf8_lossy(content).into_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=----b0undary";

    fn body(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (headers, content) in parts {
            out.extend_from_slice(b"------b0undary\r\n");
            out.extend_from_slice(headers.as_bytes());
            out.extend_from_slice(b"\r\n\r\n");
            out.extend_from_slice(content);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"------b0undary--\r\n");
        out
    }

    #[test]
    fn files_and_fields_are_read_in_order_with_binary_content_intact() {
        let binary: Vec<u8> = (0..=255u8)
            .chain(b"\r\n--not-the-boundary".iter().copied())
            .collect();
        let data = body(&[
            (
                "Content-Disposition: form-data; name=\"files\"; filename=\"C:\\\\logs\\\\wmic.txt\"\r\nContent-Type: text/plain",
                b"SerialNumber\r\nABC\r\n",
            ),
            (
                "Content-Disposition: form-data; name=\"files\"; filename=\"日志.zip\"",
                &binary,
            ),
            ("Content-Disposition: form-data; name=\"lang\"", b"zh-CN"),
            (
                "Content-Disposition: form-data; name=\"files\"; filename=\"\"\r\nContent-Type: application/octet-stream",
                b"",
            ),
        ]);
        let form = parse(CT, &data, 10).unwrap();
        assert_eq!(form.files.len(), 2, "the empty file input is skipped");
        assert_eq!(form.files[0].filename, "wmic.txt");
        assert_eq!(form.files[0].content_type, "text/plain");
        assert_eq!(form.files[0].bytes, b"SerialNumber\r\nABC\r\n");
        assert_eq!(form.files[1].filename, "日志.zip");
        assert_eq!(form.files[1].content_type, "application/octet-stream");
        assert_eq!(form.files[1].bytes, binary);
        assert_eq!(form.fields, vec![("lang".to_string(), "zh-CN".to_string())]);
    }

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        let cases: [(&str, &[u8]); 7] = [
            ("text/plain", b"x"),
            ("multipart/form-data", b"x"),
            (CT, b""),
            (CT, b"------b0undary"),
            (
                CT,
                b"------b0undary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
            ),
            (
                CT,
                b"------b0undary\r\nX-Other: 1\r\n\r\nv\r\n------b0undary--",
            ),
            (CT, b"------b0undaryjunk"),
        ];
        for (ct, data) in cases {
            assert!(
                parse(ct, data, 10).is_err(),
                "{ct} {:?}",
                String::from_utf8_lossy(data)
            );
        }
    }

    #[test]
    fn too_many_files_are_refused() {
        let part = (
            "Content-Disposition: form-data; name=\"files\"; filename=\"a.txt\"",
            &b"a"[..],
        );
        let data = body(&[part, part, part]);
        assert_eq!(
            parse(CT, &data, 2),
            Err(UploadError::TooManyFiles { max: 2 })
        );
    }

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("a\u{0}b\r\n.txt"), "ab.txt");
        assert_eq!(clean_filename(".."), "upload");
        assert_eq!(clean_filename(""), "upload");
    }

    #[test]
    fn header_parameters_are_found_by_whole_name() {
        let h = "form-data; name=\"files\"; filename=\"a \\\"b\\\".txt\"";
        assert_eq!(header_param(h, "name").as_deref(), Some("files"));
        assert_eq!(header_param(h, "filename").as_deref(), Some("a \"b\".txt"));
        assert_eq!(
            header_param("form-data; name=plain", "name").as_deref(),
            Some("plain")
        );
        assert_eq!(header_param("form-data; filename=\"x\"", "name"), None);
    }
}

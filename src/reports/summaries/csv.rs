//! CSV as spreadsheets read it (RFC 4180): fields separated by commas, records by CRLF, a field
//! quoted when it holds a comma, a quote, a line break or edge spaces, quotes doubled. The file
//! starts with a UTF-8 byte-order mark: without it Excel reads a `.csv` in the system's ANSI code
//! page and shows Chinese as mojibake.
//!
//! Text from mail (titles, customer names, summaries) can start with `=`, `+`, `-`, `@` or a tab,
//! which spreadsheets run as a formula ("CSV injection"); such a field gets a leading apostrophe,
//! which a spreadsheet shows as text and hides. The project has no `csv` crate, and these rules
//! are all this export needs.

/// The UTF-8 byte-order mark.
pub const BOM: &str = "\u{feff}";

/// Writes records into one CSV text.
#[derive(Debug, Default)]
pub struct CsvWriter {
    out: String,
}

impl CsvWriter {
    /// A writer whose text begins with the [`BOM`].
    pub fn with_bom() -> CsvWriter {
        CsvWriter {
            out: BOM.to_string(),
        }
    }

    /// Appends one record.
    pub fn record<I, S>(&mut self, fields: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for (i, field) in fields.into_iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            push_field(&mut self.out, field.as_ref());
        }
        self.out.push_str("\r\n");
    }

    /// The text written so far.
    pub fn finish(self) -> String {
        self.out
    }
}

fn push_field(out: &mut String, field: &str) {
    let formula = field.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let needs_quotes = formula
        || field.contains([',', '"', '\n', '\r'])
        || field.starts_with(' ')
        || field.ends_with(' ');
    if !needs_quotes {
        out.push_str(field);
        return;
    }
    out.push('"');
    if formula {
        out.push('\'');
    }
    for c in field.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        let mut w = CsvWriter::default();
        w.record([
            "plain",
            "a,b",
            "say \"hi\"",
            "two\nlines",
            " edge",
            "中文，逗号",
            "",
        ]);
        assert_eq!(
            w.finish(),
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\" edge\",中文，逗号,\r\n"
        );
    }

    #[test]
    fn formulas_are_written_as_text() {
        let mut w = CsvWriter::default();
        w.record(["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "a=b"]);
        assert_eq!(
            w.finish(),
            "\"'=HYPERLINK(\"\"http://x\"\")\",\"'+1\",\"'-2\",\"'@SUM(A1)\",a=b\r\n"
        );
    }

    #[test]
    fn the_text_starts_with_the_byte_order_mark() {
        let mut w = CsvWriter::with_bom();
        w.record(["案例"]);
        let text = w.finish();
        assert!(text.as_bytes().starts_with(&[0xef, 0xbb, 0xbf]));
        assert_eq!(&text[BOM.len()..], "案例\r\n");
    }
}

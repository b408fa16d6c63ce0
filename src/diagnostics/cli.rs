//! `casebook diagnose PATH…`: one snapshot per path, then the findings across them.

use std::io::Write;
use std::path::PathBuf;

use super::{Limits, Rules, analyse_path, analyse_set, report};
use crate::i18n::Lang;
use crate::web::catalog::builtin;

/// Exit code: every input was analysed (whatever the verdicts).
pub const EXIT_OK: i32 = 0;
/// Exit code: at least one input was refused (the others were still analysed).
pub const EXIT_REFUSED: i32 = 1;
/// Exit code: usage error (no paths).
pub const EXIT_USAGE: i32 = 2;

/// Runs with the built-in rules and default limits. See [`run_with`].
pub fn run(
    paths: &[PathBuf],
    json: bool,
    lang: Lang,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    run_with(
        paths,
        json,
        lang,
        &Rules::builtin(),
        &Limits::default(),
        out,
        err,
    )
}

/// Analyses each path as one snapshot and writes the report (text, or JSON with `json`) to `out`;
/// refusals go to `err`, one line each, naming the path and the reason.
pub fn run_with(
    paths: &[PathBuf],
    json: bool,
    lang: Lang,
    rules: &Rules,
    limits: &Limits,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    if paths.is_empty() {
        // Writing to stderr can only fail if it is closed; there is nobody left to tell then.
        let _ = writeln!(err, "{}", builtin(lang).t("diagnostics.cli.usage"));
        return EXIT_USAGE;
    }
    let mut snapshots = Vec::new();
    let mut refused = false;
    for path in paths {
        match analyse_path(path, rules, limits) {
            Ok(snapshot) => snapshots.push(snapshot),
            Err(error) => {
                refused = true;
                let _ = writeln!(err, "{}: {error}", path.display());
            }
        }
    }
    let analysis = analyse_set(snapshots, rules);
    let written = if json {
        serde_json::to_writer_pretty(&mut *out, &report::json_view(&analysis, lang))
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        out.write_all(report::render_text(&analysis, lang).as_bytes())
    };
    if let Err(error) = written {
        let _ = writeln!(err, "cannot write the report: {error}");
        return EXIT_REFUSED;
    }
    if refused { EXIT_REFUSED } else { EXIT_OK }
}

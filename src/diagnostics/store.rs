//! Diagnostics on cases: analysed inputs stored as snapshots, the analysis of all snapshots of a
//! case, the cases that share a device, and the hook the mail ingest calls for attachments.
//!
//! Each input is analysed *before* anything is written, so a refused input (a zip bomb, random
//! bytes) leaves nothing behind; the raw bytes go to the blob store and one row records the
//! serialized [`Snapshot`] with normalised identity columns for linking cases.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use diesel::prelude::*;
use serde::Serialize;

use super::schema::diagnostic_snapshots;
use super::{
    Analysis, DiagnosticsError, Field, Fingerprint, Limits, Rules, Snapshot, analyse_bytes,
    analyse_set, looks_like_diagnostics, report,
};
use crate::cases::Case;
use crate::config::Config;
use crate::db::blobs::BlobStore;
use crate::db::{DbConn, now};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::web::catalog::builtin;

/// How a diagnostics input reached the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// Uploaded by staff on the case page.
    Page,
    /// Sent to the HTTP API.
    Api,
    /// A customer's mail attachment, analysed by the ingest pipeline.
    Mail,
    /// Uploaded by the customer through an upload link.
    UploadLink,
}

impl Via {
    /// The stored form (`page`, `api`, `mail`, `upload_link`).
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Page => "page",
            Via::Api => "api",
            Via::Mail => "mail",
            Via::UploadLink => "upload_link",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<Via> {
        [Via::Page, Via::Api, Via::Mail, Via::UploadLink]
            .into_iter()
            .find(|v| v.as_str() == text)
    }
}

/// Where an input came from, besides the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// The channel.
    pub via: Via,
    /// The staff member who uploaded it.
    pub uploaded_by: Option<i64>,
    /// The mail attachment it was read from.
    pub attachment_id: Option<i64>,
    /// The upload link it came through.
    pub upload_link_id: Option<i64>,
}

impl Origin {
    /// An upload by a staff member on the case page.
    pub fn page(user_id: i64) -> Origin {
        Origin {
            via: Via::Page,
            uploaded_by: Some(user_id),
            attachment_id: None,
            upload_link_id: None,
        }
    }
}

/// A stored snapshot row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = diagnostic_snapshots)]
pub struct SnapshotRow {
    /// Row id.
    pub id: i64,
    /// Case.
    pub case_id: i64,
    /// Mail attachment it was read from.
    pub attachment_id: Option<i64>,
    /// Upload link it came through.
    pub upload_link_id: Option<i64>,
    /// The input's name (file name as sent).
    pub source_name: String,
    /// Blob reference of the raw bytes.
    pub blob_sha256: String,
    /// Size of the raw bytes.
    pub size: i64,
    /// Staff member who uploaded it.
    pub uploaded_by: Option<i64>,
    /// `page`, `api`, `mail` or `upload_link` (see [`Via`]).
    pub via: String,
    /// `virtual`, `physical` or `unknown`.
    pub verdict: String,
    /// The serialized [`Snapshot`].
    pub analysis: String,
    /// Normalised baseboard serial number (lower case; `None` when missing or a placeholder).
    pub baseboard_serial: Option<String>,
    /// Normalised system serial number.
    pub system_serial: Option<String>,
    /// Normalised SMBIOS system UUID.
    pub system_uuid: Option<String>,
    /// Normalised BIOS serial number.
    pub bios_serial: Option<String>,
    /// Hash of the whole normalised identity, when it holds at least one real serial or UUID.
    pub fingerprint_key: Option<String>,
    /// Stored.
    pub created_at: chrono::NaiveDateTime,
}

impl SnapshotRow {
    /// Snapshots of a case, oldest first (the order drift is read in).
    pub fn for_case(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<SnapshotRow>> {
        diagnostic_snapshots::table
            .filter(diagnostic_snapshots::case_id.eq(case_id))
            .order((
                diagnostic_snapshots::created_at.asc(),
                diagnostic_snapshots::id.asc(),
            ))
            .select(SnapshotRow::as_select())
            .load(conn)
    }

    /// Number of snapshots on a case.
    pub fn count_for_case(conn: &mut DbConn, case_id: i64) -> QueryResult<i64> {
        diagnostic_snapshots::table
            .filter(diagnostic_snapshots::case_id.eq(case_id))
            .count()
            .get_result(conn)
    }

    /// The stored analysis.
    pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
        serde_json::from_str(&self.analysis).map_err(|source| StoreError::Corrupt {
            id: self.id,
            source,
        })
    }
}

/// Why storing or reading diagnostics failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The engine refused the input (a limit, not text, nothing recognised); nothing was stored.
    #[error(transparent)]
    Refused(#[from] DiagnosticsError),
    /// The raw bytes could not be written to or read from the blob store.
    #[error("storing the diagnostics file: {0:#}")]
    Blob(anyhow::Error),
    /// A database error.
    #[error("diagnostics database query failed: {0}")]
    Database(#[from] diesel::result::Error),
    /// The analysis could not be serialized for storage.
    #[error("serializing a diagnostics snapshot: {0}")]
    Serialize(#[source] serde_json::Error),
    /// A stored analysis no longer parses.
    #[error("stored diagnostics snapshot {id} cannot be read: {source}")]
    Corrupt {
        /// The row.
        id: i64,
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Refused(e) => AppError::Unprocessable(e.to_string()),
            StoreError::Database(e) => AppError::from(e),
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

/// The rules for this configuration: built-in plus `diagnostics_rules`, loaded once per file.
pub fn rules_for(config: &Config) -> Result<Arc<Rules>, DiagnosticsError> {
    static CACHE: OnceLock<Mutex<HashMap<Option<PathBuf>, Arc<Rules>>>> = OnceLock::new();
    let key = config.diagnostics_rules.clone();
    let cache = CACHE.get_or_init(Default::default);
    // A poisoned lock only means another thread panicked while inserting; the map is still valid.
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(rules) = cache.get(&key) {
        return Ok(rules.clone());
    }
    let rules = Arc::new(Rules::load_with_override(key.as_deref())?);
    cache.insert(key, rules.clone());
    Ok(rules)
}

/// The engine's limits for uploads: the defaults, with no single file above the attachment limit.
pub fn upload_limits(config: &Config) -> Limits {
    let defaults = Limits::default();
    Limits {
        max_file_bytes: defaults.max_file_bytes.min(config.max_attachment_bytes),
        ..defaults
    }
}

/// Identity values shorter than this are too common to link cases by ("1", "A").
const MIN_KEY_CHARS: usize = 4;

/// The normalised value of a field for linking, or `None` when missing, a placeholder or too short.
fn link_key(fingerprint: &Fingerprint, field: Field, rules: &Rules) -> Option<String> {
    let value = fingerprint.text(field)?.value.trim();
    if value.chars().count() < MIN_KEY_CHARS || rules.is_placeholder(value) {
        return None;
    }
    Some(value.to_lowercase())
}

/// The identity columns of a snapshot row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct IdentityKeys {
    baseboard_serial: Option<String>,
    system_serial: Option<String>,
    system_uuid: Option<String>,
    bios_serial: Option<String>,
    fingerprint_key: Option<String>,
}

impl IdentityKeys {
    fn of(fingerprint: &Fingerprint, rules: &Rules) -> IdentityKeys {
        let key = |field| link_key(fingerprint, field, rules);
        let mut keys = IdentityKeys {
            baseboard_serial: key(Field::BaseboardSerial),
            system_serial: key(Field::SystemSerial),
            system_uuid: key(Field::SystemUuid),
            bios_serial: key(Field::BiosSerial),
            fingerprint_key: None,
        };
        // A fingerprint without any real serial or UUID (model and maker only) is shared by every
        // unit of that model, so it links nothing.
        let has_identity = keys.baseboard_serial.is_some()
            || keys.system_serial.is_some()
            || keys.system_uuid.is_some()
            || keys.bios_serial.is_some();
        if has_identity {
            let joined = Field::TEXT
                .into_iter()
                .filter(|f| *f != Field::BiosVersion)
                .map(|f| format!("{}={}", f.name(), key(f).unwrap_or_default()))
                .collect::<Vec<_>>()
                .join("\n");
            keys.fingerprint_key = Some(crate::db::blobs::sha256_hex(joined.as_bytes()));
        }
        keys
    }
}

/// Analyses `bytes` and, when the engine accepts them, stores the raw bytes and the snapshot on the
/// case. A refused input returns [`StoreError::Refused`] naming the limit or reason and stores
/// nothing. Call it inside `state.db(…)`: the analysis is blocking work.
#[allow(clippy::too_many_arguments)]
pub fn attach(
    conn: &mut DbConn,
    blobs: &BlobStore,
    rules: &Rules,
    limits: &Limits,
    case_id: i64,
    source_name: &str,
    bytes: &[u8],
    origin: &Origin,
) -> Result<SnapshotRow, StoreError> {
    let snapshot = analyse_bytes(source_name, bytes, rules, limits)?;
    let analysis = serde_json::to_string(&snapshot).map_err(StoreError::Serialize)?;
    let keys = IdentityKeys::of(&snapshot.fingerprint, rules);
    let verdict = serde_json::to_value(snapshot.verdict)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    let sha = blobs.put(bytes).map_err(StoreError::Blob)?;
    let at = now();
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let row = crate::db::write_transaction(conn, |conn| {
        diesel::insert_into(diagnostic_snapshots::table)
            .values((
                diagnostic_snapshots::case_id.eq(case_id),
                diagnostic_snapshots::attachment_id.eq(origin.attachment_id),
                diagnostic_snapshots::upload_link_id.eq(origin.upload_link_id),
                diagnostic_snapshots::source_name.eq(source_name),
                diagnostic_snapshots::blob_sha256.eq(&sha),
                diagnostic_snapshots::size.eq(size),
                diagnostic_snapshots::uploaded_by.eq(origin.uploaded_by),
                diagnostic_snapshots::via.eq(origin.via.as_str()),
                diagnostic_snapshots::verdict.eq(&verdict),
                diagnostic_snapshots::analysis.eq(&analysis),
                diagnostic_snapshots::baseboard_serial.eq(&keys.baseboard_serial),
                diagnostic_snapshots::system_serial.eq(&keys.system_serial),
                diagnostic_snapshots::system_uuid.eq(&keys.system_uuid),
                diagnostic_snapshots::bios_serial.eq(&keys.bios_serial),
                diagnostic_snapshots::fingerprint_key.eq(&keys.fingerprint_key),
                diagnostic_snapshots::created_at.eq(at),
            ))
            .execute(conn)?;
        // No RETURNING (see ARCHITECTURE.md): the newest row of this case with this blob is ours.
        let row = diagnostic_snapshots::table
            .filter(diagnostic_snapshots::case_id.eq(case_id))
            .filter(diagnostic_snapshots::blob_sha256.eq(&sha))
            .order(diagnostic_snapshots::id.desc())
            .select(SnapshotRow::as_select())
            .first(conn)?;
        Case::touch(conn, case_id, at)?;
        Ok::<_, diesel::result::Error>(row)
    })?;
    Ok(row)
}

/// All snapshots of a case, oldest first, with the findings across them (fingerprint drift).
pub fn analysis_for_case(
    conn: &mut DbConn,
    case_id: i64,
    rules: &Rules,
) -> Result<Analysis, StoreError> {
    analysis_of_rows(&SnapshotRow::for_case(conn, case_id)?, rules)
}

/// The analysis of these snapshot rows, in their order, with the findings across them.
pub fn analysis_of_rows(rows: &[SnapshotRow], rules: &Rules) -> Result<Analysis, StoreError> {
    let snapshots = rows
        .iter()
        .map(SnapshotRow::snapshot)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(analyse_set(snapshots, rules))
}

/// Another case that saw the same device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelatedCase {
    /// Its id.
    pub case_id: i64,
    /// Its number.
    pub number: String,
    /// Its title.
    pub title: String,
    /// Its state (stored form).
    pub state: String,
    /// What matched: (`baseboard_serial`, value) pairs; `fingerprint` for an identical identity.
    pub matched: Vec<(String, String)>,
}

/// Other cases sharing a serial number, system UUID or whole fingerprint with this case's
/// snapshots, ordered by case number. Placeholders never link cases.
pub fn related_cases(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<RelatedCase>> {
    use diagnostic_snapshots::dsl as s;
    let own = SnapshotRow::for_case(conn, case_id)?;
    let mut matched: BTreeMap<i64, BTreeSet<(String, String)>> = BTreeMap::new();
    macro_rules! match_column {
        ($column:ident, $label:expr) => {{
            let values: BTreeSet<String> = own.iter().filter_map(|r| r.$column.clone()).collect();
            if !values.is_empty() {
                let hits: Vec<(i64, Option<String>)> = s::diagnostic_snapshots
                    .filter(s::case_id.ne(case_id))
                    .filter(s::$column.eq_any(values.iter().cloned().collect::<Vec<_>>()))
                    .select((s::case_id, s::$column))
                    .load(conn)?;
                for (other, value) in hits {
                    // A whole fingerprint is shown by name, not by its hash.
                    let shown = if $label == "fingerprint" {
                        String::new()
                    } else {
                        value.unwrap_or_default()
                    };
                    matched
                        .entry(other)
                        .or_default()
                        .insert(($label.to_string(), shown));
                }
            }
        }};
    }
    match_column!(baseboard_serial, "baseboard_serial");
    match_column!(system_serial, "system_serial");
    match_column!(system_uuid, "system_uuid");
    match_column!(bios_serial, "bios_serial");
    match_column!(fingerprint_key, "fingerprint");
    let mut related = Vec::new();
    for (other, pairs) in matched {
        if let Some(case) = Case::find_by_id(conn, other)? {
            related.push(RelatedCase {
                case_id: case.id,
                number: case.number,
                title: case.title,
                state: case.state.as_str().to_string(),
                matched: pairs.into_iter().collect(),
            });
        }
    }
    related.sort_by(|a, b| a.number.cmp(&b.number));
    Ok(related)
}

/// The plain-text report of a case's diagnostics in `lang`, ready for a mail body; `None` when the
/// case has no diagnostics. The outbound mail module calls this to send the report.
pub fn report_mail_text(
    conn: &mut DbConn,
    case_id: i64,
    rules: &Rules,
    lang: Lang,
) -> Result<Option<String>, StoreError> {
    let Some(case) = Case::find_by_id(conn, case_id)? else {
        return Ok(None);
    };
    let analysis = analysis_for_case(conn, case_id, rules)?;
    if analysis.snapshots.is_empty() {
        return Ok(None);
    }
    Ok(Some(report_text_for(&case, &analysis, lang)))
}

/// The plain-text report with the case named at the top (the `report.txt` page and mail).
pub fn report_text_for(case: &Case, analysis: &Analysis, lang: Lang) -> String {
    format!(
        "{}: {} · {}\n\n{}",
        builtin(lang).t("case.number"),
        case.number,
        case.title,
        report::render_text(analysis, lang)
    )
}

/// Analyses a customer's mail attachment when it looks like diagnostics and stores it on the case,
/// linked to the attachment row. For the ingest pipeline:
///
/// - `Ok(None)`: not diagnostics (an image, a PDF, an ordinary document); nothing happened.
/// - `Ok(Some(row))`: analysed and stored.
/// - `Err(e)`: looked like diagnostics but was refused or could not be stored. Log it and carry on:
///   a bad attachment must never make the mail fail.
#[allow(clippy::too_many_arguments)]
pub fn analyse_mail_attachment(
    conn: &mut DbConn,
    blobs: &BlobStore,
    rules: &Rules,
    limits: &Limits,
    case_id: i64,
    attachment_id: i64,
    filename: &str,
    content_type: &str,
    bytes: &[u8],
) -> Result<Option<SnapshotRow>, StoreError> {
    if !looks_like_diagnostics(filename, content_type, bytes) {
        return Ok(None);
    }
    let origin = Origin {
        via: Via::Mail,
        uploaded_by: None,
        attachment_id: Some(attachment_id),
        upload_link_id: None,
    };
    attach(
        conn, blobs, rules, limits, case_id, filename, bytes, &origin,
    )
    .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(pairs: &[(Field, &str)]) -> Fingerprint {
        let mut fp = Fingerprint::default();
        for (field, value) in pairs {
            fp.record(*field, value, "t.txt", 1);
        }
        fp
    }

    #[test]
    fn identity_keys_skip_placeholders_and_short_values_and_ignore_case() {
        let rules = Rules::builtin();
        let keys = IdentityKeys::of(
            &fingerprint(&[
                (Field::BaseboardSerial, "CT2204S00033"),
                (Field::SystemSerial, "To be filled by O.E.M."),
                (Field::SystemUuid, "0"),
                (Field::BiosSerial, "AB1"),
            ]),
            &rules,
        );
        assert_eq!(keys.baseboard_serial.as_deref(), Some("ct2204s00033"));
        assert_eq!(keys.system_serial, None);
        assert_eq!(keys.system_uuid, None);
        assert_eq!(keys.bios_serial, None);
        assert!(keys.fingerprint_key.is_some());

        let upper = IdentityKeys::of(
            &fingerprint(&[(Field::BaseboardSerial, "ct2204s00033")]),
            &rules,
        );
        assert_eq!(upper.fingerprint_key, keys.fingerprint_key);
    }

    #[test]
    fn a_fingerprint_without_serials_links_nothing() {
        let keys = IdentityKeys::of(
            &fingerprint(&[
                (Field::SystemManufacturer, "Centerm"),
                (Field::SystemModel, "F620"),
            ]),
            &Rules::builtin(),
        );
        assert_eq!(keys, IdentityKeys::default());
    }

    #[test]
    fn via_round_trips() {
        for via in [Via::Page, Via::Api, Via::Mail, Via::UploadLink] {
            assert_eq!(Via::parse(via.as_str()), Some(via));
        }
        assert_eq!(Via::parse("fax"), None);
    }
}

//! Diagnostics pages: the panel on the case page (upload, verdicts, fingerprint table, findings,
//! related cases, upload links), the printable report (HTML and plain text), the request to send
//! it, and the public customer upload page behind an upload link.

use crate::auth::Operation;
use crate::web::routes::Access;
use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::Rules;
use super::links::{DEFAULT_DAYS, MAX_DAYS, UploadLink, ValidityDays};
use super::report::{ReportView, build_view};
use super::service::{
    self, Attached, Engine, LinkLookup, LinkRefusal, MAX_ACTIVE_LINKS, NewLink, ReportOutcome,
    Staff, Uploader,
};
use super::store::{
    self, RelatedCase, SnapshotRow, Via, analysis_for_case, rules_for, upload_limits,
};
use super::upload::{self, Form, UploadError};
use crate::auth::User;
use crate::cases::{Case, CaseNumber};
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::web::catalog::builtin;
use crate::web::page::set_flash;
use crate::web::rate_limit::too_many_requests;
use crate::web::{AppState, Catalog, CurrentUser, Page};

crate::route_table! {
    GET "/diagnostics/diagnostics.css" => stylesheet, Access::Public;
    POST "/cases/{number}/diagnostics" => upload_on_case, Access::Page(Operation::WorkDiagnostics);
    GET "/cases/{number}/diagnostics/report" => report_page, Access::Page(Operation::ReadCases);
    GET "/cases/{number}/diagnostics/report.txt" => report_text, Access::Page(Operation::ReadCases);
    POST "/cases/{number}/diagnostics/report/send" => send_report, Access::Page(Operation::WorkDiagnostics);
    POST "/cases/{number}/upload-links" => create_link, Access::Page(Operation::WorkDiagnostics);
    POST "/cases/{number}/upload-links/{id}/revoke" => revoke_link, Access::Page(Operation::WorkDiagnostics);
    GET "/upload/{token}" => public_form, Access::Public;
    POST "/upload/{token}" => public_upload, Access::Public;
}

/// Files accepted in one upload.
const MAX_FILES_PER_UPLOAD: usize = 20;
/// The configuration key that bounds an upload, named in refusals.
const UPLOAD_LIMIT_KEY: &str = "max_attachment_bytes";

const STYLESHEET: &str = include_str!("diagnostics.css");

/// `GET /diagnostics/diagnostics.css`: the panel's, report's and upload page's styles, including
/// the print stylesheet (pages allow only same-origin styles, so they cannot be inline).
async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(STYLESHEET)
}

fn rules(state: &AppState) -> AppResult<Arc<Rules>> {
    rules_for(&state.config)
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("loading diagnostics rules")))
}

/// Interface strings in one fixed language (the report's, or each half of a bilingual page).
pub struct Tr {
    lang: Lang,
    catalog: Arc<Catalog>,
}

impl Tr {
    fn new(lang: Lang, catalog: &Arc<Catalog>) -> Tr {
        Tr {
            lang,
            catalog: catalog.clone(),
        }
    }

    /// The string `key`.
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.catalog.get(self.lang, key)
    }

    /// The `lang` attribute value.
    pub fn code(&self) -> &'static str {
        self.lang.code()
    }
}

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

fn html(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body)
}

async fn load_case(state: &AppState, number: String) -> AppResult<Case> {
    let number = CaseNumber::parse(&number).map_err(|_| AppError::NotFound)?;
    state
        .db(move |conn| Case::find_by_number(conn, number.as_str())?.ok_or(AppError::NotFound))
        .await
}

fn upload_error(error: UploadError) -> AppError {
    match error {
        UploadError::TooLarge { .. } => AppError::PayloadTooLarge(error.to_string()),
        other => AppError::BadRequest(other.to_string()),
    }
}

async fn read_form(
    req: &HttpRequest,
    payload: web::Payload,
    config: &Config,
) -> Result<Form, UploadError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = upload::read_body(payload, config.max_attachment_bytes, UPLOAD_LIMIT_KEY).await?;
    upload::parse(&content_type, &body, MAX_FILES_PER_UPLOAD)
}

fn staff(user: &CurrentUser) -> Staff {
    Staff {
        id: user.id,
        name: user.name.clone(),
    }
}

/// Analyses, stores and records an upload through [`service::attach_files`].
async fn attach(
    state: &AppState,
    case_id: i64,
    files: Vec<upload::UploadedFile>,
    by: Uploader,
) -> AppResult<Attached> {
    let rules = rules(state)?;
    let limits = upload_limits(&state.config);
    let blobs = state.blobs.clone();
    state
        .db(move |conn| {
            let engine = Engine {
                blobs: &blobs,
                rules: &rules,
                limits: &limits,
            };
            service::attach_files(conn, &engine, case_id, &files, &by)
        })
        .await
}

/// `POST /cases/{number}/diagnostics` (multipart `files`): analyse and store uploads.
async fn upload_on_case(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkDiagnostics)?;
    let case = load_case(&state, path.into_inner()).await?;
    let back = format!("/cases/{}#diagnostics", case.number);
    let form = read_form(&req, payload, &state.config)
        .await
        .map_err(upload_error)?;
    if form.files.is_empty() {
        set_flash(&req, "error", page.t("diagnostics.flash.no_files"));
        return Ok(redirect(&back));
    }
    let outcome = attach(
        &state,
        case.id,
        form.files,
        Uploader::Staff {
            staff: staff(&user),
            via: Via::Page,
        },
    )
    .await?;
    let mut parts = Vec::new();
    if !outcome.stored.is_empty() {
        let names: Vec<&str> = outcome.stored.iter().map(|s| s.source.as_str()).collect();
        parts.push(format!(
            "{} {}",
            page.t("diagnostics.flash.analysed"),
            names.join(", ")
        ));
    }
    if !outcome.refused.is_empty() {
        let reasons: Vec<String> = outcome.refused.iter().map(|r| r.reason.clone()).collect();
        parts.push(format!(
            "{} {}",
            page.t("diagnostics.flash.refused"),
            reasons.join("; ")
        ));
    }
    let level = if outcome.refused.is_empty() {
        "ok"
    } else {
        "error"
    };
    set_flash(&req, level, parts.join(" "));
    Ok(redirect(&back))
}

/// One snapshot in the panel: the report section plus how and when it arrived.
pub struct PanelSnapshot {
    /// Row id.
    pub id: i64,
    /// The interface-string key naming the channel (`diagnostics.via.mail`…).
    pub via_key: String,
    /// When stored.
    pub at: String,
    /// Staff member who uploaded it.
    pub by: Option<String>,
    /// The report section (verdict, evidence, findings, files) in the page's language.
    pub section: super::report::SnapshotSection,
}

/// An upload link as listed on the case.
pub struct LinkItem {
    /// Row id.
    pub id: i64,
    /// `active`, `expired`, `revoked` (for CSS classes).
    pub status: &'static str,
    /// The interface-string key of the status.
    pub status_key: String,
    /// Created.
    pub created_at: String,
    /// Expires.
    pub expires_at: String,
    /// Uploads made.
    pub uses: i32,
}

/// What the diagnostics panel on the case page shows.
pub struct CasePanel {
    /// Snapshots, oldest first.
    pub snapshots: Vec<PanelSnapshot>,
    /// The whole analysis as the report shows it (fingerprint table, cross-snapshot findings).
    pub view: ReportView,
    /// Other cases that saw the same device.
    pub related: Vec<RelatedCase>,
    /// Upload links, newest first.
    pub links: Vec<LinkItem>,
    /// Whether the reader may upload and manage links.
    pub can_write: bool,
    /// The upload size limit, for the form's hint.
    pub max_upload: String,
    /// Default link validity in days.
    pub default_days: u32,
    /// Longest link validity in days.
    pub max_days: u32,
}

/// Loads the panel for the case page (`cases::routes::show` calls this).
pub async fn case_panel(state: &AppState, page: &Page, case_id: i64) -> AppResult<CasePanel> {
    let rules = rules(state)?;
    let lang = page.lang;
    let (rows, analysis, related, links, users) = state
        .db(move |conn| {
            let rows = SnapshotRow::for_case(conn, case_id)?;
            // From the same rows, so the panel's sections line up with them.
            let analysis = store::analysis_of_rows(&rows, &rules)?;
            let related = store::related_cases(conn, case_id)?;
            let links = UploadLink::for_case(conn, case_id)?;
            let mut users = HashMap::new();
            for id in rows.iter().filter_map(|r| r.uploaded_by) {
                if let std::collections::hash_map::Entry::Vacant(slot) = users.entry(id)
                    && let Some(u) = User::find_by_id(conn, id)?
                {
                    slot.insert(u.name);
                }
            }
            Ok((rows, analysis, related, links, users))
        })
        .await?;
    let view = build_view(&analysis, lang);
    let snapshots = rows
        .iter()
        .zip(view.snapshots.iter().cloned())
        .map(|(row, section)| PanelSnapshot {
            id: row.id,
            via_key: format!(
                "diagnostics.via.{}",
                Via::parse(&row.via).map_or("page", Via::as_str)
            ),
            at: page.absolute(row.created_at),
            by: row.uploaded_by.and_then(|id| users.get(&id).cloned()),
            section,
        })
        .collect();
    let at = crate::db::now();
    let links = links
        .iter()
        .map(|l| LinkItem {
            id: l.id,
            status: l.status(at).as_str(),
            status_key: format!("diagnostics.links.status.{}", l.status(at).as_str()),
            created_at: page.absolute(l.created_at),
            expires_at: page.absolute(l.expires_at),
            uses: l.uses,
        })
        .collect();
    Ok(CasePanel {
        snapshots,
        view,
        related,
        links,
        can_write: page.user_is(Operation::WorkDiagnostics),
        max_upload: crate::cases::routes::human_size(
            i64::try_from(state.config.max_attachment_bytes).unwrap_or(i64::MAX),
        ),
        default_days: DEFAULT_DAYS,
        max_days: MAX_DAYS,
    })
}

/// `?lang=en|zh-CN` on the report.
#[derive(Debug, Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

fn report_lang(query: &LangQuery, page: &Page) -> Lang {
    query
        .lang
        .as_deref()
        .and_then(|l| l.parse().ok())
        .unwrap_or(page.lang)
}

#[derive(Template)]
#[template(path = "diagnostics/report.html")]
struct ReportPage {
    tr: Tr,
    case: Case,
    view: ReportView,
    generated: String,
    other_lang: &'static str,
    other_lang_label: &'static str,
}

async fn case_analysis(state: &AppState, number: String) -> AppResult<(Case, super::Analysis)> {
    let case = load_case(state, number).await?;
    let rules = rules(state)?;
    let case_id = case.id;
    let analysis = state
        .db(move |conn| Ok(analysis_for_case(conn, case_id, &rules)?))
        .await?;
    Ok((case, analysis))
}

/// `GET /cases/{number}/diagnostics/report`: the printable report, in `?lang=` or the page language.
async fn report_page(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<LangQuery>,
) -> AppResult<HttpResponse> {
    user.require(Operation::ReadCases)?;
    let lang = report_lang(&query, &page);
    let (case, analysis) = case_analysis(&state, path.into_inner()).await?;
    let (other_lang, other_lang_label) = match lang {
        Lang::En => (Lang::ZhCn.code(), "中文"),
        Lang::ZhCn => (Lang::En.code(), "English"),
    };
    let body = ReportPage {
        tr: Tr::new(lang, &state.catalog),
        view: build_view(&analysis, lang),
        case,
        generated: page.absolute(crate::db::now()),
        other_lang,
        other_lang_label,
    }
    .render()?;
    Ok(html(actix_web::http::StatusCode::OK, body))
}

/// `GET /cases/{number}/diagnostics/report.txt`: the same report as plain text.
async fn report_text(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<LangQuery>,
) -> AppResult<HttpResponse> {
    user.require(Operation::ReadCases)?;
    let lang = report_lang(&query, &page);
    let (case, analysis) = case_analysis(&state, path.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(store::report_text_for(&case, &analysis, lang)))
}

/// The send form: the report's language (default: the customer's).
#[derive(Debug, Deserialize)]
struct SendForm {
    lang: Option<String>,
}

/// `POST /cases/{number}/diagnostics/report/send`: queues the plain-text report to the customer
/// through the outbox and records `report_sent` on the timeline, in one transaction.
async fn send_report(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<SendForm>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkDiagnostics)?;
    let case = load_case(&state, path.into_inner()).await?;
    let back = format!("/cases/{}#diagnostics", case.number);
    let lang = (form.lang.as_deref())
        .filter(|l| !l.is_empty())
        .and_then(|l| l.parse().ok());
    let rules = rules(&state)?;
    let staff = staff(&user);
    let blobs = state.blobs.clone();
    let config = state.config.clone();
    let sent = state
        .db(move |conn| {
            let limits = upload_limits(&config);
            let engine = Engine {
                blobs: &blobs,
                rules: &rules,
                limits: &limits,
            };
            service::send_report(conn, &config, &engine, &staff, &case, lang)
        })
        .await?;
    if let ReportOutcome::Queued { .. } = sent {
        set_flash(&req, "ok", page.t("diagnostics.flash.send_requested"));
    } else {
        set_flash(&req, "error", page.t("diagnostics.flash.nothing_to_send"));
    }
    Ok(redirect(&back))
}

/// The link form: validity in days.
#[derive(Debug, Deserialize)]
struct LinkForm {
    days: Option<String>,
}

#[derive(Template)]
#[template(path = "diagnostics/link_created.html")]
struct LinkCreatedPage {
    page: Page,
    case: Case,
    url: String,
    expires_at: String,
    /// The reply to the customer, pre-filled with the link (for those who may reply).
    reply: Option<crate::mail::routes::ReplyForm>,
}

/// `POST /cases/{number}/upload-links`: creates a link and shows it once.
async fn create_link(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<LinkForm>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkDiagnostics)?;
    let case = load_case(&state, path.into_inner()).await?;
    let validity = match ValidityDays::parse(form.days.as_deref().unwrap_or("")) {
        Ok(v) => v,
        Err(_) => {
            set_flash(
                &req,
                "error",
                page.t("diagnostics.links.invalid_days")
                    .replace("{max}", &MAX_DAYS.to_string()),
            );
            return Ok(redirect(&format!("/cases/{}#upload-links", case.number)));
        }
    };
    let secret = state.config.secret().to_string();
    let case_id = case.id;
    let staff = staff(&user);
    let made = state
        .db(move |conn| service::create_upload_link(conn, &secret, &staff, case_id, validity))
        .await?;
    let NewLink { link, token } = match made {
        Ok(made) => made,
        Err(refusal @ LinkRefusal::TooMany) => {
            set_flash(
                &req,
                "error",
                page.t("diagnostics.links.too_many")
                    .replace("{max}", &MAX_ACTIVE_LINKS.to_string()),
            );
            tracing::info!(case = %case.number, "{refusal}");
            return Ok(redirect(&format!("/cases/{}#upload-links", case.number)));
        }
    };
    let url = UploadLink::url(state.config.base_url_trimmed(), &token);
    let expires_at = page.absolute(link.expires_at);
    // The reply that sends the link, in the customer's language, ready to edit and send.
    let reply = if user.is(Operation::Reply) {
        let mut reply = crate::mail::routes::ReplyForm::for_case(&state, &user, &case).await?;
        let lang: Lang = case.language.parse().unwrap_or_default();
        reply.body = builtin(lang)
            .t("diagnostics.links.message")
            .replace("{expires}", &expires_at)
            .replace("{url}", &url);
        Some(reply)
    } else {
        None
    };
    let body = LinkCreatedPage {
        url,
        expires_at,
        page,
        case,
        reply,
    }
    .render()?;
    // The token is in this page only: keep it out of caches.
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// `POST /cases/{number}/upload-links/{id}/revoke`.
async fn revoke_link(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkDiagnostics)?;
    let (number, id) = path.into_inner();
    let case = load_case(&state, number).await?;
    let case_id = case.id;
    let staff = staff(&user);
    let revoked = state
        .db(move |conn| service::revoke_upload_link(conn, &staff, case_id, id))
        .await?;
    if !revoked {
        return Err(AppError::NotFound);
    }
    set_flash(&req, "ok", page.t("diagnostics.links.revoked_flash"));
    Ok(redirect(&format!("/cases/{}#upload-links", case.number)))
}

/// One file's result on the public page.
struct PublicResult {
    name: String,
    ok: bool,
    /// Why it was refused, as an `upload.why.*` key shown in both languages.
    why: &'static str,
}

#[derive(Template)]
#[template(path = "diagnostics/public_upload.html")]
struct PublicPage {
    en: Tr,
    zh: Tr,
    /// `form`, `done`, `gone` or `not_found`.
    mode: &'static str,
    csrf: String,
    token: String,
    case_number: String,
    expires_at: String,
    max_upload: String,
    results: Vec<PublicResult>,
    no_files: bool,
}

async fn lookup_link(state: &AppState, token: String) -> AppResult<LinkLookup> {
    let secret = state.config.secret().to_string();
    state
        .db(move |conn| service::lookup_link(conn, &secret, &token))
        .await
}

fn public_page(state: &AppState, page: &Page, mode: &'static str, token: &str) -> PublicPage {
    PublicPage {
        en: Tr::new(Lang::En, &state.catalog),
        zh: Tr::new(Lang::ZhCn, &state.catalog),
        mode,
        csrf: page.csrf.clone(),
        token: token.to_string(),
        case_number: String::new(),
        expires_at: String::new(),
        max_upload: crate::cases::routes::human_size(
            i64::try_from(state.config.max_attachment_bytes).unwrap_or(i64::MAX),
        ),
        results: Vec::new(),
        no_files: false,
    }
}

/// The answer for a link that does not (or no longer) accept uploads.
fn closed_link(state: &AppState, page: &Page, lookup: &LinkLookup) -> AppResult<HttpResponse> {
    let (mode, status) = match lookup {
        LinkLookup::Gone => ("gone", actix_web::http::StatusCode::GONE),
        _ => ("not_found", actix_web::http::StatusCode::NOT_FOUND),
    };
    Ok(html(status, public_page(state, page, mode, "").render()?))
}

/// Counts one request on the upload link `token` (GET and POST together, `upload_rate_per_minute`);
/// the 429 answer once the link is over it. Counted before the database is asked, so made-up
/// tokens cost no query beyond the limit either.
fn limit_link(state: &AppState, token: &str) -> Option<HttpResponse> {
    let retry = state.rate_limits.upload.check(token).err()?;
    tracing::warn!(retry_after = retry.0, "upload link rate-limited");
    Some(too_many_requests(retry, |lang| {
        builtin(lang).t("rate_limit.upload")
    }))
}

/// `GET /upload/{token}`: the customer's upload form; no account needed, the token is the key.
///
/// CSRF: the form keeps the ordinary session check rather than exempting `/upload/`. Visiting this
/// page starts an anonymous cookie session that holds only the CSRF token, and the multipart form
/// carries it as its first field (`web::csrf`, never in the URL). The token in the URL path is what
/// authorises an upload; the CSRF check additionally stops another site from making a visitor's
/// browser post files through a link it has learned, and costs the customer nothing.
async fn public_form(
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let token = path.into_inner();
    if let Some(limited) = limit_link(&state, &token) {
        return Ok(limited);
    }
    let lookup = lookup_link(&state, token.clone()).await?;
    let LinkLookup::Active(found) = lookup else {
        return closed_link(&state, &page, &lookup);
    };
    let (link, case) = *found;
    let mut view = public_page(&state, &page, "form", &token);
    view.case_number = case.number;
    view.expires_at = page.absolute(link.expires_at);
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(view.render()?))
}

/// `POST /upload/{token}` (multipart `files`): stores and analyses the customer's files and
/// records `customer_uploaded` on the case.
async fn public_upload(
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let token = path.into_inner();
    if let Some(limited) = limit_link(&state, &token) {
        return Ok(limited);
    }
    // The link is checked before the body is read: a dead link costs no upload.
    let lookup = lookup_link(&state, token.clone()).await?;
    let LinkLookup::Active(found) = lookup else {
        return closed_link(&state, &page, &lookup);
    };
    let (link, case) = *found;
    let form = read_form(&req, payload, &state.config)
        .await
        .map_err(upload_error)?;
    let mut view = public_page(&state, &page, "form", &token);
    view.case_number = case.number.clone();
    view.expires_at = page.absolute(link.expires_at);
    if form.files.is_empty() {
        view.no_files = true;
        return Ok(html(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            view.render()?,
        ));
    }
    let customer = Uploader::Customer {
        link_id: link.id,
        email: case.customer_email.clone(),
    };
    let outcome = attach(&state, case.id, form.files, customer).await?;
    view.mode = "done";
    view.results = outcome
        .stored
        .into_iter()
        .map(|s| PublicResult {
            name: s.source,
            ok: true,
            why: "",
        })
        .chain(outcome.refused.into_iter().map(|r| PublicResult {
            name: r.source,
            ok: false,
            why: r.customer_key,
        }))
        .collect();
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(view.render()?))
}

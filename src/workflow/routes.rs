//! Workflow on the pages: the actions panel of the case page ([`load_panel`], rendered by
//! `templates/workflow/actions.html`), the form posts that change a case, and the engineering queue.
//!
//! Every post answers with a redirect back to the case and a flash on success; a refusal changes
//! nothing and is shown as a page with the reason: 409 for a move the table does not allow or a stale
//! form, 422 for a missing or invalid field, 403 for a role that may not act.

use crate::auth::Operation;
use crate::web::routes::Access;
use crate::web::time::{Stamp, Timekeeper};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::service::{
    self, ActionRequest, ActorRef, CaseKey, CaseText, Move, SlaRules, TransitionCommand,
    WorkflowError,
};
use super::sla::format_business_duration;
use super::state::{CaseState, Priority};
use super::transitions::{
    Action, CustomerMail, Requirement, TransitionError, TransitionInput, allowed_from,
};
use super::views::ClockView;
use crate::auth::{Role, User};
use crate::cases::{Case, CaseNumber};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::web::catalog::builtin;
use crate::web::page::set_flash;
use crate::web::{AppState, CurrentUser, Page};

crate::route_table! {
    POST "/cases/{number}/transition" => transition, Access::Page(Operation::RequestTransition);
    POST "/cases/{number}/assign" => assign, Access::Page(Operation::WorkCase);
    POST "/cases/{number}/priority" => priority, Access::Page(Operation::WorkCase);
    POST "/cases/{number}/summary" => summary, Access::Page(Operation::WorkCase);
    POST "/cases/{number}/text" => edit_text, Access::Page(Operation::WorkCase);
    POST "/cases/{number}/title" => edit_title, Access::Page(Operation::WorkCase);
    GET "/cases/{number}/split" => split_page, Access::Page(Operation::WorkCase);
    POST "/cases/{number}/split" => split, Access::Page(Operation::WorkCase);
    POST "/cases/{number}/links" => add_link, Access::Page(Operation::WorkCase);
    POST "/cases/{number}/links/{id}/remove" => remove_link, Access::Page(Operation::WorkCase);
    GET "/queue" => queue, Access::Page(Operation::EngineeringQueue);
}

/// Turns a refusal into the page the user sees, in their language.
pub(crate) fn refusal(err: WorkflowError, page: &Page) -> AppError {
    match err {
        WorkflowError::CaseNotFound => AppError::NotFound,
        WorkflowError::Refused(
            e @ (TransitionError::IllegalTransition { .. } | TransitionError::NotMergeable { .. }),
        ) => AppError::Conflict(e.message(page.lang)),
        WorkflowError::Refused(
            TransitionError::NotAllowed { .. } | TransitionError::MergeNotAllowed { .. },
        )
        | WorkflowError::Forbidden => AppError::Forbidden,
        WorkflowError::Refused(e @ TransitionError::MissingRequirement { .. }) => {
            AppError::Unprocessable(e.message(page.lang))
        }
        WorkflowError::Stale { .. } => AppError::Conflict(page.t("workflow.error.stale").into()),
        WorkflowError::Invalid { key, detail } => {
            tracing::info!(%detail, "workflow input refused");
            AppError::Unprocessable(page.t(key).to_string())
        }
        WorkflowError::Corrupt(what) => AppError::Internal(anyhow::anyhow!(what)),
        WorkflowError::Mail(e) => AppError::Internal(e),
        WorkflowError::Db(e) => e.into(),
    }
}

fn parse_number(raw: String) -> AppResult<CaseNumber> {
    CaseNumber::parse(&raw).map_err(|_| AppError::NotFound)
}

fn back_to_case(number: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/cases/{number}#workflow")))
        .finish()
}

/// The transition form: the action pressed, the state the page showed, and the texts.
#[derive(Deserialize)]
struct TransitionForm {
    action: String,
    #[serde(default)]
    from: Option<String>,
    /// Present when the form showed the "mail the customer" checkbox: an unticked box is absent,
    /// so this tells "switched off" from "not offered" (which means on, as in the API).
    #[serde(default)]
    mail_offered: Option<String>,
    #[serde(flatten)]
    input: TransitionInput,
}

async fn transition(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<TransitionForm>,
) -> AppResult<HttpResponse> {
    user.require(Operation::RequestTransition)?;
    let number = parse_number(path.into_inner())?;
    let form = form.into_inner();
    let action: Action = form
        .action
        .parse()
        .map_err(|e: super::transitions::ActionError| AppError::BadRequest(e.to_string()))?;
    let expected_from = match form.from.as_deref().filter(|f| !f.is_empty()) {
        Some(f) => Some(
            f.parse::<CaseState>()
                .map_err(|e| AppError::BadRequest(e.to_string()))?,
        ),
        None => None,
    };
    let mut input = form.input;
    if form.mail_offered.is_some() && input.mail_customer.is_none() {
        input.mail_customer = Some(false);
    }
    let actor = ActorRef::from(&user);
    let how = Move::Action(ActionRequest {
        action,
        expected_from,
    });
    let (config, blobs) = (state.config.clone(), state.blobs.clone());
    let result = state
        .db(move |conn| {
            // The action and the mail it sends commit together: the customer gets the scope mail
            // exactly when the case is scoped, never one without the other.
            let cmd = TransitionCommand {
                case: CaseKey::from(&number),
                actor,
                how,
                input,
                at: Utc::now(),
            };
            Ok(service::take_transition(conn, &blobs, &config, &cmd))
        })
        .await?;
    let applied = result.map_err(|e| refusal(e, &page))?;
    tracing::info!(case = %applied.number, from = %applied.from, to = %applied.to, user = user.id, "transition");
    set_flash(
        &req,
        "ok",
        format!(
            "{} “{}”",
            page.t("workflow.flash.moved"),
            applied.to.label(page.lang)
        ),
    );
    Ok(back_to_case(&applied.number))
}

#[derive(Deserialize)]
struct AssignForm {
    /// An account id, or empty for nobody.
    #[serde(default)]
    assignee: String,
}

async fn assign(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<AssignForm>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkCase)?;
    let number = parse_number(path.into_inner())?;
    let assignee = match form.assignee.trim() {
        "" => None,
        id => Some(id.parse::<i64>().map_err(|_| {
            AppError::Unprocessable(page.t("workflow.error.unknown_user").to_string())
        })?),
    };
    let actor = ActorRef::from(&user);
    let n = number.clone();
    let result = state
        .db(move |conn| Ok(service::assign(conn, &n, &actor, assignee, Utc::now())))
        .await?;
    result.map_err(|e| refusal(e, &page))?;
    set_flash(&req, "ok", page.t("workflow.flash.assigned"));
    Ok(back_to_case(number.as_str()))
}

#[derive(Deserialize)]
struct PriorityForm {
    priority: String,
}

async fn priority(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<PriorityForm>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkCase)?;
    let number = parse_number(path.into_inner())?;
    let priority: Priority = form
        .priority
        .parse()
        .map_err(|_| AppError::Unprocessable(page.t("workflow.error.bad_priority").to_string()))?;
    let actor = ActorRef::from(&user);
    let config = state.config.clone();
    let n = number.clone();
    let result = state
        .db(move |conn| {
            Ok(service::set_priority(
                conn,
                &n,
                &actor,
                priority,
                Utc::now(),
                &SlaRules::from_config(&config),
            ))
        })
        .await?;
    result.map_err(|e| refusal(e, &page))?;
    set_flash(&req, "ok", page.t("workflow.flash.priority"));
    Ok(back_to_case(number.as_str()))
}

#[derive(Deserialize)]
struct SummaryForm {
    #[serde(default)]
    summary: String,
}

async fn summary(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<SummaryForm>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkCase)?;
    let number = parse_number(path.into_inner())?;
    let actor = ActorRef::from(&user);
    let body = form.into_inner().summary;
    let n = number.clone();
    let result = state
        .db(move |conn| Ok(service::write_summary(conn, &n, &actor, &body, Utc::now())))
        .await?;
    let version = result.map_err(|e| refusal(e, &page))?;
    set_flash(
        &req,
        "ok",
        format!("{} v{version}", page.t("workflow.flash.summary")),
    );
    Ok(back_to_case(number.as_str()))
}

#[derive(Deserialize)]
struct TextForm {
    field: String,
    #[serde(default)]
    text: String,
}

async fn edit_text(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<TextForm>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkCase)?;
    let number = parse_number(path.into_inner())?;
    let form = form.into_inner();
    let field: CaseText = form.field.parse().map_err(|e| refusal(e, &page))?;
    let actor = ActorRef::from(&user);
    let n = number.clone();
    let result = state
        .db(move |conn| {
            Ok(service::edit_text(
                conn,
                &n,
                &actor,
                field,
                &form.text,
                Utc::now(),
            ))
        })
        .await?;
    result.map_err(|e| refusal(e, &page))?;
    set_flash(&req, "ok", page.t("workflow.flash.saved"));
    Ok(back_to_case(number.as_str()))
}

#[derive(Deserialize)]
struct TitleForm {
    #[serde(default)]
    title: String,
}

/// `POST /cases/{number}/title`: renames the case (the form above the conversation).
async fn edit_title(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<TitleForm>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkCase)?;
    let number = parse_number(path.into_inner())?;
    let actor = ActorRef::from(&user);
    let title = form.into_inner().title;
    let n = number.clone();
    let result = state
        .db(move |conn| Ok(service::edit_title(conn, &n, &actor, &title, Utc::now())))
        .await?;
    let changed = result.map_err(|e| refusal(e, &page))?;
    let message = if changed {
        page.t("case.title.saved")
    } else {
        page.t("case.title.unchanged")
    };
    set_flash(&req, "ok", message);
    Ok(back_to_case(number.as_str()))
}

#[derive(Deserialize)]
struct SplitQuery {
    message: i64,
}

#[derive(Template)]
#[template(path = "workflow/split_page.html")]
struct SplitPage {
    page: Page,
    preview: super::split::SplitPreview,
    received: crate::web::time::Stamp,
}

/// `GET /cases/{number}/split?message=ID`: what splitting this message would do, and the form.
async fn split_page(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<SplitQuery>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkCase)?;
    let number = parse_number(path.into_inner())?;
    let message = query.message;
    let preview = state
        .db(move |conn| Ok(super::split::split_preview(conn, number.as_str(), message)))
        .await?
        .map_err(|e| refusal(e, &page))?;
    let received = page.stamp(preview.received_at);
    let body = SplitPage {
        page,
        preview,
        received,
    }
    .render()?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

#[derive(Deserialize)]
struct SplitForm {
    message: i64,
    #[serde(default)]
    following: Option<String>,
    #[serde(default)]
    title: String,
}

/// Splits a message (and optionally those after it) into a new case; goes to the new case.
async fn split(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<SplitForm>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkCase)?;
    let number = parse_number(path.into_inner())?;
    let form = form.into_inner();
    let cmd = super::split::SplitCommand {
        case: number.as_str().to_string(),
        message_id: form.message,
        following: form.following.as_deref() == Some("yes"),
        title: Some(form.title),
        actor: ActorRef::from(&user),
    };
    let config = state.config.clone();
    let result = state
        .db(move |conn| {
            Ok(super::split::split(
                conn,
                &cmd,
                Utc::now(),
                &SlaRules::from_config(&config),
            ))
        })
        .await?;
    let new = result.map_err(|e| refusal(e, &page))?;
    set_flash(
        &req,
        "ok",
        format!("{} {}", page.t("split.done"), new.number),
    );
    Ok(back_to_case(&new.number))
}

#[derive(Deserialize)]
struct LinkForm {
    other: String,
    relation: String,
    #[serde(default)]
    reason: String,
}

/// Links this case to another.
async fn add_link(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<LinkForm>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkCase)?;
    let number = parse_number(path.into_inner())?;
    let form = form.into_inner();
    let relation: super::links::Relation = form.relation.parse().map_err(|e| refusal(e, &page))?;
    let cmd = super::links::LinkCommand {
        case: number.as_str().to_string(),
        other: form.other.trim().to_uppercase(),
        relation,
        reason: form.reason,
        actor: ActorRef::from(&user),
    };
    let result = state
        .db(move |conn| Ok(super::links::link(conn, &cmd)))
        .await?;
    result.map_err(|e| refusal(e, &page))?;
    set_flash(&req, "ok", page.t("links.done"));
    Ok(back_to_case(number.as_str()))
}

/// Removes a link of this case.
async fn remove_link(
    req: HttpRequest,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    user.require(Operation::WorkCase)?;
    let (number, id) = path.into_inner();
    let number = parse_number(number)?;
    let actor = ActorRef::from(&user);
    let n = number.clone();
    let removed = state
        .db(move |conn| Ok(super::links::unlink(conn, n.as_str(), id, &actor)))
        .await?
        .map_err(|e| refusal(e, &page))?;
    if !removed {
        return Err(AppError::NotFound);
    }
    set_flash(&req, "ok", page.t("links.removed"));
    Ok(back_to_case(number.as_str()))
}

// ---------------------------------------------------------------------------------------------------
// The panel on the case page
// ---------------------------------------------------------------------------------------------------

/// One input of an action form.
pub struct FieldView {
    /// Form field name ([`TransitionInput`] field).
    pub name: &'static str,
    /// Label in the reader's language.
    pub label: &'static str,
    /// Required by the transition (the note never is).
    pub required: bool,
    /// Rendered as the escalation target select.
    pub is_target: bool,
    /// Pre-filled text.
    pub value: String,
}

/// One action the reader may take now.
pub struct ActionForm {
    /// `Action::as_str`, posted as `action`.
    pub action: &'static str,
    /// Button text.
    pub label: &'static str,
    /// Inputs, required ones first, then the optional note.
    pub fields: Vec<FieldView>,
    /// Whether the customer is always mailed when it is taken (definition and scope, a question).
    pub mails_customer: bool,
    /// The label of the "mail the customer" checkbox, ticked by default, when the mail is optional
    /// (the resolution, the summary).
    pub mail_switch: Option<&'static str>,
    /// Shows what changed since the latest summary version (the archive form).
    pub shows_summary_changes: bool,
}

/// What the record gained since the latest summary version, as the archive and summary forms list it.
pub struct SinceSummaryView {
    /// The version.
    pub version: i32,
    /// When it was written.
    pub at: Stamp,
    /// "Findings — Test engineer, 2026-12-08 18:00 CST", oldest first.
    pub changes: Vec<String>,
}

/// An option of a select.
pub struct OptionView {
    /// Posted value.
    pub value: String,
    /// Shown text.
    pub label: String,
    /// Pre-selected.
    pub selected: bool,
}

/// A summary version as listed.
pub struct SummaryView {
    /// 1, 2, …
    pub version: i32,
    /// The text.
    pub body: String,
    /// Who wrote it.
    pub author: String,
    /// When.
    pub at: Stamp,
    /// Conversation messages that arrived after it was written.
    pub messages_since: i64,
}

/// An escalation as listed.
pub struct EscalationView {
    /// Team or engineer.
    pub target: String,
    /// Why.
    pub reason: String,
    /// What was tried.
    pub tried: String,
    /// What engineering found, once handed back.
    pub findings: Option<String>,
    /// When.
    pub at: Stamp,
    /// Still with engineering.
    pub open: bool,
}

/// Everything `templates/workflow/actions.html` shows on the case page.
pub struct Panel {
    /// The case's state as stored, posted back as `from` so stale forms are refused.
    pub state: String,
    /// Actions allowed for this reader in this state, in table order.
    pub actions: Vec<ActionForm>,
    /// Engineers for the escalation target select (`user:ID`).
    pub engineers: Vec<OptionView>,
    /// Whether the reader may assign, prioritise, edit and write summaries.
    pub can_manage: bool,
    /// Accounts for the assign select (an empty value means nobody).
    pub assignees: Vec<OptionView>,
    /// The owner's name.
    pub assignee_name: Option<String>,
    /// Priorities for the select.
    pub priorities: Vec<OptionView>,
    /// Recorded problem definition.
    pub definition: Option<String>,
    /// Recorded scope.
    pub scope: Option<String>,
    /// Recorded resolution.
    pub resolution: Option<String>,
    /// Escalations, oldest first.
    pub escalations: Vec<EscalationView>,
    /// Summary versions, newest first.
    pub summaries: Vec<SummaryView>,
    /// Pre-filled text for a new summary: the latest version when the record has not changed since,
    /// else a draft from the record as it is now.
    pub summary_draft: String,
    /// What changed since the latest summary version, when there is one.
    pub since_summary: Option<SinceSummaryView>,
    /// When the reader may take no workflow step now: why, as a plain status (e.g. the engineer who
    /// handed the case back).
    pub read_only: Option<String>,
    /// SLA clocks, oldest first.
    pub clocks: Vec<ClockView>,
    /// Linked cases, oldest link first.
    pub links: Vec<super::links::LinkView>,
    /// Open cases this one may duplicate: (number, title, similarity in percent).
    pub suggestions: Vec<(String, String, u32)>,
    /// Whether the reader may merge (for the suggestions' merge buttons).
    pub can_merge: bool,
}

/// Builds the panel for `user` reading `case` at `now`. Call inside `state.db`.
pub fn load_panel(
    conn: &mut DbConn,
    case: &Case,
    user: &CurrentUser,
    times: Timekeeper,
    now: chrono::DateTime<Utc>,
    rules: &SlaRules<'_>,
) -> Result<Panel, WorkflowError> {
    let lang = times.lang();
    let state: CaseState = case.state;
    let can_manage = user.is(Operation::WorkCase);
    let summaries = service::summaries(conn, case.id)?;
    // The summary is written for the customer (its last section tells them how to reopen), so the
    // draft follows the case's language, not the reader's.
    let case_lang: Lang = case.language.parse().unwrap_or_default();
    let (summary_draft, since) = service::summary_prefill(conn, case.id, case_lang)?;
    let since_summary = since.map(|s| SinceSummaryView {
        version: s.version,
        at: times.stamp(s.written_at),
        changes: s
            .changes
            .iter()
            .map(|c| {
                format!(
                    "{} — {}, {}",
                    c.field.label(lang),
                    c.actor_label,
                    times.absolute_naive(c.at)
                )
            })
            .collect(),
    });
    let actor = ActorRef::from(user).actor();
    let actions = allowed_from(state, actor)
        .into_iter()
        .map(|t| {
            let mut fields: Vec<FieldView> = t
                .requires()
                .iter()
                .map(|&r| FieldView {
                    name: r.as_str(),
                    label: r.label(lang),
                    required: true,
                    is_target: r == Requirement::Target,
                    value: if r == Requirement::Summary {
                        summary_draft.clone()
                    } else {
                        String::new()
                    },
                })
                .collect();
            fields.push(FieldView {
                name: "note",
                // The template labels the note from the catalogue.
                label: "",
                required: false,
                is_target: false,
                value: String::new(),
            });
            let mail = t.mails_customer();
            ActionForm {
                action: t.action().as_str(),
                label: t.action().label(lang),
                fields,
                mails_customer: mail.is_some_and(|m| !m.is_optional()),
                mail_switch: match mail {
                    Some(CustomerMail::Resolution) => {
                        Some(builtin(lang).t("workflow.mail_switch.resolution"))
                    }
                    Some(CustomerMail::Summary) => {
                        Some(builtin(lang).t("workflow.mail_switch.summary"))
                    }
                    _ => None,
                },
                shows_summary_changes: t.action() == Action::Archive,
            }
        })
        .collect::<Vec<ActionForm>>();
    let actions_empty = actions.is_empty();
    let engineers = User::list_by_role(conn, Role::Engineer)?
        .into_iter()
        .map(|u| OptionView {
            value: format!("user:{}", u.id),
            label: u.name,
            selected: false,
        })
        .collect();
    let mut assignee_name = None;
    let assignees = if can_manage {
        User::list(conn)?
            .into_iter()
            .filter(|u| !u.disabled)
            .map(|u| {
                let selected = case.assignee_id == Some(u.id);
                if selected {
                    assignee_name = Some(u.name.clone());
                }
                OptionView {
                    value: u.id.to_string(),
                    label: u.name,
                    selected,
                }
            })
            .collect()
    } else {
        if let Some(id) = case.assignee_id {
            assignee_name = User::find_by_id(conn, id)?.map(|u| u.name);
        }
        Vec::new()
    };
    let priorities = Priority::ALL
        .into_iter()
        .map(|p| OptionView {
            value: p.as_str().to_string(),
            label: p.label(lang).to_string(),
            selected: p == case.priority,
        })
        .collect();
    // Counting reads every message row of the case: only when a summary needs it.
    let count = if summaries.is_empty() {
        0
    } else {
        service::message_count(conn, case.id)?
    };
    let summaries = summaries
        .into_iter()
        .map(|s| SummaryView {
            version: s.version,
            author: s.author_label,
            at: times.stamp(s.created_at),
            messages_since: (count - s.messages_at_write).max(0),
            body: s.body,
        })
        .collect();
    let escalations = service::escalations_of(conn, case.id)?;
    let read_only = if actions_empty {
        Some(read_only_status(case, user, &escalations, times))
    } else {
        None
    };
    let escalations = escalations
        .into_iter()
        .map(|e| EscalationView {
            open: e.closed_at.is_none(),
            target: e.target,
            reason: e.reason,
            tried: e.tried,
            findings: e.findings,
            at: times.stamp(e.created_at),
        })
        .collect();
    let clocks = service::clocks(conn, case.id)?
        .iter()
        .map(|c| ClockView::of(&c.clock, now, rules, &times))
        .collect();
    let links = super::links::links_of(conn, case.id)?;
    let suggestions = if can_manage {
        super::links::merge_suggestions(conn, case)?
            .into_iter()
            .map(|(c, s)| (c.number, c.title, (s * 100.0).round() as u32))
            .collect()
    } else {
        Vec::new()
    };
    let can_merge = user.is(Operation::MergeCases)
        && case.merged_into_id.is_none()
        && crate::workflow::transitions::MERGE_FROM.contains(&case.state);
    Ok(Panel {
        links,
        suggestions,
        can_merge,
        state: case.state.as_str().to_string(),
        actions,
        engineers,
        can_manage,
        assignees,
        assignee_name,
        priorities,
        definition: case.problem_definition.clone(),
        scope: case.scope.clone(),
        resolution: case.resolution.clone(),
        escalations,
        summaries,
        summary_draft,
        since_summary,
        read_only,
        clocks,
    })
}

/// The status shown instead of action forms when the reader may take no step now: for the engineer
/// who handed the case back, that they did and who works it now; for anyone else, the state and
/// what they can still do. Never worded as a fault: it is how the method divides the work.
fn read_only_status(
    case: &Case,
    user: &CurrentUser,
    escalations: &[service::Escalation],
    times: Timekeeper,
) -> String {
    let lang = times.lang();
    let t = builtin(lang);
    let state = case.state.label(lang);
    if case.merged_into_id.is_some() {
        return t.t("workflow.read_only.merged").to_string();
    }
    let handed_back = escalations
        .iter()
        .rev()
        .find(|e| e.handed_back_by == Some(user.id));
    match handed_back {
        Some(e) if case.state != CaseState::Escalated => t
            .t("workflow.read_only.handed_back")
            .replace(
                "{at}",
                &times.absolute_naive(e.handed_back_at.unwrap_or(e.created_at)),
            )
            .replace("{state}", state),
        _ => t.t("workflow.read_only.other").replace("{state}", state),
    }
}

// ---------------------------------------------------------------------------------------------------
// The engineering queue
// ---------------------------------------------------------------------------------------------------

struct QueueRow {
    number: String,
    title: String,
    priority: String,
    target: String,
    reason: String,
    tried: String,
    waiting: String,
    sla: Option<ClockView>,
}

#[derive(Template)]
#[template(path = "workflow/queue.html")]
struct QueuePage {
    page: Page,
    rows: Vec<QueueRow>,
}

async fn queue(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    user.require(Operation::EngineeringQueue)?;
    let config = state.config.clone();
    let times = page.times();
    let user_id = user.id;
    let (items, deadlines) = state
        .db(move |conn| {
            let me = User::find_by_id(conn, user_id)?.ok_or(AppError::Unauthenticated)?;
            let now = Utc::now();
            let rules = SlaRules::from_config(&config);
            let items = service::engineering_queue(conn, &me).map_err(internal)?;
            let ids: Vec<i64> = items.iter().map(|i| i.case.id).collect();
            let deadlines = service::next_deadlines(conn, &ids).map_err(internal)?;
            let deadlines = deadline_views(deadlines, now, &rules, times);
            Ok((items, deadlines))
        })
        .await?;
    let now = Utc::now();
    let calendar = &state.config.business_hours;
    let mut deadlines = deadlines;
    let rows = items
        .into_iter()
        .map(|item| QueueRow {
            sla: deadlines.remove(&item.case.id),
            waiting: format_business_duration(
                calendar.business_duration_between(item.escalation.created_at.and_utc(), now),
                times.lang(),
            ),
            number: item.case.number,
            title: item.case.title,
            priority: item.case.priority.as_str().to_string(),
            target: item.escalation.target,
            reason: item.escalation.reason,
            tried: item.escalation.tried,
        })
        .collect();
    let body = QueuePage { page, rows }.render()?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// Read-only queries fail only on the database or unreadable data; both are internal errors.
fn internal(e: WorkflowError) -> AppError {
    match e {
        WorkflowError::Db(e) => e.into(),
        other => AppError::Internal(anyhow::Error::new(other)),
    }
}

/// For `cases::routes`: the panel inside its `state.db` closure, with errors as [`AppError`].
pub fn panel_for(
    conn: &mut DbConn,
    case: &Case,
    user: &CurrentUser,
    times: Timekeeper,
    config: &crate::config::Config,
) -> AppResult<Panel> {
    load_panel(
        conn,
        case,
        user,
        times,
        Utc::now(),
        &SlaRules::from_config(config),
    )
    .map_err(internal)
}

/// For `cases::routes::list`: each listed case's next SLA deadline, with errors as [`AppError`].
pub fn deadlines_for(
    conn: &mut DbConn,
    case_ids: &[i64],
    times: Timekeeper,
    config: &crate::config::Config,
) -> AppResult<std::collections::HashMap<i64, ClockView>> {
    let deadlines = service::next_deadlines(conn, case_ids).map_err(internal)?;
    Ok(deadline_views(
        deadlines,
        Utc::now(),
        &SlaRules::from_config(config),
        times,
    ))
}

/// Each case's next deadline as its badge shows it at `now`.
fn deadline_views(
    deadlines: std::collections::HashMap<i64, super::sla::SlaClock>,
    now: chrono::DateTime<Utc>,
    rules: &SlaRules<'_>,
    times: Timekeeper,
) -> std::collections::HashMap<i64, ClockView> {
    deadlines
        .into_iter()
        .map(|(case_id, clock)| (case_id, ClockView::of(&clock, now, rules, &times)))
        .collect()
}

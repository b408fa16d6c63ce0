//! Times on the pages, through the front door on both databases: two agents with different zones
//! (one the configured default, one chosen on the preferences page) read the same case and see its
//! times in their own zone, labelled, as relative times with the absolute time on hover; SLA badges
//! say the amount is business time and show the wall-clock deadline.

mod common;

use casebook::auth::Role;
use casebook::cases::Case;
use casebook::cases::model::NewCase;
use casebook::workflow::Priority;
use casebook::workflow::service::{self, SlaRules};
use chrono::{Duration, Utc};
use common::{BackendKind, TestApp, spawn_app_with};

both_backends!(each_reader_sees_times_in_their_own_zone_labelled_and_relative);

/// A case last active `ago` before now, with its SLA clocks running.
fn open_case(app: &TestApp, title: &str, ago: Duration) -> Case {
    let mut conn = app.conn();
    let at = casebook::db::now() - ago;
    let case = Case::create(
        &mut conn,
        &NewCase {
            number: None,
            title,
            state: casebook::workflow::CaseState::New,
            priority: Priority::Normal,
            customer_email: "zhang.wei@customer.test",
            customer_name: Some("张伟"),
            language: "zh-CN",
            duplicate_of_id: None,
            at,
        },
    )
    .unwrap();
    service::start_clocks_for_new_case(
        &mut conn,
        case.id,
        Priority::Normal,
        Utc::now(),
        &SlaRules::from_config(&app.config),
    )
    .unwrap();
    case
}

/// The `title` of the `<time>` element whose `datetime` is `iso`, as the page renders it.
fn hover_of(html: &str, iso: &str) -> Option<String> {
    let start = html.find(&format!(r#"<time datetime="{iso}" title=""#))?;
    let rest = &html[start..];
    let title_at = rest.find("title=\"")? + "title=\"".len();
    let end = rest[title_at..].find('"')?;
    Some(rest[title_at..title_at + end].to_string())
}

async fn each_reader_sees_times_in_their_own_zone_labelled_and_relative(backend: BackendKind) {
    let Some(app) = spawn_app_with(backend, &[("CASEBOOK_TIMEZONE", "Asia/Shanghai")]).await else {
        return;
    };
    let shanghai_agent = app.login_as(Role::Agent).await;
    let berlin = app.another_browser();
    let berlin_user = berlin.create_user("berlin@casebook.test", "Berlin Agent", Role::Agent);
    assert_eq!(
        berlin
            .login(&berlin_user.email, common::TEST_PASSWORD)
            .await
            .status()
            .as_u16(),
        303
    );
    let case = open_case(
        &app,
        "离线激活失败",
        Duration::hours(2) + Duration::minutes(5),
    );
    let iso = case
        .last_activity_at
        .and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let in_zone = |tz: chrono_tz::Tz, label: &str| {
        format!(
            "{} {label}",
            case.last_activity_at
                .and_utc()
                .with_timezone(&tz)
                .format("%Y-%m-%d %H:%M")
        )
    };

    // The default zone (from `timezone`) is offered on the preferences page; Berlin picks its own.
    let (status, prefs) = berlin.get_text("/account/preferences").await;
    assert_eq!(status, 200);
    assert!(prefs.contains("Default (Asia/Shanghai)"), "{prefs}");
    let r = berlin
        .post_form("/account/preferences", &[("timezone", "Europe/Berlin")])
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, prefs) = berlin.get_text("/account/preferences").await;
    assert!(
        prefs.contains(r#"<option value="Europe/Berlin" selected>"#),
        "{prefs}"
    );
    // A name that is no zone is refused and changes nothing.
    let r = berlin
        .post_form("/account/preferences", &[("timezone", "Mars/Olympus")])
        .await;
    assert_eq!(r.status().as_u16(), 400);

    // The case list: relative time, with the absolute time in the reader's zone on hover.
    let (status, list) = app.get_text("/cases").await;
    assert_eq!(status, 200);
    assert_eq!(
        hover_of(&list, &iso).as_deref(),
        Some(in_zone(chrono_tz::Asia::Shanghai, "CST").as_str()),
        "{list}"
    );
    assert!(list.contains(">2 h ago</time>"), "{list}");
    let (_, berlin_list) = berlin.get_text("/cases").await;
    assert_eq!(
        hover_of(&berlin_list, &iso).as_deref(),
        Some(in_zone(chrono_tz::Europe::Berlin, "CET").as_str()),
        "{berlin_list}"
    );
    assert!(!berlin_list.contains(&in_zone(chrono_tz::Asia::Shanghai, "CST")));
    // Case summaries read in the reader's zone too, and say which.
    let (_, summaries) = berlin.get_text("/summaries").await;
    assert!(
        summaries.contains("Times are in Europe/Berlin."),
        "{summaries}"
    );
    let (_, summaries) = app.get_text("/summaries").await;
    assert!(
        summaries.contains("Times are in Asia/Shanghai."),
        "{summaries}"
    );

    // SLA badges: business time, and the deadline on the reader's wall clock, labelled.
    assert!(list.contains("(business time) — "), "{list}");
    let (_, page) = app.get_text(&format!("/cases/{}", case.number)).await;
    assert!(page.contains("due in"), "{page}");
    assert!(page.contains("(business time) — "), "{page}");
    let badge_zone = |html: &str, zone: &str| {
        html.split("(business time) — ").skip(1).all(|after| {
            after
                .split('<')
                .next()
                .unwrap_or("")
                .trim_end()
                .ends_with(zone)
        })
    };
    assert!(badge_zone(&page, " CST"), "{page}");
    let (_, berlin_page) = berlin.get_text(&format!("/cases/{}", case.number)).await;
    assert!(badge_zone(&berlin_page, " CET"), "{berlin_page}");

    // In Chinese: "2 小时前", and the badge says it counts working time.
    let r = berlin.post_form("/language", &[("lang", "zh-CN")]).await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, zh_list) = berlin.get_text("/cases").await;
    assert!(zh_list.contains(">2 小时前</time>"), "{zh_list}");
    assert!(zh_list.contains("（按工作时间）— "), "{zh_list}");

    // A note written now: on the case page its time is "just now", with each reader's zone on
    // hover (the message and its timeline event).
    let r = app
        .post_form(
            &format!("/cases/{}/note", case.number),
            &[("body", "查看日志")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let note = casebook::cases::messages::Message::for_case(&mut app.conn(), case.id)
        .unwrap()
        .pop()
        .expect("the note");
    let at = note.date().and_utc();
    let note_iso = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (_, page) = app.get_text(&format!("/cases/{}", case.number)).await;
    let (_, berlin_page) = berlin.get_text(&format!("/cases/{}", case.number)).await;
    let local = |tz: chrono_tz::Tz, label: &str| {
        format!("{} {label}", at.with_timezone(&tz).format("%Y-%m-%d %H:%M"))
    };
    assert_eq!(
        hover_of(&page, &note_iso),
        Some(local(chrono_tz::Asia::Shanghai, "CST")),
        "{page}"
    );
    assert_eq!(
        hover_of(&berlin_page, &note_iso),
        Some(local(chrono_tz::Europe::Berlin, "CET")),
        "{berlin_page}"
    );
    assert!(page.contains(&format!(
        r#"title="{}">just now</time>"#,
        local(chrono_tz::Asia::Shanghai, "CST")
    )));

    // Back to the default: the configured zone again.
    let r = berlin
        .post_form("/account/preferences", &[("timezone", "")])
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, back) = berlin.get_text(&format!("/cases/{}", case.number)).await;
    assert_eq!(
        hover_of(&back, &note_iso),
        Some(local(chrono_tz::Asia::Shanghai, "CST"))
    );
    drop(shanghai_agent);
}

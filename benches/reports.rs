//! Dashboard latency: a generated history of support cases (default 10,000, `-- 20000` for another
//! count) worked through the workflow service — replies, questions to the customer, escalations,
//! resolutions, reopens, customers chasing — over the last 180 days, then the dashboard's service
//! function (`reports::dashboard::summary`, what `GET /reports` and the API call) timed for the
//! default 30 days, a quarter and a year, and one of the case lists a figure links to.
//!
//! `cargo bench --bench reports` runs on SQLite; with `CASEBOOK_TEST_POSTGRES_URL` set (a server
//! where the user may create databases) it runs on a fresh PostgreSQL database too.

use std::time::{Duration as StdDuration, Instant};

use casebook::auth::Role;
use casebook::cases::Case;
use casebook::cases::filters::{Activity, ActivityFilter};
use casebook::cases::messages::{INBOUND, NewMessage};
use casebook::cases::model::NewCase;
use casebook::cases::search::{self, CaseQuery};
use casebook::config::Config;
use casebook::db::DbConn;
use casebook::reports::dashboard::{ReportParams, ReportRequest, summary};
use casebook::workflow::service::{self, ActorRef, SlaRules};
use casebook::workflow::sla::SlaMetric;
use casebook::workflow::transitions::TransitionInput;
use casebook::workflow::{CaseState, Priority};
use chrono::{DateTime, Duration, Utc};
use diesel::{Connection, RunQueryDsl};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const DEFAULT_CASES: usize = 10_000;
const RUNS: usize = 15;
const CASES_PER_TRANSACTION: usize = 250;

fn input() -> TransitionInput {
    TransitionInput {
        definition: Some("Activation fails on the terminals of one site".into()),
        scope: Some("The CMGE terminals of the Shenzhen office".into()),
        target: Some("engineering".into()),
        reason: Some("Licensing server fault suspected".into()),
        tried: Some("Rearmed and re-entered the key".into()),
        findings: Some("The KMS host record was stale".into()),
        resolution: Some("Fixed the DNS SRV record".into()),
        question: Some("Which build do the terminals run?".into()),
        summary: Some("Stale KMS record".into()),
        ..Default::default()
    }
}

fn message(conn: &mut DbConn, case: &Case, text: &str, at: DateTime<Utc>, n: usize) {
    NewMessage {
        case_id: case.id,
        direction: INBOUND.into(),
        message_id: Some(format!("bench-{}-{n}@customer.example", case.id)),
        in_reply_to: None,
        references_ids: String::new(),
        from_email: case.customer_email.clone(),
        from_name: None,
        to_addrs: "support@cmgos.com".into(),
        cc_addrs: String::new(),
        subject: case.title.clone(),
        sent_at: Some(at.naive_utc()),
        received_at: at.naive_utc(),
        body_text: text.into(),
        new_text: text.into(),
        body_html: None,
        auto: false,
        thread_method: "bench".into(),
        raw_sha256: None,
        content_hash: format!("bench-{}-{n}", case.id),
        author_id: None,
        created_at: at.naive_utc(),
    }
    .insert(conn)
    .expect("message");
}

/// One case's life: opened, perhaps chased, answered, asked, escalated, resolved, reopened.
fn one_case(
    conn: &mut DbConn,
    rng: &mut StdRng,
    n: usize,
    now: DateTime<Utc>,
    agents: &[ActorRef],
    rules: &SlaRules,
) -> anyhow::Result<()> {
    let mut at = now - Duration::seconds(rng.gen_range(3600..180 * 24 * 3600));
    let step = |rng: &mut StdRng, at: &mut DateTime<Utc>, max_hours: i64| {
        *at += Duration::seconds(rng.gen_range(600..max_hours * 3600));
        *at < now
    };
    let priority = Priority::ALL[rng.gen_range(0..4)];
    let customer = format!("user{}@customer{}.example", n % 400, n % 25);
    let case = Case::create(
        conn,
        &NewCase {
            number: None,
            title: &format!("激活失败 {n}"),
            state: CaseState::New,
            priority,
            customer_email: &customer,
            customer_name: None,
            language: "zh-CN",
            duplicate_of_id: None,
            at: at.naive_utc(),
        },
    )?;
    message(
        conn,
        &case,
        "日志已上传，请帮忙确认具体原因。离线激活失败。",
        at,
        0,
    );
    service::start_clocks_for_new_case(conn, case.id, priority, at, rules)?;
    let agent = &agents[n % agents.len()];
    if !n.is_multiple_of(10) {
        service::assign(conn, case.id, agent, agent.id(), at)?;
    }
    let mut m = 1;
    if rng.gen_bool(0.3) && step(rng, &mut at, 20) {
        let text = ["有新进展吗？", "Any update?", "您好，请问有进展吗？谢谢"][n % 3];
        message(conn, &case, text, at, m);
        m += 1;
        service::customer_wrote(conn, case.id, at, rules)?;
    }
    if !(rng.gen_bool(0.85) && step(rng, &mut at, 30)) {
        return Ok(());
    }
    service::reply_sent(conn, case.id, at, rules)?;
    for state in [
        CaseState::Defined,
        CaseState::Scoped,
        CaseState::Investigating,
    ] {
        service::apply_transition(conn, case.id, agent, state, &input(), at, rules)?;
    }
    if rng.gen_bool(0.3) && step(rng, &mut at, 20) {
        service::apply_transition(
            conn,
            case.id,
            agent,
            CaseState::WaitingOnCustomer,
            &input(),
            at,
            rules,
        )?;
        if step(rng, &mut at, 48) {
            message(conn, &case, "终端版本是 2203，日志见附件。", at, m);
            m += 1;
            service::customer_wrote(conn, case.id, at, rules)?;
            if step(rng, &mut at, 10) {
                service::reply_sent(conn, case.id, at, rules)?;
            }
        }
    }
    if rng.gen_bool(0.2) && step(rng, &mut at, 24) {
        service::apply_transition(
            conn,
            case.id,
            agent,
            CaseState::Escalated,
            &input(),
            at,
            rules,
        )?;
        if !step(rng, &mut at, 72) {
            return Ok(());
        }
        service::apply_transition(
            conn,
            case.id,
            agent,
            CaseState::Investigating,
            &input(),
            at,
            rules,
        )?;
    }
    let state = Case::find_by_id(conn, case.id)?.map(|c| c.state);
    if state == Some(CaseState::Investigating) && rng.gen_bool(0.7) && step(rng, &mut at, 96) {
        service::apply_transition(
            conn,
            case.id,
            agent,
            CaseState::Resolved,
            &input(),
            at,
            rules,
        )?;
        if rng.gen_bool(0.1) && step(rng, &mut at, 96) {
            message(conn, &case, "更新后又出现同样的报错 0x8007232B。", at, m);
            service::customer_wrote(conn, case.id, at, rules)?;
        }
    }
    Ok(())
}

fn generate(
    conn: &mut DbConn,
    config: &Config,
    cases: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$bench$bench";
    let agents: Vec<ActorRef> = (0..8)
        .map(|i| {
            let user = casebook::auth::User::create(
                conn,
                &format!("agent{i}@cmgos.com"),
                &format!("Agent {i}"),
                Role::Agent,
                hash,
            )?;
            Ok(ActorRef::User {
                id: user.id,
                name: user.name,
                role: Role::Agent,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let rules = SlaRules::from_config(config);
    let mut rng = StdRng::seed_from_u64(11);
    for batch in (0..cases).collect::<Vec<_>>().chunks(CASES_PER_TRANSACTION) {
        casebook::db::write_transaction(conn, |conn| -> anyhow::Result<()> {
            for n in batch {
                one_case(conn, &mut rng, *n, now, &agents, &rules)?;
            }
            Ok(())
        })?;
    }
    service::breach_sweep(conn, now)?;
    Ok(())
}

fn median_and_worst(mut times: Vec<StdDuration>) -> (f64, f64) {
    times.sort();
    let ms = |d: StdDuration| d.as_secs_f64() * 1000.0;
    (ms(times[times.len() / 2]), ms(*times.last().unwrap()))
}

fn time<T>(mut f: impl FnMut() -> T) -> (f64, f64) {
    f();
    let times = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(f());
            started.elapsed()
        })
        .collect();
    median_and_worst(times)
}

fn run(label: &str, database_url: &str, cases: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut env = std::collections::BTreeMap::new();
    env.insert("CASEBOOK_DATA_DIR".into(), dir.path().display().to_string());
    env.insert("CASEBOOK_DATABASE_URL".into(), database_url.to_string());
    let config = Config::from_sources(None, &env)?;
    let prepared = casebook::startup::prepare(config)?;
    let config = prepared.config.clone();
    let mut conn = prepared.pool.get()?;
    let now = Utc::now();
    let started = Instant::now();
    generate(&mut conn, &config, cases, now)?;
    let counts: (i64, i64, i64) = (
        diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT COUNT(*) FROM cases)",
        ))
        .get_result(&mut conn)?,
        diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT COUNT(*) FROM messages)",
        ))
        .get_result(&mut conn)?,
        diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT COUNT(*) FROM case_events)",
        ))
        .get_result(&mut conn)?,
    );
    println!(
        "{label}: {} cases, {} messages, {} events generated in {:.1} s",
        counts.0,
        counts.1,
        counts.2,
        started.elapsed().as_secs_f64()
    );
    let tz = config.business_hours.timezone();
    let today = now.with_timezone(&tz).date_naive();
    for days in [30, 91, 365] {
        let params = ReportParams {
            from: (today - Duration::days(days - 1)).to_string(),
            to: today.to_string(),
            ..Default::default()
        };
        let request = ReportRequest::parse(&params, today, tz)?;
        let d = summary(&mut conn, &request, now, tz)?;
        let (median, worst) = time(|| summary(&mut conn, &request, now, tz).unwrap());
        println!(
            "{label}: dashboard, last {days:>3} days: median {median:6.1} ms, slowest {worst:6.1} ms \
             ({} opened, {} closed, {} first responses, {} chasers, {} open)",
            d.flow.opened.value,
            d.flow.closed.value,
            d.times.first_response.overall.count,
            d.chasers.messages,
            d.backlog.total.value
        );
        if days == 30 {
            let scoped = ReportRequest::parse(
                &ReportParams {
                    agent: "3".into(),
                    domain: "customer3.example".into(),
                    ..params.clone()
                },
                today,
                tz,
            )?;
            let (median, worst) = time(|| summary(&mut conn, &scoped, now, tz).unwrap());
            println!(
                "{label}: dashboard, last  30 days, one agent and domain: median {median:6.1} ms, slowest {worst:6.1} ms"
            );
            let list = CaseQuery {
                activity: Some(ActivityFilter {
                    activity: Activity::Breached(SlaMetric::Resolution),
                    range: request.range,
                }),
                ..Default::default()
            };
            let (median, worst) = time(|| search::list_cases_at(&mut conn, &list, now).unwrap());
            println!(
                "{label}: the case list a figure links to (resolution breached, 30 days): median {median:6.1} ms, slowest {worst:6.1} ms"
            );
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cases = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(DEFAULT_CASES);
    let dir = tempfile::tempdir()?;
    run(
        "SQLite",
        &dir.path().join("bench.db").display().to_string(),
        cases,
    )?;
    if let Ok(admin_url) = std::env::var("CASEBOOK_TEST_POSTGRES_URL") {
        let name = format!("casebook_bench_{}", std::process::id());
        let mut admin = diesel::PgConnection::establish(&admin_url)?;
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin)?;
        let mut url = url::Url::parse(&admin_url)?;
        url.set_path(&format!("/{name}"));
        let result = run("PostgreSQL", url.as_str(), cases);
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)?;
        result?;
    }
    Ok(())
}

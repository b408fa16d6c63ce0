//! Case summaries benchmark: how long one page of `/summaries` (and the CSV export) takes to read
//! from a database of many closed cases, through the same service the pages call.
//!
//! `cargo bench --bench summaries` fills a fresh SQLite database with 20,000 cases (`-- 100000`
//! for another count; `-- --database-url postgres://…/empty_db` to run on an empty PostgreSQL
//! database instead): 90% closed (70% archived with a summary, 20% resolved), each with its
//! transitions (a quarter escalated and handed back), a met first-response clock, three messages
//! and some non-milestone events, spread over a year, 200 customer domains and 10 agents. Then it
//! times, 15 runs each, the first page, a page deep in the list (by its key), filtered first
//! pages, one case's review (the manager's case page) and a full CSV export, and prints the
//! median and the slowest run of each.

use std::time::{Duration, Instant};

use casebook::config::Config;
use casebook::db::DbConn;
use casebook::reports::summaries::{self, Cursor, CustomerFilter, SummaryFilter};
use casebook::workflow::{CaseState, Priority};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

const DEFAULT_CASES: usize = 20_000;
const RUNS: usize = 15;
const CHUNK: usize = 500;

/// A small deterministic generator (no dependency, same data every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn ts(t: NaiveDateTime) -> String {
    format!("'{}'", t.format("%Y-%m-%d %H:%M:%S"))
}

/// The SQL that stores cases `first ..= last`.
fn chunk_sql(first: usize, last: usize, agents: &[i64], rng: &mut Lcg) -> String {
    let start = NaiveDate::from_ymd_opt(2025, 12, 1)
        .unwrap()
        .and_hms_opt(1, 0, 0)
        .unwrap();
    let hour = chrono::Duration::hours(1);
    let mut sql = String::new();
    for i in first..=last {
        let created =
            start + chrono::Duration::minutes((i as i64) * 26) + hour * (rng.below(5) as i32);
        let roll = rng.below(10);
        let state = match roll {
            0 => CaseState::Investigating,
            1 | 2 => CaseState::Resolved,
            _ => CaseState::Archived,
        };
        let escalated = rng.below(4) == 0;
        let priority = Priority::ALL[rng.below(4) as usize];
        let domain = rng.below(200);
        let sub = if rng.below(5) == 0 { "cn." } else { "" };
        let email = format!("user{}@{sub}customer{domain}.example.com", rng.below(50));
        let agent = agents[rng.below(agents.len() as u64) as usize];
        let t = |h: i64| created + chrono::Duration::hours(h);
        let resolved_at = t(30 + rng.below(200) as i64);
        let closed = match state {
            CaseState::Investigating => "NULL".to_string(),
            _ => ts(resolved_at),
        };
        sql.push_str(&format!(
            "INSERT INTO cases (id, number, seq, title, state, priority, customer_email, customer_name, \
             assignee_id, language, problem_definition, resolution, created_at, updated_at, last_activity_at, \
             closed_at) VALUES ({i}, 'CAS-{i:05}-BENCH0', {i}, '离线激活失败 {i}', '{}', '{}', '{email}', \
             '客户 {domain}', {agent}, 'zh-CN', '客户反馈离线激活失败 {i}', '更换主板后激活成功', {c}, {c}, {r}, {closed});\n",
            state.as_str(),
            priority.as_str(),
            c = ts(created),
            r = ts(resolved_at),
        ));
        let mut event = |kind: &str,
                         from: Option<CaseState>,
                         to: Option<CaseState>,
                         at: NaiveDateTime| {
            let state =
                |s: Option<CaseState>| s.map_or("NULL".into(), |s| format!("'{}'", s.as_str()));
            sql.push_str(&format!(
                "INSERT INTO case_events (case_id, actor_label, kind, from_state, to_state, created_at) \
                 VALUES ({i}, 'bench', '{kind}', {}, {}, {});\n",
                state(from),
                state(to),
                ts(at)
            ));
        };
        use CaseState::*;
        event("case_created", None, None, created);
        event("reply_sent", None, None, t(2));
        event("transition", Some(New), Some(Defined), t(3));
        event("transition", Some(Defined), Some(Scoped), t(5));
        event("transition", Some(Scoped), Some(Investigating), t(6));
        event(
            "transition",
            Some(Investigating),
            Some(WaitingOnCustomer),
            t(7),
        );
        event(
            "transition",
            Some(WaitingOnCustomer),
            Some(Investigating),
            t(12),
        );
        event("note_added", None, None, t(13));
        if escalated {
            event("transition", Some(Investigating), Some(Escalated), t(14));
            event("transition", Some(Escalated), Some(Investigating), t(26));
        }
        if state != Investigating {
            event(
                "transition",
                Some(Investigating),
                Some(Resolved),
                resolved_at,
            );
        }
        if state == Archived {
            event(
                "transition",
                Some(Resolved),
                Some(Archived),
                resolved_at + chrono::Duration::hours(20),
            );
        }
        if escalated {
            sql.push_str(&format!(
                "INSERT INTO escalations (case_id, target, target_team, reason, tried, findings, created_at, \
                 handed_back_at, closed_at) VALUES ({i}, 'engineering', 'engineering', '主板序列号为空', \
                 '重新导出', '需更换主板', {e}, {h}, {h});\n",
                e = ts(t(14)),
                h = ts(t(26)),
            ));
        }
        sql.push_str(&format!(
            "INSERT INTO sla_clocks (case_id, metric, target_seconds, started_at, due_at, met_at, paused_seconds, \
             created_at) VALUES ({i}, 'first_response', 28800, {c}, {d}, {m}, 0, {c});\n",
            c = ts(created),
            d = ts(t(8)),
            m = ts(t(2)),
        ));
        for (n, (direction, h)) in [("inbound", 0), ("outbound", 2), ("inbound", 10)]
            .into_iter()
            .enumerate()
        {
            sql.push_str(&format!(
                "INSERT INTO messages (case_id, direction, references_ids, from_email, to_addrs, cc_addrs, subject, \
                 received_at, body_text, new_text, auto, thread_method, content_hash, created_at) VALUES \
                 ({i}, '{direction}', '', '{email}', '', '', '激活失败', {at}, '日志已收到 {i}', '日志已收到 {i}', \
                 FALSE, 'new', 'bench-{i}-{n}', {at});\n",
                at = ts(t(h)),
            ));
        }
        if state == Archived {
            sql.push_str(&format!(
                "INSERT INTO case_summaries (case_id, version, body, author_label, messages_at_write, created_at) \
                 VALUES ({i}, 1, '问题定义：\n客户反馈离线激活失败 {i}。\n\n问题范围：\n协助客户分析原因。\n\n\
                 问题进展：\n- 主板序列号为空\n结果：更换主板后激活成功\n\n下一步：\n问题已解决，暂时归档。', \
                 'bench', 3, {});\n",
                ts(resolved_at + chrono::Duration::hours(20)),
            ));
        }
    }
    sql
}

fn time<T>(label: &str, mut f: impl FnMut() -> T) {
    let mut runs: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(f());
            started.elapsed()
        })
        .collect();
    runs.sort();
    println!(
        "{label:<52} median {:>8.2} ms   slowest {:>8.2} ms",
        runs[RUNS / 2].as_secs_f64() * 1000.0,
        runs[RUNS - 1].as_secs_f64() * 1000.0
    );
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = args
        .iter()
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(DEFAULT_CASES);
    let dir = tempfile::tempdir()?;
    let url = args
        .iter()
        .skip_while(|a| *a != "--database-url")
        .nth(1)
        .cloned()
        .unwrap_or_else(|| dir.path().join("bench.db").display().to_string());
    let mut env = std::collections::BTreeMap::new();
    env.insert(
        "CASEBOOK_DATA_DIR".to_string(),
        dir.path().display().to_string(),
    );
    env.insert("CASEBOOK_DATABASE_URL".to_string(), url);
    let config = Config::from_sources(None, &env)?;
    let prepared = casebook::startup::prepare(config)?;
    let calendar = prepared.config.business_hours.clone();
    let mut conn = prepared.pool.get()?;
    let conn: &mut DbConn = &mut conn;

    let started = Instant::now();
    let mut agents = Vec::new();
    for a in 0..10 {
        let user = casebook::auth::User::create(
            conn,
            &format!("agent{a}@cmgos.com"),
            &format!("Agent {a}"),
            casebook::auth::Role::Agent,
            "not-a-hash",
        )?;
        agents.push(user.id);
    }
    let mut rng = Lcg(11);
    let mut first = 1;
    while first <= n {
        let last = (first + CHUNK - 1).min(n);
        let sql = chunk_sql(first, last, &agents, &mut rng);
        casebook::db::write_transaction(conn, |c| c.batch_execute(&sql))?;
        first = last + 1;
    }
    if let DbConn::Postgres(_) = conn {
        conn.batch_execute(
            "SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases)); ANALYZE;",
        )?;
    } else {
        conn.batch_execute("ANALYZE;")?;
    }
    println!(
        "{n} cases ({:?} backend) stored in {:.1} s",
        conn.backend(),
        started.elapsed().as_secs_f64()
    );

    let all = SummaryFilter::default();
    // A key four fifths down the list, as a reader paging far back would hold.
    let deep: (NaiveDateTime, i64) = {
        use casebook::db::schema::cases;
        cases::table
            .filter(cases::closed_at.is_not_null())
            .filter(cases::state.eq_any(["resolved", "archived"]))
            .order((cases::closed_at.desc(), cases::id.desc()))
            .offset((n as i64) * 9 / 10 * 4 / 5)
            .select((cases::closed_at.assume_not_null(), cases::id))
            .first(conn)?
    };
    let deep = Cursor {
        closed_at: deep.0,
        id: deep.1,
    };
    let domain = SummaryFilter {
        customer: Some(CustomerFilter::Domain("customer17.example.com".into())),
        escalated: Some(true),
        ..Default::default()
    };
    let month = SummaryFilter {
        from: NaiveDate::from_ymd_opt(2026, 3, 1),
        to: NaiveDate::from_ymd_opt(2026, 3, 31),
        ..Default::default()
    };
    let agent = SummaryFilter {
        agent: Some(casebook::cases::search::AssigneeFilter::User(agents[3])),
        priority: Some(Priority::Urgent),
        state: Some(CaseState::Archived),
        ..Default::default()
    };
    let text = SummaryFilter {
        customer: Some(CustomerFilter::Text("客户 42".into())),
        ..Default::default()
    };
    let mut page = |filter: &SummaryFilter, after| {
        let rows = summaries::list(conn, filter, after, 25, &calendar)
            .unwrap()
            .rows;
        assert!(!rows.is_empty(), "{filter:?} finds cases");
        rows.len()
    };
    time("first page (25 cases, no filter)", || page(&all, None));
    time("deep page (key 4/5 down the list)", || {
        page(&all, Some(deep))
    });
    time("customer domain + escalated, first page", || {
        page(&domain, None)
    });
    time("closed in one month, first page", || page(&month, None));
    time("agent + priority + archived, first page", || {
        page(&agent, None)
    });
    time("customer name text, first page", || page(&text, None));
    let one = summaries::list(conn, &all, None, 1, &calendar)?
        .rows
        .remove(0)
        .case;
    time("one case's review (manager's case page)", || {
        summaries::review(conn, &one, &calendar).unwrap()
    });
    let started = Instant::now();
    let (rows, more) = summaries::export(conn, &all, summaries::EXPORT_LIMIT, &calendar)?;
    let read = started.elapsed();
    let csv = summaries::views::csv_export(
        &rows,
        more.then_some(summaries::EXPORT_LIMIT),
        casebook::i18n::Lang::ZhCn,
        &calendar,
        calendar.timezone(),
    );
    println!(
        "CSV export of {} cases: read {:.0} ms, formatted {:.0} ms, {} KiB",
        rows.len(),
        read.as_secs_f64() * 1000.0,
        (started.elapsed() - read).as_secs_f64() * 1000.0,
        csv.len() / 1024
    );
    Ok(())
}

//! One SLA definition: the badge on the pages (`SlaClock::status`, through `SlaCondition::holds`) and
//! the case list's SQL filters (`workflow::sla_sql`) agree on running / overdue / due soon / breached /
//! paused for random clocks — started at any hour of any day, paused and resumed, re-targeted, met or
//! not — at random instants and at each clock's own edges, on SQLite and PostgreSQL.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use casebook::auth::{Role, User};
use casebook::cases::Case;
use casebook::cases::model::NewCase;
use casebook::cases::search::{self, AssigneeFilter, CaseQuery, SlaFilter, SortOrder};
use casebook::db::{DbConn, PooledConn};
use casebook::workflow::service::{self, ActorRef, ImportedEvent, SlaRules, StoredClock};
use casebook::workflow::{CaseState, Priority, SlaCondition, sla_sql};
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{BackendKind, TestEnv};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

both_backends_sync!(
    the_badge_and_the_case_list_agree_on_every_sla_condition_for_random_clocks,
    near_breach_instants_missing_from_old_rows_are_filled_as_if_stored_new,
    casebook_migrate_fills_the_near_breach_instants_the_migration_left_empty,
);

/// Cases generated per backend (each with two to four clocks).
const CASES: usize = 150;
/// Random instants at which every clock is judged.
const RANDOM_NOWS: usize = 40;
/// Clocks whose own edges (due, near breach, one second either side) are also judged.
const EDGE_CLOCKS: usize = 40;

fn migrated(env: &TestEnv) -> PooledConn {
    let mut conn = casebook::db::connect_pool(&env.database_url)
        .unwrap()
        .get()
        .unwrap();
    casebook::db::migrate::run_pending(&mut conn).unwrap();
    conn
}

/// Monday 2026-09-14 00:00 in Shanghai (the default business calendar's zone).
fn window_start() -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, 9, 14, 0, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// A whole second within `days` days after `from`, at any hour.
fn instant(rng: &mut StdRng, from: DateTime<Utc>, days: i64) -> DateTime<Utc> {
    from + Duration::seconds(rng.gen_range(0..days * 24 * 3600))
}

fn open_case(conn: &mut DbConn, n: usize, priority: Priority, at: DateTime<Utc>) -> Case {
    Case::create(
        conn,
        &NewCase {
            number: None,
            title: &format!("clock case {n}"),
            state: casebook::workflow::CaseState::New,
            priority,
            customer_email: "li.na@customer.test",
            customer_name: None,
            language: "en",
            duplicate_of_id: None,
            at: at.naive_utc(),
        },
    )
    .unwrap()
}

fn to_state(conn: &mut DbConn, case_id: i64, to: CaseState, at: DateTime<Utc>, rules: &SlaRules) {
    service::record_imported_event(
        conn,
        case_id,
        &ImportedEvent {
            // Any action that leads there: only the state matters to the clocks.
            action: casebook::workflow::transitions::TRANSITIONS
                .iter()
                .find(|t| t.to() == to)
                .expect("a transition into the state")
                .action(),
            from: None,
            to: Some(to),
            actor_label: "history",
            note: None,
            at: Some(at.naive_utc()),
            fields: Default::default(),
        },
        rules,
    )
    .unwrap();
}

/// Opens a case at a random instant and lives through a few random steps: the customer waits or
/// writes, an agent replies or changes the priority, the case is resolved and the customer writes
/// again, the breach sweep runs.
fn random_case(
    conn: &mut DbConn,
    rng: &mut StdRng,
    n: usize,
    agent: &ActorRef,
    rules: &SlaRules,
) -> i64 {
    let mut at = instant(rng, window_start(), 21);
    let priority = Priority::ALL[rng.gen_range(0..Priority::ALL.len())];
    let case = open_case(conn, n, priority, at);
    assert!(service::start_clocks_for_new_case(conn, case.id, priority, at, rules).unwrap());
    for _ in 0..rng.gen_range(0..5) {
        // Minutes to two days later: steps land in the evening, at night and on weekends too.
        at += Duration::seconds(rng.gen_range(60..2 * 24 * 3600));
        match rng.gen_range(0..6) {
            0 => to_state(conn, case.id, CaseState::WaitingOnCustomer, at, rules),
            1 => {
                service::customer_wrote(conn, case.id, at, rules).unwrap();
            }
            2 => {
                service::reply_sent(conn, case.id, at, rules).unwrap();
            }
            3 => {
                let new = Priority::ALL[rng.gen_range(0..Priority::ALL.len())];
                service::set_priority(conn, case.id, agent, new, at, rules).unwrap();
            }
            4 => to_state(conn, case.id, CaseState::Resolved, at, rules),
            _ => {
                service::breach_sweep(conn, at).unwrap();
            }
        }
    }
    case.id
}

fn rust_says(clocks: &[StoredClock], condition: SlaCondition, now: DateTime<Utc>) -> Vec<i64> {
    clocks
        .iter()
        .filter(|s| condition.holds(&s.clock, now))
        .map(|s| s.id)
        .collect()
}

fn case_list(conn: &mut DbConn, filter: SlaFilter, now: DateTime<Utc>) -> BTreeSet<String> {
    let query = CaseQuery {
        state: None,
        assignee: AssigneeFilter::Any,
        text: None,
        page: 1,
        per_page: 10_000,
        priority: None,
        customer: None,
        sla: filter,
        sort: SortOrder::Updated,
        ..Default::default()
    };
    search::list_cases_at(conn, &query, now)
        .unwrap()
        .cases
        .into_iter()
        .map(|c| c.number.to_string())
        .collect()
}

fn the_badge_and_the_case_list_agree_on_every_sla_condition_for_random_clocks(
    backend: BackendKind,
) {
    let Some(env) = TestEnv::new(backend) else {
        return;
    };
    let config = env.config(&[]);
    let rules = SlaRules::from_config(&config);
    let mut conn = migrated(&env);
    let user = User::create(
        &mut conn,
        "agent@casebook.test",
        "Agent",
        Role::Agent,
        "unused",
    )
    .unwrap();
    let agent = ActorRef::User {
        id: user.id,
        name: user.name.clone(),
        role: Role::Agent,
    };
    let mut rng = StdRng::seed_from_u64(20_261_205);
    let case_ids: Vec<i64> = (0..CASES)
        .map(|n| random_case(&mut conn, &mut rng, n, &agent, &rules))
        .collect();
    let mut clocks: Vec<StoredClock> = Vec::new();
    let mut numbers = BTreeMap::new();
    for id in &case_ids {
        clocks.extend(service::clocks(&mut conn, *id).unwrap());
        let case = Case::find_by_id(&mut conn, *id).unwrap().unwrap();
        numbers.insert(*id, case.number.to_string());
    }
    clocks.sort_by_key(|s| s.id);

    let mut nows: Vec<DateTime<Utc>> = (0..RANDOM_NOWS)
        .map(|_| instant(&mut rng, window_start(), 35))
        .collect();
    for _ in 0..EDGE_CLOCKS {
        let clock = &clocks[rng.gen_range(0..clocks.len())].clock;
        let one = Duration::seconds(1);
        nows.extend([clock.due_at, clock.due_at + one]);
        if let Some(near) = clock.near_breach_at {
            nows.extend([near - one, near]);
        }
    }

    let mut seen = [0usize; SlaCondition::ALL.len()];
    for (i, now) in nows.iter().enumerate() {
        for (c, condition) in SlaCondition::ALL.into_iter().enumerate() {
            let expected = rust_says(&clocks, condition, *now);
            let found = sla_sql::clock_ids(&mut conn, condition, *now).unwrap();
            assert_eq!(
                found, expected,
                "{backend:?}: clocks {condition:?} at {now} (SQL left, badge right)"
            );
            seen[c] += expected.len();
        }
        // The case list itself, through its filter, for some of the instants.
        if i % 4 == 0 {
            for (filter, condition) in [
                (SlaFilter::Running, SlaCondition::Running),
                (SlaFilter::Overdue, SlaCondition::Overdue),
                (SlaFilter::DueSoon, SlaCondition::DueSoon),
                (SlaFilter::Breached, SlaCondition::Breached),
            ] {
                let expected: BTreeSet<String> = clocks
                    .iter()
                    .filter(|s| condition.holds(&s.clock, *now))
                    .map(|s| numbers[&s.case_id].clone())
                    .collect();
                assert_eq!(
                    case_list(&mut conn, filter, *now),
                    expected,
                    "{backend:?}: case list sla={filter:?} at {now}"
                );
            }
        }
    }
    // The generated clocks reach every condition, so agreement is not agreement on nothing.
    for (condition, hits) in SlaCondition::ALL.into_iter().zip(seen) {
        assert!(hits > 20, "{condition:?} held only {hits} times");
    }
    // And the old "due within two wall-clock hours" would have disagreed with the badge here: clocks
    // near breach that are due more than two hours of wall time later (over a night or a weekend).
    let far_but_near = nows
        .iter()
        .flat_map(|now| {
            clocks.iter().filter(move |s| {
                SlaCondition::DueSoon.holds(&s.clock, *now)
                    && s.clock.due_at - *now > Duration::hours(2)
            })
        })
        .count();
    assert!(
        far_but_near > 0,
        "the sample includes night and weekend edges"
    );
}

fn near_breach_instants_missing_from_old_rows_are_filled_as_if_stored_new(backend: BackendKind) {
    use casebook::workflow::schema::sla_clocks;
    use diesel::prelude::*;
    let Some(env) = TestEnv::new(backend) else {
        return;
    };
    let config = env.config(&[]);
    let rules = SlaRules::from_config(&config);
    let mut conn = migrated(&env);
    let user = User::create(
        &mut conn,
        "agent@casebook.test",
        "Agent",
        Role::Agent,
        "unused",
    )
    .unwrap();
    let agent = ActorRef::User {
        id: user.id,
        name: user.name.clone(),
        role: Role::Agent,
    };
    let mut rng = StdRng::seed_from_u64(7);
    // More open clocks than one batch of the fix-up.
    let mut ids = Vec::new();
    let mut open = 0;
    while open as i64 <= service::NEAR_BREACH_FILL_BATCH {
        let id = random_case(&mut conn, &mut rng, ids.len(), &agent, &rules);
        ids.push(id);
        let clocks = service::clocks(&mut conn, id).unwrap();
        open += clocks.iter().filter(|s| s.clock.met_at.is_none()).count();
    }
    // Read after all cases exist: a later case's breach sweep also records breaches of earlier ones.
    let before: Vec<StoredClock> = ids
        .iter()
        .flat_map(|id| service::clocks(&mut conn, *id).unwrap())
        .collect();
    // As the migration leaves rows stored before the column existed.
    diesel::update(sla_clocks::table)
        .set(sla_clocks::near_breach_at.eq(None::<chrono::NaiveDateTime>))
        .execute(&mut conn)
        .unwrap();
    let someday = window_start() + Duration::days(60);
    assert!(
        sla_sql::clock_ids(&mut conn, SlaCondition::DueSoon, someday)
            .unwrap()
            .is_empty(),
        "without the instant, nothing is due soon"
    );

    assert_eq!(service::fill_near_breach(&mut conn, &rules).unwrap(), open);
    assert_eq!(
        service::fill_near_breach(&mut conn, &rules).unwrap(),
        0,
        "done once"
    );
    let after: Vec<StoredClock> = ids
        .iter()
        .flat_map(|id| service::clocks(&mut conn, *id).unwrap())
        .collect();
    for (old, new) in before.iter().zip(&after) {
        if old.clock.met_at.is_none() {
            assert_eq!(new, old, "clock {} filled as it was stored new", old.id);
        } else {
            assert_eq!(new.clock.near_breach_at, None, "met clocks are left alone");
        }
    }
}

fn casebook_migrate_fills_the_near_breach_instants_the_migration_left_empty(backend: BackendKind) {
    use casebook::workflow::schema::sla_clocks;
    use diesel::prelude::*;
    let Some(env) = TestEnv::new(backend) else {
        return;
    };
    let config = env.config(&[]);
    let rules = SlaRules::from_config(&config);
    let mut conn = migrated(&env);
    let at = window_start() + Duration::hours(34);
    let case = open_case(&mut conn, 1, Priority::High, at);
    service::start_clocks_for_new_case(&mut conn, case.id, Priority::High, at, &rules).unwrap();
    let stored = service::clocks(&mut conn, case.id).unwrap();
    diesel::update(sla_clocks::table)
        .set(sla_clocks::near_breach_at.eq(None::<chrono::NaiveDateTime>))
        .execute(&mut conn)
        .unwrap();
    drop(conn);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_casebook"))
        .arg("migrate")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.env_vars())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut conn = migrated(&env);
    assert_eq!(service::clocks(&mut conn, case.id).unwrap(), stored);
    assert!(stored.iter().all(|s| s.clock.near_breach_at.is_some()));
}

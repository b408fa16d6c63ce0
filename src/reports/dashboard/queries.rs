//! The dashboard's aggregate queries that are not plain case counts: per-bucket counts, medians and
//! 90th percentiles, SLA clock counts. Each is one statement over an indexed range of the period,
//! joined to `cases` for the scope; none returns more rows than there are buckets or agents.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};

use super::{Distribution, ReportRequest};
use crate::cases::filters::{EventSql, Owner};
use crate::db::DbConn;
use crate::db::schema::cases;
use crate::reports::sql::{Sql, Value, in_scope};
use crate::workflow::schema::sla_clocks;
use crate::workflow::sla::SlaMetric;
use crate::workflow::sla_sql;
use crate::workflow::state::CaseState;

#[derive(QueryableByName)]
struct BucketCount {
    #[diesel(sql_type = BigInt)]
    bucket: i64,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// `CASE WHEN t < ?start[1] THEN 0 … ELSE last END`: the bucket of instant `t` among buckets
/// beginning at `starts` (ascending; rows before the first are excluded by the caller).
fn bucket_of(t: &str, starts: &[NaiveDateTime]) -> Sql {
    // BIGINT: PostgreSQL reads a bare literal as a 4-byte integer.
    let mut sql = Sql::new("CAST(CASE");
    for (i, next) in starts.iter().skip(1).enumerate() {
        sql.push(&format!(" WHEN {t} < "))
            .bind(Value::Time(*next))
            .push(&format!(" THEN {i}"));
    }
    sql.push(&format!(
        " ELSE {} END AS BIGINT)",
        starts.len().saturating_sub(1)
    ));
    sql
}

fn per_bucket(conn: &mut DbConn, sql: &Sql, buckets: usize) -> QueryResult<Vec<i64>> {
    let mut counts = vec![0; buckets];
    for row in sql.load::<BucketCount>(conn)? {
        if let Some(slot) = usize::try_from(row.bucket)
            .ok()
            .and_then(|i| counts.get_mut(i))
        {
            *slot = row.n;
        }
    }
    Ok(counts)
}

/// Cases of the scope opened in each bucket of the period.
pub fn opened_per_bucket(
    conn: &mut DbConn,
    r: &ReportRequest,
    starts: &[NaiveDateTime],
) -> QueryResult<Vec<i64>> {
    let mut sql = Sql::new("SELECT ");
    sql.append(&bucket_of("cases.created_at", starts))
        .push(" AS bucket, COUNT(*) AS n FROM cases WHERE cases.created_at >= ")
        .bind(Value::Time(r.range.start))
        .push(" AND cases.created_at < ")
        .bind(Value::Time(r.range.end))
        .append(&in_scope(&r.scope))
        .push(" GROUP BY 1");
    per_bucket(conn, &sql, starts.len())
}

/// Cases of the scope closed in each bucket of the period (a case closed twice in one bucket
/// counts once, as the case list of that bucket shows it).
pub fn closed_per_bucket(
    conn: &mut DbConn,
    r: &ReportRequest,
    starts: &[NaiveDateTime],
) -> QueryResult<Vec<i64>> {
    let mut sql = Sql::new("SELECT ");
    sql.append(&bucket_of("e.created_at", starts))
        .push(&format!(
            " AS bucket, COUNT(DISTINCT e.case_id) AS n FROM case_events e \
             JOIN cases ON cases.id = e.case_id WHERE {} AND e.created_at >= ",
            EventSql::closing("e")
        ))
        .bind(Value::Time(r.range.start))
        .push(" AND e.created_at < ")
        .bind(Value::Time(r.range.end))
        .append(&in_scope(&r.scope))
        .push(" GROUP BY 1");
    per_bucket(conn, &sql, starts.len())
}

#[derive(QueryableByName)]
struct Percentiles {
    #[diesel(sql_type = Nullable<BigInt>)]
    grp: Option<i64>,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    median: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    p90: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    total: Option<i64>,
}

/// Count, median, 90th percentile and sum of `v` per `grp` over `source` (a query with the
/// columns `grp` and `v`), by nearest rank: the value at position ⌈p·n⌉ in ascending order, so
/// every figure is a duration that occurred. Window functions (SQLite ≥ 3.25, PostgreSQL) keep it
/// one pass; only one row per group comes back.
fn percentiles(conn: &mut DbConn, source: &Sql) -> QueryResult<Vec<Percentiles>> {
    let mut sql = Sql::new(
        "SELECT grp, COUNT(*) AS n, \
         MAX(CASE WHEN rn = (cnt * 50 + 99) / 100 THEN v END) AS median, \
         MAX(CASE WHEN rn = (cnt * 90 + 99) / 100 THEN v END) AS p90, \
         CAST(SUM(v) AS BIGINT) AS total \
         FROM (SELECT grp, v, ROW_NUMBER() OVER (PARTITION BY grp ORDER BY v) AS rn, \
         COUNT(*) OVER (PARTITION BY grp) AS cnt FROM (",
    );
    sql.append(source).push(") src) ranked GROUP BY grp");
    sql.load(conn)
}

fn distribution(p: &Percentiles) -> Distribution {
    Distribution {
        count: p.n,
        median_seconds: p.median,
        p90_seconds: p.p90,
    }
}

/// The business time the scope's `metric` clocks met in the period ran (stored when met), overall
/// or per owner (`by_agent`; `None` is unassigned).
pub fn elapsed(
    conn: &mut DbConn,
    r: &ReportRequest,
    metric: SlaMetric,
    by_agent: bool,
) -> QueryResult<Vec<(Option<i64>, Distribution)>> {
    let grp = if by_agent {
        "cases.assignee_id"
    } else {
        "CAST(0 AS BIGINT)"
    };
    let mut source = Sql::new(&format!(
        "SELECT {grp} AS grp, k.elapsed_seconds AS v FROM sla_clocks k \
         JOIN cases ON cases.id = k.case_id WHERE k.metric = "
    ));
    source
        .bind(Value::Text(metric.as_str().to_string()))
        .push(" AND k.met_at >= ")
        .bind(Value::Time(r.range.start))
        .push(" AND k.met_at < ")
        .bind(Value::Time(r.range.end))
        .push(" AND k.elapsed_seconds IS NOT NULL")
        .append(&in_scope(&r.scope));
    Ok(percentiles(conn, &source)?
        .iter()
        .map(|p| (p.grp, distribution(p)))
        .collect())
}

/// Time spent in escalation (wall-clock seconds) by the escalations of the scope that ended in the
/// period: from the latest transition into `escalated` to the transition out of it. Returns the
/// distribution and the total.
pub fn escalation_spans(conn: &mut DbConn, r: &ReportRequest) -> QueryResult<(Distribution, i64)> {
    let seconds = match conn {
        DbConn::Sqlite(_) => {
            "CAST(ROUND((julianday(x.left_at) - julianday(x.entered_at)) * 86400) AS INTEGER)"
        }
        DbConn::Postgres(_) => "CAST(EXTRACT(EPOCH FROM (x.left_at - x.entered_at)) AS BIGINT)",
    };
    let mut source = Sql::new(&format!(
        "SELECT CAST(0 AS BIGINT) AS grp, {seconds} AS v FROM (\
         SELECT o.created_at AS left_at, (SELECT MAX(i.created_at) FROM case_events i \
         WHERE i.case_id = o.case_id AND {} AND i.created_at <= o.created_at) AS entered_at \
         FROM case_events o JOIN cases ON cases.id = o.case_id WHERE {} AND o.created_at >= ",
        EventSql::into_state("i", CaseState::Escalated),
        EventSql::out_of("o", CaseState::Escalated),
    ));
    source
        .bind(Value::Time(r.range.start))
        .push(" AND o.created_at < ")
        .bind(Value::Time(r.range.end))
        .append(&in_scope(&r.scope))
        .push(") x WHERE x.entered_at IS NOT NULL");
    Ok(percentiles(conn, &source)?
        .first()
        .map(|p| (distribution(p), p.total.unwrap_or(0)))
        .unwrap_or_default())
}

/// The scope's `metric` clocks settled in the period: met on time (`met_at` in it, no breach) and
/// breached (deadline in it, by the one SLA definition of `workflow::sla_sql` at `now`).
pub fn sla_clocks(
    conn: &mut DbConn,
    r: &ReportRequest,
    metric: SlaMetric,
    now: DateTime<Utc>,
) -> QueryResult<(i64, i64)> {
    let (start, end) = (r.range.start, r.range.end);
    let now = sla_sql::stored(now);
    // The scope on the joined case, as `in_scope` writes it in SQL text.
    macro_rules! scoped {
        ($query:expr) => {{
            let mut q = $query
                .inner_join(cases::table)
                .filter(sla_clocks::metric.eq(metric.as_str()))
                .into_boxed();
            match r.scope.assignee {
                None => {}
                Some(Owner::User(id)) => q = q.filter(cases::assignee_id.eq(id)),
                Some(Owner::Nobody) => q = q.filter(cases::assignee_id.is_null()),
            }
            if let Some(p) = r.scope.priority {
                q = q.filter(cases::priority.eq(p.as_str()));
            }
            if let Some(d) = &r.scope.domain {
                q = q.filter(
                    crate::cases::search::lower(cases::customer_email)
                        .like(crate::cases::search::domain_pattern(d))
                        .escape('\\'),
                );
            }
            q
        }};
    }
    let met: i64 = scoped!(sla_clocks::table)
        .filter(sla_clocks::met_at.ge(start))
        .filter(sla_clocks::met_at.lt(end))
        .filter(sla_clocks::breached_at.is_null())
        .filter(sla_clocks::met_at.assume_not_null().le(sla_clocks::due_at))
        .count()
        .get_result(conn)?;
    let breached: i64 = scoped!(sla_clocks::table)
        .filter(sla_clocks::due_at.ge(start))
        .filter(sla_clocks::due_at.lt(end))
        .filter(sla_sql::breached!(now))
        .count()
        .get_result(conn)?;
    Ok((met, breached))
}

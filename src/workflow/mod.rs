//! The support workflow. The pure core — case states and priorities, the one transition table, the case
//! summary draft, business-hours arithmetic and SLA clocks — touches neither the database nor the web.
//! [`service`] persists what the core decides (one transaction and one case event per operation; one
//! file per concern), [`views`] turns its data into what pages show (badges and their CSS classes), and
//! [`routes`] puts it on the case page and the engineering queue.

pub mod business_hours;
pub mod events;
pub mod links;
pub mod merge;
pub mod routes;
pub mod schema;
pub mod service;
pub mod sla;
pub mod sla_sql;
pub mod split;
pub mod state;
pub mod summary;
pub mod transitions;
pub mod views;

pub use business_hours::{BusinessCalendar, BusinessHoursError, TimeOfDay};
pub use sla::{
    ClockPhase, ClockStatus, SlaClock, SlaCondition, SlaConfig, SlaConfigError, SlaMetric,
    SlaTargets, clocks_run_in,
};
pub use state::{CaseState, Priority, StateGroup};
pub use summary::draft_summary;
pub use transitions::{
    Action, Actor, CustomerMail, Requirement, Transition, TransitionError, TransitionInput,
    allowed_from, check, find_by_action,
};

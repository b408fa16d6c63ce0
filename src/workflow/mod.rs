//! The support workflow as pure logic: case states and priorities, the one transition table, the case
//! summary draft, business-hours arithmetic and SLA clocks. Nothing here touches the database or the web;
//! callers persist what these functions decide.

pub mod business_hours;
pub mod sla;
pub mod state;
pub mod summary;
pub mod transitions;

pub use business_hours::{BusinessCalendar, BusinessHoursError, TimeOfDay};
pub use sla::{
    ClockStatus, SlaClock, SlaConfig, SlaConfigError, SlaMetric, SlaTargets, clocks_run_in,
};
pub use state::{CaseState, Priority, StateGroup};
pub use summary::draft_summary;
pub use transitions::{
    Action, Actor, CustomerMail, Requirement, Transition, TransitionError, TransitionInput,
    allowed_from, check, find_by_action,
};

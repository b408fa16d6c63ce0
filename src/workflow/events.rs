//! Typed payloads of case events: one struct per kind, serialised into `case_events.data`, so the
//! timeline, the API and reports read one shape whoever recorded the event (a page, the API, an
//! import). Readers use [`EventData::parse`]; writers [`EventData::to_data`].

use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// An event kind's payload.
pub trait EventData: Serialize + DeserializeOwned {
    /// The `case_events.kind` it belongs to.
    const KIND: &'static str;

    /// The JSON stored in `data`.
    fn to_data(&self) -> String {
        // Serialising plain structs of integers and strings cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads `data` of an event of this kind; `None` for another shape.
    fn parse(data: Option<&str>) -> Option<Self> {
        serde_json::from_str(data?).ok()
    }
}

/// `assigned`: the owner changed from one account (or nobody) to another (or nobody). The event's
/// `note` holds the new owner's name as it was then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assigned {
    /// The previous owner's account id.
    pub from: Option<i64>,
    /// The new owner's account id.
    pub to: Option<i64>,
}

impl EventData for Assigned {
    const KIND: &'static str = super::service::kinds::ASSIGNED;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_payloads_round_trip_in_one_shape() {
        let a = Assigned {
            from: None,
            to: Some(7),
        };
        assert_eq!(a.to_data(), r#"{"from":null,"to":7}"#);
        assert_eq!(Assigned::parse(Some(&a.to_data())), Some(a));
        assert_eq!(Assigned::parse(Some(r#"{"assignee_id":7}"#)), None);
    }
}

//! Events: which rows go to `all`, `validData` and `invalidData`, and their ids.

/// An event kind selected with `--events`, stored by its `event_name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EventKind {
    #[serde(rename = "all")]
    All,
    #[serde(rename = "validData", alias = "valid")]
    Valid,
    #[serde(rename = "invalidData", alias = "invalid")]
    Invalid,
}

impl EventKind {
    /// The `event_name` sent in payloads (Pulter-compatible).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::All => "all",
            EventKind::Valid => "validData",
            EventKind::Invalid => "invalidData",
        }
    }

    pub fn from_name(name: &str) -> Option<EventKind> {
        match name {
            "all" => Some(EventKind::All),
            "valid" | "validData" => Some(EventKind::Valid),
            "invalid" | "invalidData" => Some(EventKind::Invalid),
            _ => None,
        }
    }

    /// Whether a row with this validity belongs to the event.
    pub fn takes(self, valid: bool) -> bool {
        match self {
            EventKind::All => true,
            EventKind::Valid => valid,
            EventKind::Invalid => !valid,
        }
    }
}

/// A new event id (`evt_` + ULID: sortable by creation, no `.`).
pub fn new_event_id() -> String {
    format!("evt_{}", ulid::Ulid::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership() {
        assert!(EventKind::All.takes(false));
        assert!(EventKind::Valid.takes(true) && !EventKind::Valid.takes(false));
        assert!(EventKind::Invalid.takes(false) && !EventKind::Invalid.takes(true));
    }
}

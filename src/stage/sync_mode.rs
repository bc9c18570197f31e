//! Sync modes (valmi's): what each row means to the receiver, and the `__op` rows carry.

/// What each row means to the receiver.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// Send rows as they are
    Append,
    /// Tag every row as an upsert
    Upsert,
    /// Tag every row as a create
    Create,
    /// Tag every row as a delete
    Delete,
    /// Send only what changed since the last delivered push: upserts and deletes
    Mirror,
}

impl SyncMode {
    /// The mode's name, as flags take it and runs store it.
    pub fn name(self) -> &'static str {
        match self {
            SyncMode::Append => "append",
            SyncMode::Upsert => "upsert",
            SyncMode::Create => "create",
            SyncMode::Delete => "delete",
            SyncMode::Mirror => "mirror",
        }
    }
}

impl SyncMode {
    /// The operation every row is tagged with (`__op`); mirror mode tags each row itself.
    pub fn row_op(self) -> Option<&'static str> {
        match self {
            SyncMode::Upsert | SyncMode::Create | SyncMode::Delete => Some(self.name()),
            SyncMode::Append | SyncMode::Mirror => None,
        }
    }
}

//! A job's state, as Clanforge numbers and names it, and what it means for the gate.

/// A Clanforge job state (`jobstateid` / `jobstatename`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Created,
    Pending,
    Queued,
    Running,
    Complete,
    Failed,
    Squashed,
    /// A state this client does not know; it keeps waiting and the deadline bounds it.
    Unknown,
}

/// What a state means for the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Waiting,
    Succeeded,
    Failed,
}

impl JobState {
    pub fn from_id(id: i64) -> Self {
        match id {
            1 => Self::Created,
            2 => Self::Pending,
            3 => Self::Queued,
            4 => Self::Running,
            5 => Self::Complete,
            6 => Self::Failed,
            7 => Self::Squashed,
            _ => Self::Unknown,
        }
    }

    pub fn from_name(name: &str) -> Self {
        match name.trim().to_ascii_lowercase().as_str() {
            "created" => Self::Created,
            "pending" => Self::Pending,
            "queued" => Self::Queued,
            "running" => Self::Running,
            "complete" | "completed" => Self::Complete,
            "failed" => Self::Failed,
            "squashed" => Self::Squashed,
            _ => Self::Unknown,
        }
    }

    /// How far along a job in this state is: Created < Pending < Queued < Running < the end.
    pub fn order(self) -> u8 {
        match self {
            Self::Created => 1,
            Self::Pending => 2,
            Self::Queued => 3,
            Self::Running | Self::Unknown => 4,
            Self::Complete | Self::Failed | Self::Squashed => 5,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Created => "Created",
            Self::Pending => "Pending",
            Self::Queued => "Queued",
            Self::Running => "Running",
            Self::Complete => "Complete",
            Self::Failed => "Failed",
            Self::Squashed => "Squashed",
            Self::Unknown => "Unknown",
        }
    }

    /// An unknown state keeps the gate waiting: it is most likely a new intermediate state, and
    /// the deadline bounds the wait either way.
    pub fn phase(self) -> Phase {
        match self {
            Self::Created | Self::Pending | Self::Queued | Self::Running | Self::Unknown => {
                Phase::Waiting
            }
            Self::Complete => Phase::Succeeded,
            Self::Failed | Self::Squashed => Phase::Failed,
        }
    }
}

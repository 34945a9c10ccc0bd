//! The operations: what a person (through the CLI) or the daemon (on schedule) does with the
//! system. Each operation reads what it needs through `store`, decides with the pure core
//! (`rules`, `draw`, `lifecycle`, `calendar`), records through `store` and publishes through
//! `publish`. The CLI only parses arguments and prints; the daemon only decides when.

pub mod accounts;
pub mod attachments;
pub mod audit;
pub mod backup;
pub mod doctor;
pub mod draw;
pub mod import;
pub mod init;
pub mod jobs;
pub mod notices;
pub mod plan;
pub mod rehearsal;
pub mod report;
pub mod site;
pub mod sso;
pub mod status;
pub mod task;

use crate::clock::Clock;
use crate::config::Settings;
use crate::store::{Store, StoreError};

/// Who acts, when, and against what.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub store: &'a Store,
    pub settings: &'a Settings,
    pub clock: &'a dyn Clock,
    pub actor: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The request cannot be granted as asked: bad input, or the rules refuse it (exit 2).
    #[error("{0}")]
    Invalid(String),
    /// As `Invalid`, said in Chinese too (what the console shows).
    #[error(transparent)]
    Refused(crate::text::Refusal),
    /// Not yet: the world has not provided something (the seed, a beacon round). Also exit 2
    /// for a person; the daemon waits and looks again.
    #[error("{0}")]
    NotYet(String),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Publish(#[from] crate::publish::PublishError),
    #[error(transparent)]
    Calendar(#[from] crate::calendar::CalendarError),
    /// Something that should not happen did (exit 1).
    #[error("{0}")]
    Internal(String),
}

impl OpsError {
    /// What a person is told when the request is refused (in Chinese where it has been
    /// said in Chinese); none for a fault of the system.
    pub fn refusal(&self) -> Option<&str> {
        match self {
            OpsError::Invalid(m) | OpsError::NotYet(m) => Some(m),
            OpsError::Refused(r) => Some(&r.zh),
            _ => None,
        }
    }
}

impl From<StoreError> for OpsError {
    fn from(e: StoreError) -> Self {
        match e {
            e @ (StoreError::AlreadyFrozen(_)
            | StoreError::AlreadyDrawn(_)
            | StoreError::NotFound(_)
            | StoreError::Refused(_)
            | StoreError::Url(_)) => OpsError::Invalid(e.to_string()),
            e => OpsError::Store(e),
        }
    }
}

impl From<crate::draw::DrawError> for OpsError {
    fn from(e: crate::draw::DrawError) -> Self {
        match e {
            crate::draw::DrawError::Document(d) => OpsError::Internal(d),
            e => OpsError::Invalid(e.to_string()),
        }
    }
}

pub type Result<T> = std::result::Result<T, OpsError>;

pub fn invalid<T>(msg: impl Into<String>) -> Result<T> {
    Err(OpsError::Invalid(msg.into()))
}

/// Refused, in English and in Chinese.
pub fn refused<T>(en: impl Into<String>, zh: impl Into<String>) -> Result<T> {
    Err(OpsError::Refused(crate::text::Refusal::new(en, zh)))
}

/// What people read instead of the codes the store keeps: division, agency and municipal unit
/// names from the configured vocabulary (a code the vocabulary lacks is shown as it is).
pub struct Labels {
    vocab: crate::vocab::Vocabulary,
}

impl Labels {
    pub fn of(settings: &Settings) -> Result<Labels> {
        Ok(Labels {
            vocab: settings
                .vocabulary()
                .map_err(|e| OpsError::Invalid(e.to_string()))?,
        })
    }
    pub fn division(&self, code: &str) -> String {
        self.vocab
            .division(code)
            .map_or_else(|| code.to_string(), |d| d.label.clone())
    }
    pub fn agency(&self, code: &str) -> String {
        self.vocab
            .agency(code)
            .map_or_else(|| code.to_string(), |a| a.label.clone())
    }
    pub fn city(&self, code: &str) -> String {
        self.vocab
            .unit(code)
            .map_or_else(|| code.to_string(), |u| u.name.to_string())
    }
    pub fn department(&self) -> &str {
        &self.vocab.department().label
    }
}

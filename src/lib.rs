//! suiji (随机): publicly verifiable random safety inspections (双随机、一公开).
//!
//! See `ARCHITECTURE.md` for the map of modules and the rules they keep.

pub mod accounts;
pub mod attachment;
pub mod audit;
pub mod beacon;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod console;
pub mod daemon;
pub mod demo;
pub mod der;
pub mod draw;
pub mod failpoint;
pub mod import;
pub mod instance;
pub mod jobs;
pub mod lifecycle;
pub mod lock;
pub mod notify;
pub mod ops;
pub mod plan;
pub mod population;
pub mod publish;
pub mod registry;
pub mod rules;
pub mod schedule;
pub mod sheet;
pub mod sso;
pub mod store;
pub mod text;
pub mod timestamp;
pub mod tls;
pub mod uscc;
pub mod vocab;

/// What `suiji --version` says: the version, the commit it was built from and the draw specs it
/// writes (every verifier names the spec of the documents it checks).
pub fn version() -> String {
    format!(
        "{} (commit {}; draws {}, and {} for plans with yearly caps)",
        env!("CARGO_PKG_VERSION"),
        env!("BUILT_FROM_COMMIT"),
        draw::SPEC,
        draw::SPEC_V5
    )
}

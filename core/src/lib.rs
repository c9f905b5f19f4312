#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod audit;
pub mod billing;
pub mod bundle;
pub mod checklist;
pub mod decode;
pub mod evidence;
pub mod forecast;
pub mod guard;
pub mod packet;
pub mod records;
pub mod registry;
pub mod render;
pub mod report;
pub mod review;
pub mod rules;
pub mod scan;
pub mod stage;
pub mod starter;
pub mod store;
pub mod tree;
pub mod validate;

pub use audit::Origin;
pub use guard::{Guards, QuotaChange, RejectReason, Rejection, ScopeIssue, Snapshot, UsageEvent};
pub use jiff::Timestamp;
pub use jiff::civil::Date;
pub use packet::{Format, Packet, ParseError, json_schema};
pub use records::Records;
pub use registry::{Entry, Kind, Registry, RegistryError, State};
pub use report::{Finding, Progress, Report, Severity, StageStatus, Suggestion};
pub use semver::Version;
pub use stage::Stage;
pub use starter::starter_packet;
pub use store::{Store, StoreError};
pub use tree::Limits;
pub use validate::{progress, progress_with, validate, validate_with};

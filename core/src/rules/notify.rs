//! `notify.*`: notification templates come from the platform template registry.

use super::{Check, Rule};
use crate::registry::Kind;
use crate::report::Severity;
use crate::stage::Stage;

/// A notification template is not in the platform template registry.
pub static TEMPLATE_UNREGISTERED: Rule = Rule {
    code: "notify.template_unregistered",
    stage: Stage::Registry,
    severity: Severity::Error,
    summary: "a notification template is not in the platform template registry",
    check: Check::Registry(|ctx, reg, out| super::unregistered(ctx, reg, out, Kind::NotificationTemplate, |_| false)),
};

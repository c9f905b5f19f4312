//! The eight execution stages of seed 000 and how a lifecycle state selects one.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// One execution stage. Stages are ordered: validating at a stage checks every
/// requirement of that stage and of all stages before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// 0. Product identity, owners, personas, exposure.
    Intake,
    /// 1. Package, route, schema, event and frontend ownership rows.
    Ownership,
    /// 2. Registry entries for everything the packet names.
    Registry,
    /// 3. API/event contracts and contract tests.
    Contracts,
    /// 4. Shared-service integration without product-owned forks.
    PlatformServices,
    /// 5. UAT and release evidence.
    UatEvidence,
    /// 6. Portal pages with sources and freshness owners.
    Portal,
    /// 7. Keep/split/extract posture.
    Extraction,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 8] = [
        Stage::Intake,
        Stage::Ownership,
        Stage::Registry,
        Stage::Contracts,
        Stage::PlatformServices,
        Stage::UatEvidence,
        Stage::Portal,
        Stage::Extraction,
    ];

    /// The stable id used in reports and on the command line.
    pub fn id(self) -> &'static str {
        match self {
            Stage::Intake => "intake",
            Stage::Ownership => "ownership",
            Stage::Registry => "registry",
            Stage::Contracts => "contracts",
            Stage::PlatformServices => "platform_services",
            Stage::UatEvidence => "uat_evidence",
            Stage::Portal => "portal",
            Stage::Extraction => "extraction",
        }
    }

    /// The stage's number, 0 to 7.
    pub fn number(self) -> u8 {
        match self {
            Stage::Intake => 0,
            Stage::Ownership => 1,
            Stage::Registry => 2,
            Stage::Contracts => 3,
            Stage::PlatformServices => 4,
            Stage::UatEvidence => 5,
            Stage::Portal => 6,
            Stage::Extraction => 7,
        }
    }

    /// What the stage's exit gate checks, for people.
    pub fn gate(self) -> &'static str {
        match self {
            Stage::Intake => "product identity, owners, personas and exposure are recorded",
            Stage::Ownership => "every package path and route prefix has exactly one owner",
            Stage::Registry => "everything the packet names exists in the registry",
            Stage::Contracts => "events have producers and consumers; contract tests exist or are tracked",
            Stage::PlatformServices => "every shared-service section is complete, with no product-owned fork",
            Stage::UatEvidence => {
                "smoke tests, a release evidence bundle, a rollback posture, the stage-5 evidence and every review sign-off exist"
            }
            Stage::Portal => "every required page has a source and a freshness owner, or a tracked doc gap",
            Stage::Extraction => {
                "no split or extraction without service auth, degradation, rollback and smoke evidence"
            }
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A stage id that is not one of the eight.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown stage `{0}`; expected one of intake, ownership, registry, contracts, platform_services, uat_evidence, portal, extraction"
)]
pub struct UnknownStage(pub String);

impl FromStr for Stage {
    type Err = UnknownStage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stage::ALL
            .into_iter()
            .find(|st| st.id() == s || st.number().to_string() == s)
            .ok_or_else(|| UnknownStage(s.to_owned()))
    }
}

impl Serialize for Stage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_order() {
        for (i, st) in Stage::ALL.into_iter().enumerate() {
            assert_eq!(st.id().parse::<Stage>().unwrap(), st);
            assert_eq!(usize::from(st.number()), i);
        }
        assert!(Stage::Intake < Stage::Extraction);
        assert!("launch".parse::<Stage>().is_err());
    }
}

//! The validation engine: runs every rule due at a stage and builds the report.

use jiff::civil::Date;

use crate::Records;
use crate::decode::Field;
use crate::packet::{Lifecycle, Packet, ROOT_PTR};
use crate::registry::Registry;
use crate::report::{Finding, Progress, Report, Severity, StageStatus};
use crate::rules::{Check, Ctx, Out, RULES};
use crate::stage::Stage;

/// The stage a lifecycle state asks for when no stage is given: `draft` →
/// `intake`, `onboarding` → `platform_services`, later states → `extraction`.
pub fn default_stage(lifecycle: Option<Lifecycle>) -> Stage {
    match lifecycle {
        None | Some(Lifecycle::Draft) => Stage::Intake,
        Some(Lifecycle::Onboarding) => Stage::PlatformServices,
        Some(Lifecycle::Active | Lifecycle::Deprecated | Lifecycle::Retired) => Stage::Extraction,
    }
}

/// The stage `validate` uses for `packet` when none is given.
pub fn stage_for(packet: &Packet) -> Stage {
    default_stage(packet.body().and_then(|b| b.lifecycle_state.value().copied()))
}

/// Validates `packet` at `stage` (or the stage its lifecycle selects) on `as_of`,
/// reporting every requirement of stages `0..=stage`.
///
/// Without records (sign-offs and evidence), a stage from `uat_evidence` on reports
/// `records.unavailable` once: use [`validate_with`] to give them.
pub fn validate(packet: &Packet, registry: Option<&Registry>, stage: Option<Stage>, as_of: Date) -> Report {
    validate_with(packet, registry, None, stage, as_of)
}

/// [`validate`] with the records kept beside the packet (review sign-offs and
/// stage-5 evidence), which `review.missing` and `evidence.missing` judge.
pub fn validate_with(
    packet: &Packet,
    registry: Option<&Registry>,
    records: Option<&Records>,
    stage: Option<Stage>,
    as_of: Date,
) -> Report {
    let target = stage.unwrap_or_else(|| stage_for(packet));
    let findings = findings_at(packet, registry, records, target, as_of);
    Report::new(packet.packet_id().map(str::to_owned), target, as_of, findings)
}

/// The report for a document that could not be read at all.
pub fn unreadable(error: &crate::packet::ParseError, stage: Option<Stage>, as_of: Date) -> Report {
    Report::new(None, stage.unwrap_or(Stage::Intake), as_of, vec![error.finding()])
}

/// The progress of a document that could not be read at all: intake is blocked by
/// its `packet.parse` finding and no later stage can be judged.
pub fn unreadable_progress(error: &crate::packet::ParseError, as_of: Date) -> Progress {
    let stages: Vec<StageStatus> = Stage::ALL
        .into_iter()
        .map(|stage| {
            let own: Vec<Finding> = if stage == Stage::Intake {
                vec![error.finding()]
            } else {
                Vec::new()
            };
            StageStatus {
                stage,
                ok: own.is_empty(),
                errors: own.len(),
                warnings: 0,
                findings: own,
            }
        })
        .collect();
    Progress {
        packet_id: None,
        as_of,
        first_blocked: Some(Stage::Intake),
        stages,
    }
}

fn findings_at(
    packet: &Packet,
    registry: Option<&Registry>,
    records: Option<&Records>,
    target: Stage,
    as_of: Date,
) -> Vec<Finding> {
    let mut findings: Vec<Finding> = packet.structural_findings().to_vec();
    packet.check_required(target, &mut findings);
    let Some(body) = packet.body() else {
        return findings;
    };
    // Records of another packet are not this packet's records.
    let foreign = records
        .and_then(|r| r.packet_id.as_deref())
        .filter(|id| packet.packet_id().is_some_and(|own| own != *id));
    let records = if foreign.is_some() { None } else { records };
    let ctx = Ctx::new(packet, body, registry, as_of, target);
    for rule in RULES.iter().copied().filter(|r| r.stage <= target) {
        let mut out = Out::new(rule, &mut findings);
        match (rule.check, registry) {
            (Check::Packet(f), _) => f(&ctx, &mut out),
            (Check::Registry(f), Some(reg)) => f(&ctx, reg, &mut out),
            (Check::Records(f), _) => {
                if let Some(r) = records {
                    f(&ctx, r, &mut out);
                }
            }
            _ => {}
        }
    }
    if records.is_none() && target >= Stage::UatEvidence {
        findings.push(Finding::new(
            "records.unavailable",
            Severity::Error,
            Stage::UatEvidence,
            ROOT_PTR,
            body.pos,
            match foreign {
                Some(other) => format!("stage {target} needs the review sign-offs and stage-5 evidence recorded for this packet, but the records given are for `{other}`; pass this packet's records"),
                None => format!("stage {target} needs the review sign-offs and stage-5 evidence recorded for this packet, but none were given; pass them (--records FILE or --db STORE)"),
            },
        ));
    }
    if registry.is_none() && target >= Stage::Registry {
        findings.push(Finding::new(
            "registry.unavailable",
            Severity::Error,
            Stage::Registry,
            ROOT_PTR,
            body.pos,
            format!("stage {target} checks the packet against the registry, but no registry was given; pass one (--registry FILE or --db STORE)"),
        ));
    }
    findings.retain(|f| f.stage <= target && !excepted(body, f, as_of));
    findings
}

/// True when an approved, unexpired exception covers `f` (same rule code, at the
/// exception's ref or below). Structural codes (`packet.*`) cannot be excepted.
fn excepted(body: &crate::packet::Body, f: &Finding, as_of: Date) -> bool {
    if !crate::rules::exceptable(f.code) {
        return false;
    }
    body.exceptions
        .value()
        .into_iter()
        .flatten()
        .filter_map(Field::value)
        .any(|e| {
            e.rule.value().is_some_and(|r| r == f.code)
                && e.approved_by.value().is_some_and(|a| !a.trim().is_empty())
                && e.expires.value().is_some_and(|d| *d >= as_of)
                && e.r#ref.value().is_some_and(|r| {
                    f.path == *r || (f.path.starts_with(r.as_str()) && f.path.as_bytes().get(r.len()) == Some(&b'/'))
                })
        })
}

/// Evaluates all eight stages and names the first blocked one. Each stage lists the
/// findings that belong to it.
///
/// Without records, `uat_evidence` is blocked by `records.unavailable`: use
/// [`progress_with`] to give them.
pub fn progress(packet: &Packet, registry: Option<&Registry>, as_of: Date) -> Progress {
    progress_with(packet, registry, None, as_of)
}

/// [`progress`] with the records kept beside the packet.
pub fn progress_with(packet: &Packet, registry: Option<&Registry>, records: Option<&Records>, as_of: Date) -> Progress {
    let all = Report::new(
        None,
        Stage::Extraction,
        as_of,
        findings_at(packet, registry, records, Stage::Extraction, as_of),
    );
    let stages: Vec<StageStatus> = Stage::ALL
        .into_iter()
        .map(|stage| {
            // A stage's own findings, as validating at that stage reports them (some
            // rules depend on the stage asked, e.g. exposure past `registry`).
            let own: Vec<Finding> = if stage == Stage::Extraction {
                all.findings.iter().filter(|f| f.stage == stage).cloned().collect()
            } else {
                let mut at = findings_at(packet, registry, records, stage, as_of);
                at.retain(|f| f.stage == stage);
                crate::report::sort_findings(&mut at);
                at
            };
            let errors = own.iter().filter(|f| f.is_error()).count();
            StageStatus {
                stage,
                ok: errors == 0,
                errors,
                warnings: own.len() - errors,
                findings: own,
            }
        })
        .collect();
    Progress {
        packet_id: packet.packet_id().map(str::to_owned),
        as_of,
        first_blocked: stages.iter().find(|s| !s.ok).map(|s| s.stage),
        stages,
    }
}

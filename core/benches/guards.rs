//! Benchmarks of the run-time guards (SPEC §5: a guard lookup under 100 ns), against
//! the complete example's registry padded to 10,000 entries, with the complete
//! example's packet for the product facts.
//!
//! Run with `cargo bench -p gangway --bench guards` (add `-- --quick` for a short run).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gangway::guard::{Guards, QuotaChange, Snapshot, UsageEvent};
mod common;

use common::big_registry;
use gangway::Packet;
use gangway::registry::parse_version;

const COMPLETE_PACKET: &str = include_str!("../../examples/token-factory-complete/packet.yaml");
const COMPLETE_REGISTRY: &str = include_str!("../../examples/token-factory-complete/registry.yaml");

fn guards(c: &mut Criterion) {
    let (Some(registry), Ok(packet), Some(v1)) = (
        big_registry(COMPLETE_REGISTRY),
        Packet::from_yaml(COMPLETE_PACKET),
        parse_version("v1"),
    ) else {
        eprintln!("note: the benchmark inputs do not load; skipped");
        return;
    };
    let guards = Guards::new(Snapshot::new(registry, &[&packet]));
    let snapshot = guards.snapshot();
    let at = jiff::Timestamp::UNIX_EPOCH;
    let accepted = UsageEvent {
        product: "token-factory",
        unit: "token_output",
        version: &v1,
        quantity: 1_250,
        resource_type: "model_endpoint",
        tenant: "tenant-acme",
        idempotency_key: "req-01JD3Y8TKS7W9E8M2C",
        at,
    };
    // Fails at the last check (the resource type), so it pays for every lookup.
    let rejected = UsageEvent {
        resource_type: "filler.resource_type.4",
        ..accepted
    };
    if snapshot.accept_usage(black_box(&accepted)).is_err() || snapshot.accept_usage(black_box(&rejected)).is_ok() {
        eprintln!("note: the benchmark events do not behave as expected; skipped");
        return;
    }
    // Two active scopes and a deprecated one (reported, so the result allocates).
    let scopes = [
        "token_factory:model:invoke",
        "token_factory:usage:read",
        "app_platform:app:legacy_deploy",
    ];
    let active_scopes = [
        "token_factory:model:invoke",
        "token_factory:usage:read",
        "token_factory:key:manage",
    ];
    let quota = QuotaChange {
        product: "token-factory",
        snapshot_kind: Some("product_quota"),
        dimension: Some("token_per_day"),
        parent_scope: Some("token_factory:usage:read"),
        override_scope: Some("token_factory:key:manage"),
    };

    let mut group = c.benchmark_group("guard");
    group.bench_function("is_visible", |b| {
        b.iter(|| snapshot.is_visible(black_box("token-factory"), black_box(false)))
    });
    group.bench_function("accept_usage/accept", |b| {
        b.iter(|| snapshot.accept_usage(black_box(&accepted)))
    });
    group.bench_function("accept_usage/reject", |b| {
        b.iter(|| snapshot.accept_usage(black_box(&rejected)))
    });
    group.bench_function("check_scopes/3", |b| {
        b.iter(|| snapshot.check_scopes(black_box(&scopes)))
    });
    group.bench_function("check_scopes/3-active", |b| {
        b.iter(|| snapshot.check_scopes(black_box(&active_scopes)))
    });
    group.bench_function("check_quota_write", |b| {
        b.iter(|| snapshot.check_quota_write(black_box(&quota)))
    });
    // Through `Guards` (an atomic load of the current snapshot per call).
    group.bench_function("guards/accept_usage", |b| {
        b.iter(|| guards.accept_usage(black_box(&accepted)))
    });
    group.bench_function("guards/snapshot", |b| b.iter(|| guards.snapshot()));
    group.finish();
}

criterion_group!(benches, guards);
criterion_main!(benches);

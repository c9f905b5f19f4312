//! The guards on the complete example: what they accept and refuse, that the accept
//! path allocates nothing (a counting global allocator, `allocation-counter`, measures
//! this thread's allocations), and that a swap is seen by readers on other threads.
// Test helpers outside #[test] functions: clippy.toml's allow-in-tests does not reach them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use gangway::guard::{Guards, QuotaChange, RejectReason, Snapshot, UsageEvent};
use gangway::registry::parse_version;
use gangway::{Kind, Packet, Registry};

const PACKET: &str = include_str!("../../examples/token-factory-complete/packet.yaml");
const REGISTRY: &str = include_str!("../../examples/token-factory-complete/registry.yaml");

fn snapshot() -> Snapshot {
    let packet = Packet::from_yaml(PACKET).unwrap();
    Snapshot::new(Registry::from_yaml(REGISTRY).unwrap(), &[&packet])
}

fn event(version: &semver::Version) -> UsageEvent<'_> {
    UsageEvent {
        product: "token-factory",
        unit: "token_input",
        version,
        quantity: 512,
        resource_type: "model_endpoint",
        tenant: "tenant-acme",
        idempotency_key: "req-01JD3Y8TKS7W9E8M2C",
        at: "2026-11-22T10:00:00Z".parse().unwrap(),
    }
}

#[test]
fn accept_path_allocates_nothing() {
    let snapshot = snapshot();
    let v1 = parse_version("v1").unwrap();
    let v7 = parse_version("v7").unwrap();
    let accepted = event(&v1);
    let rejections = [
        UsageEvent {
            quantity: 0,
            ..accepted
        },
        UsageEvent {
            product: "app-platform",
            ..accepted
        },
        UsageEvent {
            product: "nope",
            ..accepted
        },
        UsageEvent {
            version: &v7,
            ..accepted
        },
        UsageEvent {
            unit: "app_instance_hour",
            ..accepted
        },
        UsageEvent {
            resource_type: "gpu_hour",
            ..accepted
        },
    ];
    // Warm up anything lazily initialised, outside the measurement.
    assert_eq!(snapshot.accept_usage(&accepted), Ok(()));
    for r in &rejections {
        assert!(snapshot.accept_usage(r).is_err(), "{r:?}");
    }

    let info = allocation_counter::measure(|| {
        for _ in 0..100 {
            assert!(std::hint::black_box(snapshot.accept_usage(std::hint::black_box(&accepted))).is_ok());
        }
    });
    assert_eq!(info.count_total, 0, "accepting a usage event allocated: {info:?}");

    for r in &rejections {
        let info = allocation_counter::measure(|| {
            assert!(std::hint::black_box(snapshot.accept_usage(std::hint::black_box(r))).is_err());
        });
        assert_eq!(info.count_total, 0, "rejecting {r:?} allocated: {info:?}");
    }

    // Through `Guards` too (the atomic load of the current snapshot). arc-swap gives
    // each thread its own slot list on first use: warm it up first.
    let guards = Guards::new(snapshot);
    assert!(guards.is_visible("token-factory", false));
    let info = allocation_counter::measure(|| {
        assert!(guards.accept_usage(&accepted).is_ok());
        assert!(guards.is_visible("token-factory", false));
        let held = guards.snapshot();
        assert!(held.accept_usage(&rejections[0]).is_err());
    });
    assert_eq!(info.count_total, 0, "the guards allocated: {info:?}");
}

#[test]
fn the_complete_example_bills_and_refuses() {
    let s = snapshot();
    let v1 = parse_version("v1").unwrap();
    let ok = event(&v1);
    assert_eq!(s.accept_usage(&ok), Ok(()));
    // App Platform has a registry entry but no packet: its posture is unknown.
    let err = s
        .accept_usage(&UsageEvent {
            product: "app-platform",
            unit: "app_instance_hour",
            ..ok
        })
        .unwrap_err();
    assert_eq!(
        (err.code, err.field, err.reason),
        ("billing.rating_rule_required", "product", RejectReason::NoPacket)
    );
    // A registered unit that Token Factory's packet does not list.
    let err = s
        .accept_usage(&UsageEvent {
            unit: "app_instance_hour",
            ..ok
        })
        .unwrap_err();
    assert_eq!(
        (err.code, err.reason),
        (
            "billing.usage_unit_unregistered",
            RejectReason::NotListed(Kind::UsageUnit)
        )
    );
    assert!(
        err.to_string().starts_with("billing.usage_unit_unregistered: "),
        "{err}"
    );

    assert!(
        s.check_scopes(&["token_factory:model:invoke", "token_factory:key:manage"])
            .is_empty()
    );
    let issues = s.check_scopes(&["app_platform:app:legacy_deploy", "token_factory:batch:submit"]);
    let codes: Vec<&str> = issues.iter().map(|i| i.code).collect();
    assert_eq!(codes, ["registry.entry_deprecated", "iam.scope_unregistered"]);

    let quota = QuotaChange {
        product: "token-factory",
        snapshot_kind: Some("api_key_limit"),
        dimension: Some("request_per_minute"),
        parent_scope: Some("token_factory:usage:read"),
        override_scope: Some("token_factory:key:manage"),
    };
    assert_eq!(s.check_quota_write(&quota), Ok(()));
    let err = s
        .check_quota_write(&QuotaChange {
            parent_scope: None,
            ..quota
        })
        .unwrap_err();
    assert_eq!((err.code, err.field), ("quota.incomplete", "parent_scope"));
}

#[test]
fn readers_see_a_swap() {
    let guards = Arc::new(Guards::new(Snapshot::new(Registry::new(), &[])));
    let reader = {
        let guards = Arc::clone(&guards);
        std::thread::spawn(move || {
            let start = std::time::Instant::now();
            while !guards.is_visible("token-factory", false) {
                assert!(start.elapsed().as_secs() < 10, "the swap was never seen");
                std::thread::yield_now();
            }
        })
    };
    guards.swap(snapshot());
    reader.join().unwrap();
    assert!(guards.snapshot().is_visible("token-factory", false));
}

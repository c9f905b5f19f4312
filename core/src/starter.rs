//! The starter packet `gangway init` writes: every section, with TODO markers.
//!
//! Empty values read as absent, so a fresh starter fails closed: each TODO left
//! unfilled is a `packet.missing` finding once its stage is due.

use crate::rules::iam::namespace;

const TEMPLATE: &str = include_str!("starter.yaml");

/// The starter packet for a product slug (lowercase kebab-case).
pub fn starter_packet(slug: &str) -> String {
    TEMPLATE.replace("{slug}", slug).replace("{ns}", &namespace(slug))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Date, Packet, Stage, validate};

    #[test]
    fn starter_parses_and_fails_closed() {
        let text = starter_packet("demo-product");
        let p = Packet::from_yaml(&text).unwrap();
        assert!(p.structural_findings().is_empty(), "{:?}", p.structural_findings());
        let r = validate(&p, None, Some(Stage::Intake), Date::constant(2026, 11, 22));
        assert!(!r.ok);
        assert!(
            r.findings.iter().all(|f| f.code == "packet.missing"),
            "{:#?}",
            r.findings
        );
    }
}

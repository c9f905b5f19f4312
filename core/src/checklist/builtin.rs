//! The built-in checklist templates (SPEC §2.8), embedded YAML by id:
//!
//! - `assisted-public-launch` (seed 001): the seven sections of the assisted public
//!   launch checklist, with the health and auth probes and the token → enqueue → poll →
//!   results flow against the seed-001 API, and its exit criteria;
//! - `customer-onboarding` (seed 002): phases A–E with their steps, deliverables and exit
//!   criteria, the must-have product requirements, and the definition of done;
//! - `product-onboarding` (seed 000): the eight execution stages as stage gates and the
//!   review matrix as review gates (one per role, decided by the recorded sign-offs).
//!
//! `docs/checklists.md` ("Built-in templates") describes their parameters and secrets.
//!
//! ```
//! use gangway::checklist::builtin;
//!
//! assert_eq!(builtin::ids(), ["assisted-public-launch", "customer-onboarding", "product-onboarding"]);
//! let launch = builtin::template("assisted-public-launch").ok_or("no such template")?;
//! assert_eq!(launch.sections.len(), 7);
//! assert!(builtin::template("self-serve").is_none());
//! # Ok::<(), &str>(())
//! ```

use super::template::Template;

/// The built-in templates' ids, in order.
const IDS: [&str; 3] = ["assisted-public-launch", "customer-onboarding", "product-onboarding"];

/// Each built-in's id and YAML text.
const SOURCES: [(&str, &str); 3] = [
    (
        "assisted-public-launch",
        include_str!("templates/assisted-public-launch.yaml"),
    ),
    (
        "customer-onboarding",
        include_str!("templates/customer-onboarding.yaml"),
    ),
    ("product-onboarding", include_str!("templates/product-onboarding.yaml")),
];

/// The ids of the built-in templates, sorted.
pub fn ids() -> &'static [&'static str] {
    &IDS
}

/// The YAML text of the built-in template `id`, or `None` for an unknown id.
pub fn source(id: &str) -> Option<&'static str> {
    SOURCES.iter().find(|(name, _)| *name == id).map(|(_, text)| *text)
}

/// The built-in template `id`, read; `None` for an unknown id.
///
/// Every built-in reads without problems (the tests check it), so `None` means only
/// that no built-in has this id.
pub fn template(id: &str) -> Option<Template> {
    read(id)?.ok()
}

/// The built-in `id` read, with its problems if it fails to (a bug the tests catch).
fn read(id: &str) -> Option<Result<Template, super::template::TemplateError>> {
    source(id).map(Template::from_yaml)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_reads_and_is_named_by_its_id() {
        assert_eq!(ids().len(), SOURCES.len());
        for (id, (name, _)) in ids().iter().zip(SOURCES.iter()) {
            assert_eq!(id, name);
            let read = read(id).unwrap_or_else(|| panic!("no source for `{id}`"));
            let t = read.unwrap_or_else(|e| panic!("built-in `{id}` does not read: {}", e.to_json()));
            assert_eq!(t.id, *id);
            assert_eq!(template(id).as_ref(), Some(&t));
        }
        assert!(source("nope").is_none());
        assert!(template("").is_none());
        let mut sorted = ids().to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, ids());
    }
}

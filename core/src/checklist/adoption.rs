//! Adoption metrics (seed 002 §4): weekly rows evaluated against thresholds, the
//! permission-error trend, and the number of weeks the product has been the primary
//! tool (the "≥ 2 weeks" of the seed's definition of done).
//!
//! Definitions (the seed gives examples; these make them precise):
//!
//! - **Coverage** of a week is `shifts_recorded / shifts_in_scope`. Week 1 passes at
//!   `week1_min_percent` (default 60); every later week at `later_min_percent`
//!   (default 85; the seed names weeks 2–3, and later weeks keep the bar).
//! - A week is a **primary-tool week** when its coverage reaches `later_min_percent`
//!   (whatever its number) and, if `spot_check_max_minutes` is set, no spot check took
//!   longer. `weeks_as_primary` counts the consecutive primary-tool weeks ending at the
//!   latest week (a missing week number breaks the run); `primary_tool` is
//!   `weeks_as_primary >= min_weeks` (default 2).
//! - **Permission errors trend to (near) zero after week 1** when every week after
//!   week 1 has no more permission errors than the row before it, and the latest
//!   week, which must be after week 1, has at most `permission_errors_near_zero`
//!   (default 0).
//! - **Thresholds met** when every week passes its coverage bar (and spot-check bar)
//!   and the permission trend holds.
//!
//! Percentages are computed exactly and printed rounded half up to two decimals.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One week of adoption figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeekRow {
    /// Week number since go-live, from 1.
    pub week: u32,
    /// Active staff users this week, by role (`pit_boss`, `cashier`, …).
    #[serde(default)]
    pub active_staff: BTreeMap<String, u32>,
    /// Visit/session entries recorded this week (entries per shift is derived).
    #[serde(default)]
    pub entries: Option<u32>,
    /// Shifts in the pilot/go-live scope this week.
    pub shifts_in_scope: u32,
    /// Of those, shifts recorded in the product.
    pub shifts_recorded: u32,
    /// Tables/areas in scope, if counted.
    #[serde(default)]
    pub areas_in_scope: Option<u32>,
    /// Of those, tables/areas using the product.
    #[serde(default)]
    pub areas_using: Option<u32>,
    /// Exceptions (failed writes, permission errors included).
    #[serde(default)]
    pub exceptions: u32,
    /// Permission/denial errors.
    #[serde(default)]
    pub permission_errors: u32,
    /// Minutes each spot-checked key workflow took.
    #[serde(default)]
    pub spot_check_minutes: Vec<u32>,
}

/// Thresholds, configurable per customer; the defaults are the seed's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// Week 1's least coverage, in percent (60).
    pub week1_min_percent: u32,
    /// The least coverage of week 2 and later, and of a primary-tool week, in percent (85).
    pub later_min_percent: u32,
    /// The most permission errors the latest week may have (0).
    pub permission_errors_near_zero: u32,
    /// The longest a spot check may take, in minutes (not checked by default).
    pub spot_check_max_minutes: Option<u32>,
    /// Weeks as the primary tool needed by the definition of done (2).
    pub min_weeks: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            week1_min_percent: 60,
            later_min_percent: 85,
            permission_errors_near_zero: 0,
            spot_check_max_minutes: None,
            min_weeks: 2,
        }
    }
}

/// Adoption figures that cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdoptionError {
    /// Two rows for the same week.
    #[error("week {week} is given twice")]
    DuplicateWeek {
        /// The week.
        week: u32,
    },
    /// A row whose figures contradict each other.
    #[error("week {week}: {message}")]
    InvalidRow {
        /// The week.
        week: u32,
        /// For people.
        message: String,
    },
    /// A threshold out of range.
    #[error("threshold {name} must be between {min} and {max}")]
    InvalidThreshold {
        /// The threshold's name.
        name: &'static str,
        /// The least allowed.
        min: u32,
        /// The most allowed.
        max: u32,
    },
}

impl Serialize for AdoptionError {
    /// `{"code": …, "message": …}`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("AdoptionError", 2)?;
        st.serialize_field("code", self.code())?;
        st.serialize_field("message", &self.to_string())?;
        st.end()
    }
}

impl AdoptionError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            AdoptionError::DuplicateWeek { .. } => "adoption.duplicate_week",
            AdoptionError::InvalidRow { .. } => "adoption.invalid_row",
            AdoptionError::InvalidThreshold { .. } => "adoption.invalid_threshold",
        }
    }
}

/// One week in the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeekVerdict {
    /// The week.
    pub week: u32,
    /// Shifts recorded in the product, in percent of shifts in scope.
    pub recorded_percent: f64,
    /// The coverage this week needs.
    pub threshold_percent: u32,
    /// True when the week meets its coverage (and spot-check) bar.
    pub pass: bool,
    /// True when the week counts as a primary-tool week.
    pub primary: bool,
    /// Tables/areas using the product, in percent, if counted.
    pub areas_percent: Option<f64>,
    /// Entries per recorded shift, if entries are counted.
    pub entries_per_shift: Option<f64>,
    /// Active staff across roles.
    pub active_staff: u32,
    /// Exceptions.
    pub exceptions: u32,
    /// Permission errors.
    pub permission_errors: u32,
    /// The longest spot check, in minutes.
    pub spot_check_max_minutes: Option<u32>,
    /// Why the week fails, for people.
    pub reasons: Vec<String>,
}

/// The permission-error trend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionTrend {
    /// True when errors trend to (near) zero after week 1.
    pub pass: bool,
    /// Weeks after week 1 with more errors than the row before.
    pub increases: Vec<u32>,
    /// The latest week's errors.
    pub latest: Option<u32>,
    /// The most the latest week may have.
    pub near_zero: u32,
    /// Why it fails, for people.
    pub reason: Option<String>,
}

/// The adoption verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdoptionVerdict {
    /// The thresholds applied.
    pub thresholds: Thresholds,
    /// Every week, in week order.
    pub weeks: Vec<WeekVerdict>,
    /// The permission-error trend.
    pub permission_errors: PermissionTrend,
    /// True when every week passes and the permission trend holds.
    pub thresholds_met: bool,
    /// Consecutive primary-tool weeks ending at the latest week.
    pub weeks_as_primary: u32,
    /// True when `weeks_as_primary` reaches `thresholds.min_weeks`.
    pub primary_tool: bool,
}

/// `part / whole` in percent, rounded half up to two decimals.
fn percent(part: u32, whole: u32) -> f64 {
    ratio(u64::from(part) * 100, u64::from(whole))
}

/// `num / den` rounded half up to two decimals (den > 0).
fn ratio(num: u64, den: u64) -> f64 {
    let hundredths = (num * 200 + den) / (2 * den);
    // Hundredths fit in f64 exactly far beyond any realistic count.
    hundredths as f64 / 100.0
}

/// Evaluates weekly rows (any order) against `thresholds`.
///
/// # Errors
///
/// `adoption.invalid_threshold` for a percent above 100 or `min_weeks` of 0;
/// `adoption.duplicate_week`; `adoption.invalid_row` for week 0, no shifts in scope,
/// more shifts recorded than in scope, or areas counted inconsistently.
pub fn evaluate_adoption(rows: &[WeekRow], thresholds: &Thresholds) -> Result<AdoptionVerdict, AdoptionError> {
    for (name, value, min, max) in [
        ("week1_min_percent", thresholds.week1_min_percent, 0, 100),
        ("later_min_percent", thresholds.later_min_percent, 0, 100),
        ("min_weeks", thresholds.min_weeks, 1, 104),
    ] {
        if !(min..=max).contains(&value) {
            return Err(AdoptionError::InvalidThreshold { name, min, max });
        }
    }
    let mut rows: Vec<&WeekRow> = rows.iter().collect();
    rows.sort_by_key(|r| r.week);
    for pair in rows.windows(2) {
        if let [a, b] = pair
            && a.week == b.week
        {
            return Err(AdoptionError::DuplicateWeek { week: a.week });
        }
    }
    let invalid = |week: u32, message: &str| AdoptionError::InvalidRow {
        week,
        message: message.to_owned(),
    };
    let mut weeks = Vec::with_capacity(rows.len());
    for row in &rows {
        if row.week == 0 {
            return Err(invalid(0, "weeks are numbered from 1"));
        }
        if row.shifts_in_scope == 0 {
            return Err(invalid(row.week, "no shifts in scope"));
        }
        if row.shifts_recorded > row.shifts_in_scope {
            return Err(invalid(row.week, "more shifts recorded than in scope"));
        }
        let areas_percent = match (row.areas_in_scope, row.areas_using) {
            (None, None) => None,
            (Some(total), Some(using)) if total > 0 && using <= total => Some(percent(using, total)),
            _ => {
                return Err(invalid(
                    row.week,
                    "areas_in_scope and areas_using go together, with 0 < using <= in scope",
                ));
            }
        };
        let threshold = if row.week == 1 {
            thresholds.week1_min_percent
        } else {
            thresholds.later_min_percent
        };
        let covered =
            |pct: u32| u64::from(row.shifts_recorded) * 100 >= u64::from(pct) * u64::from(row.shifts_in_scope);
        let recorded_percent = percent(row.shifts_recorded, row.shifts_in_scope);
        let slowest = row.spot_check_minutes.iter().copied().max();
        let mut reasons = Vec::new();
        if !covered(threshold) {
            reasons.push(format!(
                "{recorded_percent}% of shifts in scope recorded; week {} needs {threshold}%",
                row.week
            ));
        }
        let spot_ok = match (thresholds.spot_check_max_minutes, slowest) {
            (Some(max), Some(s)) if s > max => {
                reasons.push(format!("a spot check took {s} minutes; at most {max}"));
                false
            }
            _ => true,
        };
        weeks.push(WeekVerdict {
            week: row.week,
            recorded_percent,
            threshold_percent: threshold,
            pass: reasons.is_empty(),
            primary: covered(thresholds.later_min_percent) && spot_ok,
            areas_percent,
            entries_per_shift: match (row.entries, row.shifts_recorded) {
                (Some(e), n) if n > 0 => Some(ratio(u64::from(e), u64::from(n))),
                _ => None,
            },
            active_staff: row.active_staff.values().fold(0u32, |a, n| a.saturating_add(*n)),
            exceptions: row.exceptions,
            permission_errors: row.permission_errors,
            spot_check_max_minutes: slowest,
            reasons,
        });
    }

    let mut increases = Vec::new();
    for pair in rows.windows(2) {
        if let [a, b] = pair
            && b.week >= 2
            && b.permission_errors > a.permission_errors
        {
            increases.push(b.week);
        }
    }
    let last = rows.last();
    let latest = last.map(|r| r.permission_errors);
    let near_zero = thresholds.permission_errors_near_zero;
    let reason = match last {
        None => Some("no weeks recorded".to_owned()),
        Some(r) if r.week < 2 => Some("the trend needs a week after week 1".to_owned()),
        Some(r) if r.permission_errors > near_zero => Some(format!(
            "week {} has {} permission errors; at most {near_zero}",
            r.week, r.permission_errors
        )),
        Some(_) if !increases.is_empty() => Some(format!(
            "permission errors rose in week {}",
            increases.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
        )),
        Some(_) => None,
    };
    let permission_errors = PermissionTrend {
        pass: reason.is_none(),
        increases,
        latest,
        near_zero,
        reason,
    };

    let mut weeks_as_primary = 0u32;
    let mut expected_week: Option<u32> = None;
    for w in weeks.iter().rev() {
        if !w.primary || expected_week.is_some_and(|e| e != w.week) {
            break;
        }
        weeks_as_primary += 1;
        expected_week = w.week.checked_sub(1);
    }
    Ok(AdoptionVerdict {
        thresholds: *thresholds,
        thresholds_met: !weeks.is_empty() && weeks.iter().all(|w| w.pass) && permission_errors.pass,
        weeks,
        permission_errors,
        primary_tool: weeks_as_primary >= thresholds.min_weeks,
        weeks_as_primary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn row(week: u32, in_scope: u32, recorded: u32, perm: u32) -> WeekRow {
        WeekRow {
            week,
            active_staff: BTreeMap::from([("pit_boss".into(), 4), ("cashier".into(), 2)]),
            entries: Some(recorded * 10 + 1),
            shifts_in_scope: in_scope,
            shifts_recorded: recorded,
            areas_in_scope: None,
            areas_using: None,
            exceptions: perm,
            permission_errors: perm,
            spot_check_minutes: vec![3, 4],
        }
    }

    #[test]
    fn the_seed_example_passes() {
        let rows = [row(3, 20, 18, 0), row(1, 10, 6, 5), row(2, 20, 17, 1)];
        let v = evaluate_adoption(&rows, &Thresholds::default()).unwrap();
        let summary: Vec<(u32, f64, u32, bool, bool)> = v
            .weeks
            .iter()
            .map(|w| (w.week, w.recorded_percent, w.threshold_percent, w.pass, w.primary))
            .collect();
        assert_eq!(
            summary,
            [
                (1, 60.0, 60, true, false),
                (2, 85.0, 85, true, true),
                (3, 90.0, 85, true, true)
            ]
        );
        assert!(v.permission_errors.pass);
        assert!(v.thresholds_met);
        assert_eq!(v.weeks_as_primary, 2);
        assert!(v.primary_tool);
        assert_eq!(v.weeks[0].entries_per_shift, Some(10.17));
        assert_eq!(v.weeks[0].active_staff, 6);
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["weeks"][1]["recorded_percent"], json!(85.0));
        assert_eq!(
            json["thresholds"],
            json!({"week1_min_percent": 60, "later_min_percent": 85, "permission_errors_near_zero": 0,
                   "spot_check_max_minutes": null, "min_weeks": 2})
        );
    }

    #[test]
    fn failing_weeks_and_trends() {
        let rows = [row(1, 3, 1, 2), row(2, 3, 2, 3), row(3, 7, 6, 1)];
        let v = evaluate_adoption(&rows, &Thresholds::default()).unwrap();
        assert_eq!(v.weeks[0].recorded_percent, 33.33);
        assert_eq!(v.weeks[1].recorded_percent, 66.67);
        assert_eq!(
            v.weeks[0].reasons,
            ["33.33% of shifts in scope recorded; week 1 needs 60%"]
        );
        assert!(!v.weeks[1].pass);
        assert!(v.weeks[2].pass);
        assert_eq!(v.permission_errors.increases, [2]);
        assert_eq!(
            v.permission_errors.reason.as_deref(),
            Some("week 3 has 1 permission errors; at most 0")
        );
        assert!(!v.thresholds_met);
        assert_eq!(v.weeks_as_primary, 1);
        assert!(!v.primary_tool);

        let lenient = Thresholds {
            permission_errors_near_zero: 1,
            ..Thresholds::default()
        };
        let v = evaluate_adoption(&rows, &lenient).unwrap();
        assert_eq!(
            v.permission_errors.reason.as_deref(),
            Some("permission errors rose in week 2")
        );

        // A missing week breaks the run of primary weeks.
        let v = evaluate_adoption(&[row(2, 10, 9, 0), row(4, 10, 9, 0)], &Thresholds::default()).unwrap();
        assert_eq!(v.weeks_as_primary, 1);

        // Week 1 alone cannot show a trend.
        let v = evaluate_adoption(&[row(1, 10, 10, 0)], &Thresholds::default()).unwrap();
        assert_eq!(v.weeks_as_primary, 1);
        assert_eq!(
            v.permission_errors.reason.as_deref(),
            Some("the trend needs a week after week 1")
        );
        assert!(!v.thresholds_met);
        let v = evaluate_adoption(&[], &Thresholds::default()).unwrap();
        assert!(!v.thresholds_met && v.weeks_as_primary == 0);

        // Spot checks, when configured.
        let slow = Thresholds {
            spot_check_max_minutes: Some(3),
            ..Thresholds::default()
        };
        let v = evaluate_adoption(&[row(2, 10, 10, 0)], &slow).unwrap();
        assert_eq!(v.weeks[0].reasons, ["a spot check took 4 minutes; at most 3"]);
        assert!(!v.weeks[0].primary);
    }

    #[test]
    fn refuses_bad_input() {
        let t = Thresholds::default();
        let code = |rows: &[WeekRow], t: &Thresholds| evaluate_adoption(rows, t).err().map(|e| e.code());
        assert_eq!(
            code(&[row(1, 1, 1, 0), row(1, 1, 1, 0)], &t),
            Some("adoption.duplicate_week")
        );
        assert_eq!(code(&[row(0, 1, 1, 0)], &t), Some("adoption.invalid_row"));
        assert_eq!(code(&[row(1, 0, 0, 0)], &t), Some("adoption.invalid_row"));
        assert_eq!(code(&[row(1, 1, 2, 0)], &t), Some("adoption.invalid_row"));
        let mut r = row(1, 1, 1, 0);
        r.areas_in_scope = Some(4);
        assert_eq!(code(std::slice::from_ref(&r), &t), Some("adoption.invalid_row"));
        r.areas_using = Some(3);
        let v = evaluate_adoption(&[r], &t).unwrap();
        assert_eq!(v.weeks[0].areas_percent, Some(75.0));
        let bad = Thresholds {
            later_min_percent: 101,
            ..t
        };
        assert_eq!(code(&[], &bad), Some("adoption.invalid_threshold"));
        let err = evaluate_adoption(&[], &bad).unwrap_err();
        assert_eq!(
            serde_json::to_string(&err).unwrap(),
            r#"{"code":"adoption.invalid_threshold","message":"threshold later_min_percent must be between 0 and 100"}"#
        );
        let parsed: Thresholds = serde_json::from_value(json!({"week1_min_percent": 50})).unwrap();
        assert_eq!(parsed.later_min_percent, 85);
        assert!(serde_json::from_value::<Thresholds>(json!({"week_1": 50})).is_err());
        let r: WeekRow =
            serde_json::from_value(json!({"week": 1, "shifts_in_scope": 4, "shifts_recorded": 3})).unwrap();
        assert_eq!(r.permission_errors, 0);
    }

    proptest! {
        #[test]
        fn never_panics_and_primary_weeks_are_bounded(
            raw in prop::collection::vec((1u32..8, 1u32..50, 0u32..60, 0u32..5), 0..8),
        ) {
            let rows: Vec<WeekRow> = raw
                .iter()
                .map(|(w, scope, rec, perm)| row(*w, *scope, (*rec).min(*scope), *perm))
                .collect();
            if let Ok(v) = evaluate_adoption(&rows, &Thresholds::default()) {
                prop_assert!(v.weeks_as_primary as usize <= v.weeks.len());
                prop_assert!(v.weeks.windows(2).all(|p| p[0].week < p[1].week));
                for w in &v.weeks {
                    prop_assert!((0.0..=100.0).contains(&w.recorded_percent));
                    prop_assert_eq!(w.pass, w.reasons.is_empty());
                }
            }
        }
    }
}

//! Forecast: which packets fail on a future date because a `not_applicable` review
//! date, a tracked gap's due date or an exception's expiry passes (SPEC §2.8: "which
//! packets and customers fail on 2027-01-31 when their waivers lapse?").
//!
//! Validation takes the date as an input, so a forecast is validation run twice:
//! on `from` and on `to`, with the same registry and records. A packet is listed
//! when errors appear (or clear) between the two dates; the findings that appear say
//! why (`na.expired`, `gap.overdue`, a finding whose exception expired).
//!
//! Checklist runs are forecast the same way ([`crate::Store::forecast_runs`]): a run
//! is listed when a waiver in effect lapses or a known gap falls due between the two
//! dates ([`crate::checklist::upcoming_changes`]), with its verdict on each date.

use jiff::civil::Date;
use serde::Serialize;

use crate::billing::GateStandard;
use crate::checklist::{Change, evaluate, upcoming_changes};
use crate::report::Finding;
use crate::{Packet, Records, Registry};

/// One packet whose verdict changes between two dates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PacketForecast {
    /// The packet.
    pub packet_id: Option<String>,
    /// The stage validated (the one its lifecycle selects).
    pub stage: crate::Stage,
    /// The verdict on `from`.
    pub ok_on_from: bool,
    /// The verdict on `to`.
    pub ok_on_to: bool,
    /// Errors on `to` that are not there on `from`.
    pub appear: Vec<Finding>,
    /// Errors on `from` that are gone on `to`.
    pub clear: Vec<Finding>,
    /// The dates in `from..to` on which something lapses (a review date, a due
    /// date, an expiry), sorted: each starts to count the day after, so a date
    /// equal to `to` has not lapsed yet on `to`.
    pub lapses: Vec<Date>,
}

/// The forecast of one packet between `from` and `to`; `None` when no error
/// appears or clears.
pub fn packet(
    packet: &Packet,
    registry: Option<&Registry>,
    records: Option<&Records>,
    from: Date,
    to: Date,
) -> Option<PacketForecast> {
    let stage = crate::validate::stage_for(packet);
    let a = crate::validate_with(packet, registry, records, Some(stage), from);
    let b = crate::validate_with(packet, registry, records, Some(stage), to);
    let errors = |r: &crate::Report| -> Vec<Finding> { r.findings.iter().filter(|f| f.is_error()).cloned().collect() };
    let (ea, eb) = (errors(&a), errors(&b));
    let appear: Vec<Finding> = eb.iter().filter(|f| !ea.contains(f)).cloned().collect();
    let clear: Vec<Finding> = ea.iter().filter(|f| !eb.contains(f)).cloned().collect();
    if appear.is_empty() && clear.is_empty() {
        return None;
    }
    let mut lapses: Vec<Date> = lapse_dates(packet)
        .into_iter()
        .filter(|d| *d >= from && *d < to)
        .collect();
    lapses.sort();
    lapses.dedup();
    Some(PacketForecast {
        packet_id: packet.packet_id().map(str::to_owned),
        stage,
        ok_on_from: a.ok,
        ok_on_to: b.ok,
        appear,
        clear,
        lapses,
    })
}

/// Every date in the packet after which something stops counting: `not_applicable`
/// review dates, tracked gaps' due dates, exceptions' expiries.
pub fn lapse_dates(packet: &Packet) -> Vec<Date> {
    let mut out = Vec::new();
    let Some(body) = packet.body() else {
        return out;
    };
    out.extend(packet.not_applicable_markers().iter().filter_map(|m| m.review_date));
    out.extend(
        body.tracked_gaps
            .value()
            .into_iter()
            .flatten()
            .filter_map(crate::decode::Field::value)
            .filter_map(|g| g.due_date.value().copied()),
    );
    out.extend(
        body.exceptions
            .value()
            .into_iter()
            .flatten()
            .filter_map(crate::decode::Field::value)
            .filter_map(|e| e.expires.value().copied()),
    );
    out.sort();
    out.dedup();
    out
}

/// A checklist run whose verdict changes between two dates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunForecast {
    /// The run.
    pub run_id: String,
    /// Its template's id.
    pub template_id: String,
    /// Its `packet_id` parameter, if any.
    pub packet_id: Option<String>,
    /// Complete on `from`.
    pub complete_on_from: bool,
    /// Complete on `to`.
    pub complete_on_to: bool,
    /// What changes, dated after `from` and up to `to` (a waiver lapses, a gap falls
    /// due), by date.
    pub changes: Vec<Change>,
}

/// Packets and checklist runs whose verdict changes between two dates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// The first date.
    pub from: Date,
    /// The second date.
    pub to: Date,
    /// The packets, by packet id.
    pub packets: Vec<PacketForecast>,
    /// The checklist runs, by run id.
    pub runs: Vec<RunForecast>,
}

impl crate::Store {
    /// The forecast of every stored packet (current version, with the store's
    /// registry and its records) between `from` and `to`, by packet id.
    pub fn forecast(&self, from: Date, to: Date) -> Result<Vec<PacketForecast>, crate::StoreError> {
        let registry = self.registry()?;
        let mut out = Vec::new();
        for (info, p) in self.current_packets()? {
            let records = self.records(&info.packet_id)?;
            if let Some(f) = packet(&p, Some(&registry), Some(&records), from, to) {
                out.push(f);
            }
        }
        Ok(out)
    }

    /// The stored checklist runs whose verdict changes between `from` and `to`
    /// because a waiver lapses or a known gap falls due, by run id. Gate facts are
    /// resolved from the store for each date; `standard` is the deployment's billing
    /// gate standard (none: billing gates are not satisfied).
    pub fn forecast_runs(
        &self,
        from: Date,
        to: Date,
        standard: Option<GateStandard>,
    ) -> Result<Vec<RunForecast>, crate::StoreError> {
        let mut out = Vec::new();
        for stored in self.checklist_runs()? {
            let template = stored
                .template()
                .map_err(|e| crate::StoreError::from(crate::checklist::store::RunError::from(e)))?;
            let (facts, _) = self.checklist_facts(&stored, &template, from, standard)?;
            let changes: Vec<Change> = upcoming_changes(&template, &stored.run, &facts, from)
                .into_iter()
                .filter(|c| c.date <= to)
                .collect();
            if changes.is_empty() {
                continue;
            }
            let a = evaluate(&template, &stored.run, &facts, from);
            let (facts_to, _) = self.checklist_facts(&stored, &template, to, standard)?;
            let b = evaluate(&template, &stored.run, &facts_to, to);
            out.push(RunForecast {
                packet_id: stored.packet_id().map(str::to_owned),
                run_id: stored.id.clone(),
                template_id: stored.template_id.clone(),
                complete_on_from: a.complete,
                complete_on_to: b.complete,
                changes,
            });
        }
        Ok(out)
    }

    /// [`crate::Store::forecast`] and [`crate::Store::forecast_runs`] together.
    pub fn forecast_all(
        &self,
        from: Date,
        to: Date,
        standard: Option<GateStandard>,
    ) -> Result<Forecast, crate::StoreError> {
        Ok(Forecast {
            from,
            to,
            packets: self.forecast(from, to)?,
            runs: self.forecast_runs(from, to, standard)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKET: &str = include_str!("../../examples/token-factory-complete/packet.yaml");
    const REGISTRY: &str = include_str!("../../examples/token-factory-complete/registry.yaml");
    const RECORDS: &str = include_str!("../../examples/token-factory-complete/records.yaml");

    #[test]
    fn a_gap_falling_due_is_forecast() {
        let p = Packet::from_yaml(PACKET).unwrap();
        let reg = Registry::from_yaml(REGISTRY).unwrap();
        let rec = Records::from_yaml(RECORDS).unwrap();
        let from = Date::constant(2026, 11, 22);
        // The example's doc gap is due 2027-03-31: nothing changes before it passes.
        assert_eq!(
            packet(&p, Some(&reg), Some(&rec), from, Date::constant(2027, 3, 31)),
            None
        );
        let f = packet(&p, Some(&reg), Some(&rec), from, Date::constant(2027, 4, 1)).unwrap();
        assert!(f.ok_on_from && !f.ok_on_to);
        assert!(f.appear.iter().any(|x| x.code == "gap.overdue"), "{:?}", f.appear);
        assert_eq!(f.lapses, [Date::constant(2027, 3, 31)]);
        assert_eq!(lapse_dates(&p), [Date::constant(2027, 3, 31)]);
    }

    #[test]
    fn the_store_forecasts_its_packets_with_their_records() {
        let mut s = crate::Store::open_in_memory().unwrap();
        let o = crate::Origin::new("t", "2026-11-20T00:00:00Z".parse().unwrap());
        s.import_registry(&o, REGISTRY).unwrap();
        s.put_packet(&o, PACKET, crate::Format::Yaml).unwrap();
        let from = Date::constant(2026, 11, 22);
        let to = Date::constant(2027, 4, 1);
        // Without records the packet fails both days: the gap still appears.
        let f = s.forecast(from, to).unwrap();
        assert_eq!(f.len(), 1);
        assert!(!f[0].ok_on_from && f[0].appear.iter().any(|x| x.code == "gap.overdue"));
        assert!(s.forecast(from, Date::constant(2027, 3, 1)).unwrap().is_empty());
    }
}

//! Forecast: which packets fail on a future date because a `not_applicable` review
//! date, a tracked gap's due date or an exception's expiry passes (SPEC §2.8: "which
//! packets and customers fail on 2027-01-31 when their waivers lapse?").
//!
//! Validation takes the date as an input, so a forecast is validation run twice:
//! on `from` and on `to`, with the same registry and records. A packet is listed
//! when errors appear (or clear) between the two dates; the findings that appear say
//! why (`na.expired`, `gap.overdue`, a finding whose exception expired).

use jiff::civil::Date;
use serde::Serialize;

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
    /// The dates in `from..=to` on which something lapses (a review date, a due
    /// date, an expiry), sorted: the day after each is when it starts to count.
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
        .filter(|d| *d >= from && *d <= to)
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

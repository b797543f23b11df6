//! Engine-level ETA tests: driving-time rules in the walk, and what a finished link teaches.

use super::*;

/// 500 km due east (a point every 10 km, so the line follows the parallel the fixes are
/// on), S1 at the end planned for 20 000 s of driving at 25 m/s plus the EU break (a
/// compliant plan), for `hos`.
fn long_haul(hos: Option<crate::tracking::HosRules>) -> ShipmentSpec {
    let mut s = straight();
    s.route.coordinates = (0..=50)
        .map(|k| [lon_at(f64::from(k) * 10_000.0), LAT])
        .collect();
    s.stops = vec![stop("S0", 0.0, 0), stop("S1", 500_000.0, 20_000 + 2_700)];
    s.hos = hos;
    s
}

fn last_eta(out: &[Record], stop: &str) -> (i64, i64) {
    out.iter()
        .rev()
        .find_map(|r| match r {
            Record::Eta(u) if u.stop == stop => Some((
                (u.fix_time - t(0)).num_seconds(),
                (u.eta - t(0)).num_seconds(),
            )),
            _ => None,
        })
        .expect("an eta")
}

#[test]
fn a_standstill_when_the_break_is_due_is_planned_as_the_break() {
    // 4.2 h at the planned 25 m/s (the break is due at 4.5 h), then 20 min standing.
    let d = Drive::new()
        .wait(180)
        .drive_to(378_000.0, 25.0, flat)
        .wait(1_200);
    let mut e = engine_with(long_haul(Some(crate::tracking::HosRules::Eu)));
    let out = d.run(&mut e);
    let (now, eta) = last_eta(&out, "S1");
    // Standing since it reached 378 km; 45 min of break minus what has passed, then the
    // 122 km left at 25 m/s, and no second break (4.5 h of driving start afresh).
    let reached = d
        .fixes
        .iter()
        .find(|f| f.1 >= 378_000.0)
        .expect("reached")
        .0;
    let expect = now + (2_700 - (now - reached)) + 4_880;
    assert!((eta - expect).abs() <= 60, "{eta} vs {expect}");
    // Without rules the same standstill is an unplanned halt with nothing learned about
    // halts: the vehicle is expected to go on now, between its own pace (25 m/s) and the
    // plan's (whose link time holds the break the plan included, spread over the link).
    let eu = eta;
    let mut e = engine_with(long_haul(None));
    let (now, eta) = last_eta(&d.run(&mut e), "S1");
    let (fast, slow) = (now + 4_870, now + (122_000.0 * 22_700.0 / 500_000.0) as i64);
    assert!(eta >= fast && eta <= slow, "{eta} not in {fast}..{slow}");
    assert!(
        eu - eta > 1_200,
        "the break left is planned only under rules"
    );
}

#[test]
fn an_eta_beyond_the_driving_limit_holds_the_break_the_plan_left_out_of_the_links() {
    // Fresh from the depot: 5.56 h of driving ahead, so the break is certain.
    let d = Drive::new().wait(180).drive_to(50_000.0, 25.0, flat);
    let mut e = engine_with(long_haul(Some(crate::tracking::HosRules::Eu)));
    let (now, eta) = last_eta(&d.run(&mut e), "S1");
    // 450 km left at 25 m/s = 18 000 s, plus the 45-min break.
    assert!((eta - (now + 18_000 + 2_700)).abs() <= 60, "{eta} vs {now}");
}

#[test]
fn a_finished_link_is_learned_as_driving_time_and_halt_time_apart() {
    let mut e = engine_with(straight());
    Drive::new()
        .wait(180)
        .drive_to(5_000.0, 10.0, flat)
        .wait(1_200)
        .drive_to(10_000.0, 10.0, flat)
        .wait(600)
        .run(&mut e);
    let tr = e.get("sh1").expect("shipment");
    let key = tr.link_keys[1].clone().expect("link S0→S1");
    let h = &e.learned.history;
    let (driving, halts) = (
        h.all(&key),
        h.all(&crate::tracking::history::History::halt_key(&key)),
    );
    // Left the depot radius (150 m) at 210 s, entered S1's at 180 + 985 + 1 200 s; the
    // halt is counted from reaching the spot to the last fix before moving again.
    assert_eq!(halts.len(), 1);
    assert!((halts[0] - 1_200.0).abs() <= 60.0, "{halts:?}");
    assert_eq!(driving.len(), 1);
    assert!((driving[0] - 970.0).abs() <= 60.0, "{driving:?}");
    assert_eq!(
        h.all(crate::tracking::history::History::STANDSTILL),
        halts,
        "its length is learned for the next halt"
    );
}

//! The claim rules of [`Session`], without sockets: admission, one id per connection,
//! credentials, takeover.

use super::*;
use std::time::Duration;

fn gate(allow: Allow, policy: Takeover) -> Arc<Gate> {
    let metrics = Arc::new(Metrics::new());
    Arc::new(Gate::new(
        Arc::new(LiveState::new(Duration::from_secs(600))),
        Admission::new(&allow, &[], metrics.clone()),
        Presence::new(policy),
        DeviceCodes::in_memory(),
        FixTimes::new(Duration::from_secs(300), metrics.clone()),
        metrics,
    ))
}

fn conn(g: &Arc<Gate>, port: u16, multi: bool) -> (Session, CancellationToken) {
    let close = CancellationToken::new();
    let peer = SocketAddr::from(([10, 0, 0, 1], port));
    (
        Session::connection("jt808", g.clone(), peer, close.clone(), multi),
        close,
    )
}

fn id(s: &str) -> DeviceId {
    DeviceId::new(s).unwrap()
}

/// A registration credential whose answer is the code itself (or `TAKEN`).
fn register() -> Option<Credential> {
    Some(Credential::Register {
        reply: Box::new(|a| {
            Some(match a {
                RegisterAnswer::Issued(code) => Bytes::copy_from_slice(code),
                RegisterAnswer::AlreadyRegistered => Bytes::from_static(b"TAKEN"),
            })
        }),
    })
}

fn auth(code: &[u8]) -> Option<Credential> {
    Some(Credential::Authenticate {
        code: Bytes::copy_from_slice(code),
    })
}

#[tokio::test]
async fn credentials_gate_the_connection() {
    let g = gate(Allow::All, Takeover::Replace);
    let now = Utc::now();
    let a = id("013345678906");
    let (mut s, _) = conn(&g, 1, false);
    assert_eq!(
        s.claim(&a, None, true, now).await.unwrap(),
        Verdict::Refuse,
        "data before auth"
    );
    let (mut s, _) = conn(&g, 2, false);
    let Verdict::Registered(Some(code)) = s.claim(&a, register(), true, now).await.unwrap() else {
        panic!("registered")
    };
    assert_eq!(s.device(), None, "registering proves nothing");
    assert_eq!(
        s.claim(&a, auth(b"nope"), true, now).await.unwrap(),
        Verdict::Refuse
    );
    let (mut s, _) = conn(&g, 3, false);
    assert_eq!(
        s.claim(&a, auth(&code), true, now).await.unwrap(),
        Verdict::Admitted
    );
    assert_eq!(s.device(), Some(&a));
    assert_eq!(
        s.claim(&a, None, true, now).await.unwrap(),
        Verdict::Unchanged
    );
    assert_eq!(
        s.claim(&a, register(), true, now).await.unwrap(),
        Verdict::RegistrationRefused(Some(Bytes::from_static(b"TAKEN")))
    );
    assert_eq!(g.live.get("13345678906").unwrap().connections, 1);
    drop(s);
    assert_eq!(g.live.get("13345678906").unwrap().connections, 0);
}

#[tokio::test]
async fn one_id_per_connection_unless_multi_terminal() {
    let g = gate(Allow::All, Takeover::Replace);
    let now = Utc::now();
    let (mut s, _) = conn(&g, 1, false);
    assert_eq!(
        s.claim(&id("1"), None, false, now).await.unwrap(),
        Verdict::Admitted
    );
    assert_eq!(
        s.claim(&id("2"), None, false, now).await.unwrap(),
        Verdict::Reject
    );
    assert_eq!(s.device(), Some(&id("1")), "the first device stays");
    assert!(g.live.get("2").is_none());
    let (mut m, _) = conn(&g, 2, true);
    assert_eq!(
        m.claim(&id("3"), None, false, now).await.unwrap(),
        Verdict::Admitted
    );
    assert_eq!(
        m.claim(&id("4"), None, false, now).await.unwrap(),
        Verdict::Admitted
    );
    assert_eq!(m.device(), Some(&id("4")));
    assert_eq!(
        m.claim(&id("3"), None, false, now).await.unwrap(),
        Verdict::Unchanged
    );
    assert_eq!(m.device(), Some(&id("3")));
}

#[tokio::test]
async fn takeover_replace_closes_the_holder_and_reject_refuses_the_newcomer() {
    let now = Utc::now();
    let g = gate(Allow::All, Takeover::Replace);
    let (mut old, old_close) = conn(&g, 1, false);
    let (mut new, new_close) = conn(&g, 2, false);
    assert_eq!(
        old.claim(&id("9"), None, false, now).await.unwrap(),
        Verdict::Admitted
    );
    assert_eq!(
        new.claim(&id("9"), None, false, now).await.unwrap(),
        Verdict::Admitted
    );
    assert!(old_close.is_cancelled() && !new_close.is_cancelled());
    assert_eq!(g.live.get("9").unwrap().takeovers, 1);

    let g = gate(Allow::All, Takeover::Reject);
    let (mut old, old_close) = conn(&g, 1, false);
    let (mut new, _) = conn(&g, 2, false);
    assert_eq!(
        old.claim(&id("9"), None, false, now).await.unwrap(),
        Verdict::Admitted
    );
    assert_eq!(
        new.claim(&id("9"), None, false, now).await.unwrap(),
        Verdict::Refuse
    );
    assert!(!old_close.is_cancelled());
    let d = g.live.get("9").unwrap();
    assert_eq!((d.connections, d.takeovers), (1, 1));
    drop(old);
    let (mut again, _) = conn(&g, 3, false);
    assert_eq!(
        again.claim(&id("9"), None, false, now).await.unwrap(),
        Verdict::Admitted
    );
}

#[tokio::test]
async fn messages_never_take_over_and_refused_ids_are_not_claimed() {
    let now = Utc::now();
    let g = gate(Allow::List(vec!["9".into()]), Takeover::Reject);
    let (mut c, close) = conn(&g, 1, false);
    assert_eq!(
        c.claim(&id("9"), None, false, now).await.unwrap(),
        Verdict::Admitted
    );
    let mut m = Session::message("osmand", g.clone(), None);
    assert_eq!(
        m.claim(&id("9"), None, false, now).await.unwrap(),
        Verdict::Admitted
    );
    drop(m);
    assert!(!close.is_cancelled());
    assert_eq!(g.live.get("9").unwrap().connections, 1);
    let (mut other, _) = conn(&g, 2, false);
    assert_eq!(
        other.claim(&id("8"), None, false, now).await.unwrap(),
        Verdict::Refuse
    );
    assert!(g.live.get("8").is_none());
}

//! Which addresses an outbound request made on a customer's behalf must never reach.
//!
//! The list covers every range that leads back into the gateway's own host or network:
//! loopback, RFC 1918 private, CGNAT shared space, link-local (with the cloud metadata
//! service named on its own), multicast, broadcast, unspecified and reserved IPv4 ranges;
//! IPv6 loopback, unspecified, unique-local, link-local, site-local, multicast, discard and
//! documentation ranges, Teredo; and the IPv6 forms that carry an IPv4 address
//! (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, 6to4 `2002:aabb:ccdd::`,
//! NAT64 `64:ff9b::a.b.c.d`), which are judged by the IPv4 address inside. Decimal, hex and
//! octal IPv4 spellings (`2130706433`, `0x7f.1`, `0177.0.0.1`) never get here as text: URL
//! parsing (WHATWG rules, the `url` crate) turns them into the address they mean.

use ipnet::{Ipv4Net, Ipv6Net};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    Unspecified,
    Loopback,
    /// RFC 1918 (10/8, 172.16/12, 192.168/16).
    Private,
    /// RFC 6598 shared address space (100.64/10, carrier-grade NAT).
    SharedCgnat,
    /// 169.254.169.254: the cloud instance metadata service (credentials live there).
    CloudMetadata,
    LinkLocal,
    Multicast,
    Broadcast,
    /// Reserved or special-purpose (named: "this network", "documentation", ...).
    Reserved(&'static str),
    /// IPv6 unique local (fc00::/7), the IPv6 private range.
    UniqueLocal,
    /// An IPv6 form that carries an IPv4 address which is refused itself.
    Embedded {
        form: &'static str,
        v4: Ipv4Addr,
        inner: Box<Refusal>,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Unspecified => f.write_str("unspecified"),
            Refusal::Loopback => f.write_str("loopback"),
            Refusal::Private => f.write_str("private (RFC 1918)"),
            Refusal::SharedCgnat => f.write_str("shared address space (CGNAT, RFC 6598)"),
            Refusal::CloudMetadata => f.write_str("link-local (the cloud metadata service)"),
            Refusal::LinkLocal => f.write_str("link-local"),
            Refusal::Multicast => f.write_str("multicast"),
            Refusal::Broadcast => f.write_str("broadcast"),
            Refusal::Reserved(what) => write!(f, "reserved ({what})"),
            Refusal::UniqueLocal => f.write_str("unique local (IPv6 private)"),
            Refusal::Embedded { form, v4, inner } => {
                write!(f, "the {form} form of {v4}, which is {inner}")
            }
        }
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

/// IPv4 ranges, most specific first (the metadata address before link-local).
const V4: &[(Ipv4Net, Refusal)] = &[
    (v4(169, 254, 169, 254, 32), Refusal::CloudMetadata),
    (v4(255, 255, 255, 255, 32), Refusal::Broadcast),
    (v4(0, 0, 0, 0, 32), Refusal::Unspecified),
    (v4(0, 0, 0, 0, 8), Refusal::Reserved("this network")),
    (v4(10, 0, 0, 0, 8), Refusal::Private),
    (v4(100, 64, 0, 0, 10), Refusal::SharedCgnat),
    (v4(127, 0, 0, 0, 8), Refusal::Loopback),
    (v4(169, 254, 0, 0, 16), Refusal::LinkLocal),
    (v4(172, 16, 0, 0, 12), Refusal::Private),
    (
        v4(192, 0, 0, 0, 24),
        Refusal::Reserved("IETF protocol assignments"),
    ),
    (v4(192, 0, 2, 0, 24), Refusal::Reserved("documentation")),
    (v4(192, 88, 99, 0, 24), Refusal::Reserved("6to4 relay")),
    (v4(192, 168, 0, 0, 16), Refusal::Private),
    (v4(198, 18, 0, 0, 15), Refusal::Reserved("benchmarking")),
    (v4(198, 51, 100, 0, 24), Refusal::Reserved("documentation")),
    (v4(203, 0, 113, 0, 24), Refusal::Reserved("documentation")),
    (v4(224, 0, 0, 0, 4), Refusal::Multicast),
    (v4(240, 0, 0, 0, 4), Refusal::Reserved("future use")),
];

const fn v6(segs: [u16; 8], len: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segs;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), len)
}

/// IPv6 ranges refused outright (the IPv4-carrying forms are handled before these).
const V6: &[(Ipv6Net, Refusal)] = &[
    (
        v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48),
        Refusal::Reserved("local-use NAT64"),
    ),
    (
        v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64),
        Refusal::Reserved("discard-only"),
    ),
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32),
        Refusal::Reserved("Teredo tunnel"),
    ),
    (
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
        Refusal::Reserved("documentation"),
    ),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), Refusal::UniqueLocal),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), Refusal::LinkLocal),
    (
        v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),
        Refusal::Reserved("site-local"),
    ),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), Refusal::Multicast),
];

/// The IPv4 address an IPv6 address carries, with the form's name: IPv4-mapped,
/// IPv4-compatible (deprecated, but still routed by some stacks), 6to4, NAT64.
pub fn embedded_v4(a: Ipv6Addr) -> Option<(&'static str, Ipv4Addr)> {
    let s = a.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(("IPv4-mapped", low)),
        // `::` and `::1` are IPv6's own unspecified and loopback addresses.
        [0, 0, 0, 0, 0, 0, 0, 0] | [0, 0, 0, 0, 0, 0, 0, 1] => None,
        [0, 0, 0, 0, 0, 0, _, _] => Some(("IPv4-compatible", low)),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(("NAT64", low)),
        [0x2002, hi, lo, ..] => Some((
            "6to4",
            Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8),
        )),
        _ => None,
    }
}

/// Why `ip` must not be reached, or `None` for a public unicast address.
pub fn refusal(ip: IpAddr) -> Option<Refusal> {
    match ip {
        IpAddr::V4(a) => V4
            .iter()
            .find(|(net, _)| net.contains(&a))
            .map(|(_, r)| r.clone()),
        IpAddr::V6(a) => {
            if a.is_unspecified() {
                return Some(Refusal::Unspecified);
            }
            if a.is_loopback() {
                return Some(Refusal::Loopback);
            }
            if let Some((form, inner)) = embedded_v4(a) {
                return refusal(IpAddr::V4(inner)).map(|r| Refusal::Embedded {
                    form,
                    v4: inner,
                    inner: Box::new(r),
                });
            }
            V6.iter()
                .find(|(net, _)| net.contains(&a))
                .map(|(_, r)| r.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(s: &str) -> Option<String> {
        refusal(s.parse().unwrap()).map(|r| r.to_string())
    }

    #[test]
    fn every_inward_range_is_refused_with_its_name() {
        for (ip, reason) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.1.2.3", "private (RFC 1918)"),
            ("172.16.0.1", "private (RFC 1918)"),
            ("172.31.255.255", "private (RFC 1918)"),
            ("192.168.1.1", "private (RFC 1918)"),
            ("100.64.0.1", "shared address space (CGNAT, RFC 6598)"),
            ("100.127.255.254", "shared address space (CGNAT, RFC 6598)"),
            ("169.254.169.254", "link-local (the cloud metadata service)"),
            ("169.254.1.1", "link-local"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.250", "multicast"),
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "reserved (this network)"),
            ("255.255.255.255", "broadcast"),
            ("240.0.0.1", "reserved (future use)"),
            ("192.0.0.192", "reserved (IETF protocol assignments)"),
            ("198.18.0.1", "reserved (benchmarking)"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("fc00::1", "unique local (IPv6 private)"),
            ("fd12:3456::1", "unique local (IPv6 private)"),
            ("fe80::1", "link-local"),
            ("fec0::1", "reserved (site-local)"),
            ("ff02::1", "multicast"),
            ("2001:db8::1", "reserved (documentation)"),
            ("2001:0:4136:e378::1", "reserved (Teredo tunnel)"),
            ("64:ff9b:1::a00:1", "reserved (local-use NAT64)"),
            (
                "::ffff:127.0.0.1",
                "the IPv4-mapped form of 127.0.0.1, which is loopback",
            ),
            (
                "::ffff:a9fe:a9fe",
                "the IPv4-mapped form of 169.254.169.254, which is link-local (the cloud metadata service)",
            ),
            (
                "::127.0.0.1",
                "the IPv4-compatible form of 127.0.0.1, which is loopback",
            ),
            (
                "::10.0.0.1",
                "the IPv4-compatible form of 10.0.0.1, which is private (RFC 1918)",
            ),
            (
                "2002:7f00:1::",
                "the 6to4 form of 127.0.0.1, which is loopback",
            ),
            (
                "2002:c0a8:101::1",
                "the 6to4 form of 192.168.1.1, which is private (RFC 1918)",
            ),
            (
                "64:ff9b::a9fe:a9fe",
                "the NAT64 form of 169.254.169.254, which is link-local (the cloud metadata service)",
            ),
        ] {
            assert_eq!(why(ip).as_deref(), Some(reason), "{ip}");
        }
    }

    #[test]
    fn public_addresses_pass_including_their_embedded_forms() {
        for ip in [
            "93.184.215.14",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "2002:808:808::1",
            "64:ff9b::808:808",
        ] {
            assert_eq!(why(ip), None, "{ip}");
        }
    }

    #[test]
    fn url_parsing_turns_odd_ipv4_spellings_into_the_address() {
        for spelled in [
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://017700000001/",
            "http://127.1/",
            "http://127.0.0.1./",
        ] {
            let u = url::Url::parse(spelled).unwrap();
            assert_eq!(
                u.host(),
                Some(url::Host::Ipv4(Ipv4Addr::LOCALHOST)),
                "{spelled}"
            );
        }
    }
}

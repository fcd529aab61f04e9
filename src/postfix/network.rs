//! Network patterns of address lists such as `mynetworks`
//! (`cidr_match.c`): `a.b.c.d`, `a.b.c.d/n`, `[v6]`, `[v6]/n`.
//!
//! Postfix refuses a pattern whose prefix is not a number in range
//! ("bad network value", e.g. `0/0`) or that has address bits set beyond
//! the prefix ("non-null host address bits", e.g. `10.1.2.3/8`): every
//! client whose lookup reaches it is answered 451 4.3.0.

use std::net::IpAddr;

/// A network: address (host bits zero) and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net {
    V4(u32, u32),
    V6(u128, u32),
}

/// Why a network pattern is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error("bad network value in {0:?}")]
    BadValue(String),
    #[error("non-null host address bits in {0:?}, expected {1}")]
    HostBits(String, String),
}

/// Is `item` meant as a network pattern (an address, with or without a
/// prefix)? Host names, tables (`type:name`), files (`/path`) and
/// negation are the caller's business.
pub fn looks_like_network(item: &str) -> bool {
    let host = item.split('/').next().unwrap_or("");
    if host.starts_with('[') {
        return true;
    }
    !host.is_empty() && item.contains('/') && host.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        || host.parse::<IpAddr>().is_ok()
}

impl Net {
    /// Parse a pattern the way Postfix does; host bits are an error.
    pub fn parse(s: &str) -> Result<Net, NetError> {
        let bad = || NetError::BadValue(s.to_string());
        let (host, len) = match s.split_once('/') {
            Some((h, l)) if !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()) => {
                (h, Some(l.parse::<u32>().map_err(|_| bad())?))
            }
            Some(_) => return Err(bad()),
            None => (s, None),
        };
        let inner = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let (net, addr_bits) = match inner.parse::<IpAddr>().map_err(|_| bad())? {
            IpAddr::V4(a) => {
                let len = len.unwrap_or(32);
                if len > 32 || host.starts_with('[') {
                    return Err(bad());
                }
                (
                    Net::V4(u32::from(a) & mask32(len), len),
                    u128::from(u32::from(a)),
                )
            }
            IpAddr::V6(a) => {
                let len = len.unwrap_or(128);
                if len > 128 {
                    return Err(bad());
                }
                (Net::V6(u128::from(a) & mask128(len), len), u128::from(a))
            }
        };
        let kept = match net {
            Net::V4(a, _) => u128::from(a),
            Net::V6(a, _) => a,
        };
        if kept != addr_bits {
            return Err(NetError::HostBits(s.to_string(), net.to_string()));
        }
        Ok(net)
    }

    /// Every address of `other` is in `self`.
    pub fn contains(&self, other: &Net) -> bool {
        match (*self, *other) {
            (Net::V4(a, l), Net::V4(b, m)) => l <= m && b & mask32(l) == a,
            (Net::V6(a, l), Net::V6(b, m)) => l <= m && b & mask128(l) == a,
            _ => false,
        }
    }
}

impl std::fmt::Display for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Net::V4(a, l) => write!(f, "{}/{l}", std::net::Ipv4Addr::from(a)),
            Net::V6(a, l) => write!(f, "[{}]/{l}", std::net::Ipv6Addr::from(a)),
        }
    }
}

fn mask32(len: u32) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len)
    }
}

fn mask128(len: u32) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_postfix_accepts_and_refuses() {
        assert_eq!(Net::parse("0.0.0.0/0"), Ok(Net::V4(0, 0)));
        assert_eq!(Net::parse("10.0.0.0/8"), Ok(Net::V4(10 << 24, 8)));
        assert_eq!(Net::parse("192.0.2.1"), Ok(Net::V4(0xc000_0201, 32)));
        assert!(matches!(Net::parse("[::1]/128"), Ok(Net::V6(1, 128))));
        assert!(matches!(Net::parse("[2001:db8::]/32"), Ok(Net::V6(_, 32))));
        assert_eq!(Net::parse("0/0"), Err(NetError::BadValue("0/0".into())));
        assert_eq!(
            Net::parse("10.0.0.0/33"),
            Err(NetError::BadValue("10.0.0.0/33".into()))
        );
        assert_eq!(
            Net::parse("203.0.113.1/24").unwrap_err().to_string(),
            "non-null host address bits in \"203.0.113.1/24\", expected 203.0.113.0/24"
        );
        assert!(looks_like_network("0/0"));
        assert!(looks_like_network("10.0.0.0/8"));
        assert!(looks_like_network("[::1]/128"));
        assert!(!looks_like_network("hash:/etc/postfix/network_table"));
        assert!(!looks_like_network("/etc/postfix/networks"));
        assert!(!looks_like_network("mail.example.com"));
    }
}

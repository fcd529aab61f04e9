//! After a reload or restart: connect to the smtpd services clients use
//! and read their greeting. The master may run while every smtpd it
//! starts dies on its configuration (a missing SASL socket, a TLS key it
//! cannot read...); only a connection shows that.

use crate::postfix::maincf::MainCf;
use crate::postfix::mastercf::MasterCf;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A service to greet: `name/inet` and the address to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub service: String,
    pub addr: SocketAddr,
}

/// The smtpd inet services of the configuration that this host can reach
/// on a local address: `host:port` services with an IP literal or
/// localhost, and bare-port services when inet_interfaces includes the
/// loopback (all, loopback-only, localhost, 127.0.0.1, ::1) or an IP
/// literal. postscreen services are skipped (their greeting waits).
pub fn probes(main: &MainCf, master: &MasterCf) -> Vec<Probe> {
    let value = |n: &str| main.get(n).map(|e| e.value_str().trim().to_string());
    let interfaces = value("inet_interfaces").unwrap_or_else(|| "all".into());
    let protocols = value("inet_protocols").unwrap_or_else(|| "all".into());
    let v4 = protocols.contains("all") || protocols.contains("ipv4");
    let v6 = protocols.contains("all") || protocols.contains("ipv6");
    let loopback = if v4 {
        Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
    } else if v6 {
        Some(IpAddr::V6(Ipv6Addr::LOCALHOST))
    } else {
        None
    };
    let default_host: Option<IpAddr> = interfaces
        .split([',', ' ', '\t'])
        .filter(|w| !w.is_empty())
        .find_map(|w| match w {
            "all" | "loopback-only" | "localhost" => loopback,
            w => w.trim_start_matches('[').trim_end_matches(']').parse().ok(),
        });
    let mut out = Vec::new();
    for s in master.services() {
        if s.kind != "inet" || !s.command.ends_with("smtpd") {
            continue;
        }
        let (host, port) = match s.name.rsplit_once(':') {
            Some((h, p)) => {
                let h = h.trim_start_matches('[').trim_end_matches(']');
                let host = match h {
                    "" => default_host,
                    "localhost" => loopback,
                    h => h.parse().ok(),
                };
                (host, p)
            }
            None => (default_host, s.name.as_str()),
        };
        let port = port
            .parse::<u16>()
            .ok()
            .or_else(|| crate::io::services::tcp_port(port));
        if let (Some(host), Some(port)) = (host, port) {
            out.push(Probe {
                service: format!("{}/{}", s.name, s.kind),
                addr: SocketAddr::new(host, port),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_smtpd_services_are_probed() {
        let main =
            MainCf::parse(b"inet_interfaces = loopback-only\ninet_protocols = ipv4\n").unwrap();
        let master = MasterCf::parse(
            b"smtp inet n - y - - smtpd\n10025 inet n - n - - smtpd\n192.0.2.1:2525 inet n - n - - smtpd\npickup unix n - y 60 1 pickup\nsmtps inet n - n - 1 postscreen\n",
        )
        .unwrap();
        let p = probes(&main, &master);
        let addrs: Vec<String> = p
            .iter()
            .map(|p| format!("{} {}", p.service, p.addr))
            .collect();
        assert_eq!(
            addrs,
            [
                "smtp/inet 127.0.0.1:25",
                "10025/inet 127.0.0.1:10025",
                "192.0.2.1:2525/inet 192.0.2.1:2525"
            ]
        );
    }
}

//! /etc/services: TCP port numbers by service name (as getservbyname).

/// The TCP port of service `name` (or alias) in /etc/services.
pub fn tcp_port(name: &str) -> Option<u16> {
    let text = std::fs::read_to_string("/etc/services").ok()?;
    text.lines().find_map(|l| {
        let l = l.split('#').next().unwrap_or("");
        let mut words = l.split_whitespace();
        let (first, port) = (words.next()?, words.next()?);
        let number = port.strip_suffix("/tcp")?;
        (first == name || words.any(|alias| alias == name))
            .then(|| number.parse().ok())
            .flatten()
    })
}

//! Read an SMTP server's greeting: connect, read the first reply line,
//! say QUIT. Used after a reload or restart to see what clients see.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// What a connection to an SMTP service gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Greeting {
    /// The first reply line (`220 ...`, or `421 ...` from a server that
    /// refuses to serve).
    Reply(String),
    /// Accepted, then closed before any reply: the server process died.
    Closed,
    /// Accepted, but no reply within the time limit (a server whose
    /// processes die before they accept stays silent: the master keeps
    /// the socket).
    Silent,
    /// Nothing listens there (connection refused).
    Refused,
    /// No reply within the time limit, or another network error.
    NoAnswer(String),
}

/// Connect to `addr` and read the greeting within `limit`.
pub fn greeting(addr: SocketAddr, limit: Duration) -> Greeting {
    let mut stream = match TcpStream::connect_timeout(&addr, limit) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Greeting::Refused,
        Err(e) => return Greeting::NoAnswer(e.to_string()),
    };
    let _ = stream.set_read_timeout(Some(limit));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) if buf.is_empty() => return Greeting::Closed,
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.contains(&b'\n') || buf.len() > 4096 {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && buf.is_empty() => {
                return Greeting::Closed
            }
            Err(e)
                if buf.is_empty()
                    && matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
            {
                return Greeting::Silent
            }
            Err(e) => return Greeting::NoAnswer(e.to_string()),
        }
    }
    let _ = stream.write_all(b"QUIT\r\n");
    let line = String::from_utf8_lossy(&buf);
    Greeting::Reply(line.lines().next().unwrap_or("").trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn greeting_closed_and_refused() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            s.write_all(b"220 test ESMTP\r\n").unwrap();
            let mut b = [0u8; 16];
            let _ = s.read(&mut b);
            let (s2, _) = l.accept().unwrap();
            drop(s2);
        });
        assert_eq!(
            greeting(addr, Duration::from_secs(5)),
            Greeting::Reply("220 test ESMTP".into())
        );
        assert_eq!(greeting(addr, Duration::from_secs(5)), Greeting::Closed);
        server.join().unwrap();
        assert_eq!(greeting(addr, Duration::from_secs(1)), Greeting::Refused);
    }
}

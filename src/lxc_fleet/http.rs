//! A one-request HTTP/1.0 GET over a plain TCP connection: the balancer's generation probe and
//! the members' health checks when the balancer runs on this machine (`place::Place::Here`),
//! where a spawned `curl` per poll would cost more than the switch it measures.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::time::Duration;

/// `GET path` of `addr` (`host:port`): the status code and the body (at most 64 KiB), or why
/// not (connection refused, timed out, not HTTP).
pub fn get(addr: &str, path: &str, timeout: Duration) -> Result<(u16, String), String> {
    let sock: SocketAddr = addr
        .to_socket_addrs()
        .map_err(|e| format!("{addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("{addr}: no address"))?;
    let mut s = TcpStream::connect_timeout(&sock, timeout).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nUser-Agent: dfab\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    s.take(64 * 1024)
        .read_to_end(&mut buf)
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&buf);
    let status = text
        .strip_prefix("HTTP/1.")
        .and_then(|r| r.get(2..5))
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| {
            format!(
                "not an HTTP answer: {:?}",
                text.chars().take(40).collect::<String>()
            )
        })?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};
    use std::time::Duration;

    #[test]
    fn reads_the_status_and_the_body() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let t = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut req = [0u8; 256];
            let n = c.read(&mut req).unwrap();
            assert!(String::from_utf8_lossy(&req[..n]).starts_with("GET /v HTTP/1.0\r\n"));
            c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n1.1\n")
                .unwrap();
        });
        let got = super::get(&addr, "/v", Duration::from_secs(2)).unwrap();
        assert_eq!(got, (200, "1.1\n".to_owned()));
        t.join().unwrap();
        assert!(super::get("127.0.0.1:1", "/", Duration::from_secs(1)).is_err());
    }
}

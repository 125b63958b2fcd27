//! The fleet's balancer as a member sees it: a real nginx (dfab's `lxc_fleet::balancer`) in front
//! of a member played by a loopback listener that records the request it gets.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use dfab::lxc_fleet::balancer::Nginx;

use crate::support::sh;

/// A free loopback port.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// Django behind a fleet answered every request through the balancer with 400: nginx sent the
// upstream's name `dfab_fleet` as the Host, which ALLOWED_HOSTS (and RFC 1034, for the `_`) refuse.
#[test]
fn the_balancer_passes_the_clients_host_and_address_to_the_members() {
    assert!(
        sh(&["sh", "-c", "command -v nginx"]).status.success(),
        "this test needs nginx: run `sudo bash scripts/setup-host` (or apt-get install nginx-light)"
    );
    let member = TcpListener::bind("127.0.0.1:0").unwrap();
    let member_addr = member.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut c, _) = member.accept().unwrap();
        let mut head = Vec::new();
        let mut r = BufReader::new(c.try_clone().unwrap());
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                break;
            }
            head.push(line.trim_end().to_owned());
        }
        c.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
            .unwrap();
        tx.send(head).unwrap();
    });
    let dir = tempfile::Builder::new()
        .prefix("dfab-it-balancer-")
        .tempdir()
        .unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let nginx = Nginx::new("balancer-test", dir.path().join("nginx"), &listen);
    assert!(nginx.ensure(&[member_addr], 1).unwrap(), "nginx started");
    let asked = (|| {
        let mut s = TcpStream::connect(&listen).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(s, "GET /notes HTTP/1.0\r\nHost: shop.example:8080\r\n\r\n")
            .map_err(|e| e.to_string())?;
        let mut text = String::new();
        s.read_to_string(&mut text).map_err(|e| e.to_string())?;
        Ok::<_, String>(text)
    })();
    let head = rx.recv_timeout(Duration::from_secs(5));
    nginx.stop().unwrap();
    let answer = asked.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let head = head.expect("the member got the request");
    assert_eq!(head[0], "GET /notes HTTP/1.0", "{head:?}");
    for want in [
        "Host: shop.example:8080",
        "X-Forwarded-For: 127.0.0.1",
        "X-Forwarded-Proto: http",
    ] {
        assert!(head.iter().any(|h| h == want), "{want} in {head:?}");
    }
}

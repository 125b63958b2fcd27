//! Fleets whose balancer runs in a container (`'balancer': '<container>'`), here and on an
//! `lxc_host` (this machine's own sshd on loopback standing in for it, as `lxc_lib` does):
//! real members, a real nginx inside a real container, requests from this machine across the
//! bridge. The fixture app and the request load are `lxc_fleet`'s.

use std::time::Instant;

use crate::lxc_fleet::{attach, FleetApp};
use crate::lxc_support::{self, LoopbackSshd};

/// A fleet of 2 whose balancer runs in container `<env>-lb` at claimed address 0 (port 8000);
/// the members take addresses 1..7. `extra` env lines (for `lxc_host`).
fn container_fleet(tag: &str, extra: &str) -> FleetApp {
    let mut app = FleetApp::with(tag, 7, |app| {
        format!(
            "fleet = {{ size = 2, balancer = \"{env}-lb\", port = 8000, addresses = [{addrs}] }}\n\
             lxc_ipv4 = \"{ip}/24\"\n{extra}",
            env = app.env,
            addrs = app.addresses_from(1),
            ip = app.ip(0),
        )
    });
    app.listen = format!("{}:8000", app.ip(0));
    app
}

#[test]
fn a_fleet_behind_nginx_in_a_container_deploys_bluegreen_and_rolls_back_with_no_failed_request() {
    lxc_support::host();
    let t = Instant::now();
    let mark = |what: &str| {
        eprintln!(
            "lxc_fleet_remote: {:>5.1}s {what}",
            t.elapsed().as_secs_f64()
        );
    };
    let app = container_fleet("c", "");
    let lb = format!("{}-lb", app.env);
    app.build("1.0", true);
    app.dfab(&["lxc.bake"]).run_checked();
    mark("fleet.create");
    // The balancer's container is cloned from lxc_template with lxc_ipv4, nginx started in it.
    app.dfab(&["fleet.create"])
        .stdout_has(format!(
            "balancer: container {lb} cloned from dfab-test-base"
        ))
        .stdout_has(format!(
            "nginx started in container {lb} on http://{}",
            app.listen
        ))
        .stdout_has("fleet.create: 2 members")
        .run_checked();
    assert_eq!(app.serves(), "1.0");
    // nginx runs inside the container, not on this machine, with its files there.
    let conf = attach(&lb, "cat /var/lib/dfab/balancer/*/upstream.conf");
    let members = app.running_members();
    assert_eq!(members.len(), 2, "{members:?}");
    assert_eq!(conf.matches(":8000;").count(), 2, "{conf}");
    assert!(!app.path().join(".dfab/balancer").exists());
    app.dfab(&["fleet.status"])
        .stdout_has(format!("in container {lb} on http://{}", app.listen))
        .stdout_has("health 200, in the balancer")
        .run_checked();

    mark("bluegreen");
    let n = app.bluegreen_under_load(
        "1.0",
        "1.1",
        2,
        "bluegreen 1.0 -> 1.1 (balancer in a container)",
    );

    mark("rollback");
    app.rollback_under_load("1.1", "1.0", "rollback to 1.0 (balancer in a container)");

    mark("destroy");
    // fleet.destroy removes the balancer's container dfab made.
    app.dfab(&["-y", "fleet.destroy"])
        .stdout_has(format!("removed the balancer's container {lb}"))
        .run_checked();
    assert!(!app.containers().contains(&lb), "{:?}", app.containers());

    mark("a container without nginx");
    // An existing container named in the key is used as it is: one without nginx is refused
    // before any member is made, and fleet.destroy leaves it (dfab did not make it).
    let made = crate::support::sh(&["lxc-copy", "-s", "-n", "dfab-test-base", "-N", &lb]);
    assert!(made.status.success(), "{made:?}");
    // The base names a gateway, which LXC takes only with an address: the balancer's own.
    let config = format!("/var/lib/lxc/{lb}/config");
    let text = fs_err::read_to_string(&config).unwrap();
    let with_address = format!("{text}lxc.net.0.ipv4.address = {}/24\n", app.ip(0));
    fs_err::write(&config, with_address).unwrap();
    let started = crate::support::sh(&["lxc-start", "-n", &lb]);
    assert!(started.status.success(), "{started:?}");
    attach(&lb, "rm /usr/sbin/nginx");
    app.dfab(&["fleet.create"])
        .status(1)
        .stderr_has(format!(
            "fleet['balancer']: the container {lb} has no nginx"
        ))
        .stderr_has("apt-get install -y nginx-light curl")
        .run_checked();
    assert!(
        app.running_members().is_empty(),
        "{:?}",
        app.running_members()
    );
    app.dfab(&["-y", "fleet.destroy"])
        .stdout_lacks("removed the balancer's container")
        .run_checked();
    assert!(app.containers().contains(&lb), "{:?}", app.containers());
    eprintln!(
        "lxc_fleet_remote: {n} requests in the bluegreen load, whole test {:.1}s",
        t.elapsed().as_secs_f64()
    );
}

#[test]
fn a_fleet_on_an_lxc_host_is_created_serves_and_deploys_through_its_container_balancer() {
    lxc_support::host();
    let t = Instant::now();
    let mark = |what: &str| {
        eprintln!(
            "lxc_fleet_remote: {:>5.1}s {what} (lxc_host)",
            t.elapsed().as_secs_f64()
        );
    };
    let sshd = LoopbackSshd::start();
    let host = lxc_host(&sshd);
    let app = container_fleet("r", &host);
    let lb = format!("{}-lb", app.env);
    // nginx on this machine cannot reach the members on the lxc_host's bridge: refused.
    app.write_env(
        &format!("fleet = {{ size = 2, balancer = \"host\", port = 8000 }}\n{host}"),
        "bluegreen",
        "",
    );
    app.dfab(&["fleet.status"])
        .status(2)
        .stderr_has("'balancer': 'host' runs nginx on this machine, which cannot reach the members")
        .stderr_has(format!("'balancer': '{}-lb'", app.env))
        .run_checked();
    app.write_env(
        &format!(
            "fleet = {{ size = 2, balancer = \"{lb}\", port = 8000, addresses = [{}] }}\n\
             lxc_ipv4 = \"{}/24\"\n{host}",
            app.addresses_from(1),
            app.ip(0)
        ),
        "bluegreen",
        "",
    );
    app.build("1.0", true);
    mark("bake");
    app.dfab(&["lxc.bake"])
        .stdout_has("lxc.bake: baked ")
        .run_checked();
    mark("fleet.create");
    app.dfab(&["fleet.create"])
        .stdout_has(format!("nginx started in container {lb}"))
        .stdout_has("fleet.create: 2 members")
        .run_checked();
    assert_eq!(app.serves(), "1.0");
    let members = app.running_members();
    assert_eq!(members.len(), 2, "{members:?}");
    // user_data ran in each member, the logs stay on this machine, and the health was asked from
    // the balancer's container.
    let logs = app.path().join(".dfab/logs").join(&app.env);
    for m in &members {
        assert_eq!(
            attach(m, "cat /var/lib/dfab/user-data.ran"),
            format!("user_data ran on {m}\n")
        );
        let log = fs_err::read_to_string(logs.join(format!("{m}.log"))).unwrap();
        assert!(
            log.contains(&format!("(from container {lb}) answered 200")),
            "{log}"
        );
    }
    // The members' addresses are on the lxc_host's bridge, and said to be.
    app.dfab(&["fleet.status"])
        .stdout_has("health 200, in the balancer")
        .stdout_has(" on root@127.0.0.1 running")
        .run_checked();

    mark("bluegreen");
    app.bluegreen_under_load("1.0", "1.1", 2, "bluegreen 1.0 -> 1.1 on lxc_host");
    // Everything went through the lxc_host's ssh: without it, dfab cannot see the fleet.
    let port = sshd.port;
    drop(sshd);
    app.dfab(&["fleet.status"])
        .status(1)
        .stderr_has(format!("ssh -o BatchMode=yes -p {port}"))
        .stderr_has("which ssh could not reach")
        .run_checked();
    mark("done");
}

/// The env lines that put the fleet on `sshd` as its `lxc_host`.
fn lxc_host(sshd: &LoopbackSshd) -> String {
    let options = sshd
        .options()
        .iter()
        .map(|o| format!("\"{o}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!("lxc_host = \"root@127.0.0.1\"\nlxc_host_ssh_options = [{options}]")
}

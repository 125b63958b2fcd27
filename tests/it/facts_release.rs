//! `facts` in release mode against a real container: the instance's `current` release and its
//! own deploy lock, with dpkg's state of the package (another env's dpkg-mode install on the
//! same host) kept apart and labelled as dpkg's.

use crate::support::{copy_tree, deploy_app_fixture, project, Dfab, Outcome, TestHost, KEY};

const DEBCONF: &str = "Name: deploy-app/site_name\nTemplate: deploy-app/site_name\n\
Value: facts.example.com\nOwners: deploy-app\nFlags: seen\n\n\
Name: deploy-app/admin_password\nTemplate: deploy-app/admin_password\n\
Value: facts-pw\nOwners: deploy-app\nFlags: seen\n";

/// deploy-app's postinst taken over in the release (it writes outside its tree).
const SETUP: &str = "release_setup_commands = [\"true\"]\n";

fn env(h: &TestHost, name: &str, extra: &str) -> String {
    format!(
        "[environments.{name}]\nhosts = [\"{ip}\"]\nuser = \"root\"\nkey_filename = \"{KEY}\"\n\
         known_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\ntimeout = 5\n\
         package_dir = \"dist/\"\ndebconf = \"debconf.dat\"\npackage_name = \"deploy-app\"\n{extra}",
        ip = h.ip
    )
}

fn dfab(dir: &std::path::Path, args: &[&str]) -> Outcome {
    Dfab::new(dir).args(args).run().ok()
}

// A new user's review found `facts` on a release-mode env showing dpkg's state and the
// dpkg-mode history and lock under /var/lib/dfab (another env's install) as the env's release,
// and nothing of the instance's `current` or its lock.
#[test]
fn facts_release_mode_names_the_instance_s_current_and_lock_not_dpkg_s_history() {
    let h = TestHost::new();
    let toml = format!(
        "{}\n{}",
        env(
            &h,
            "facts-rel",
            &format!("install_mode = \"release\"\n{SETUP}")
        ),
        env(&h, "facts-dpkg", "")
    );
    let p = project(&[("dfab.toml", &toml), ("debconf.dat", DEBCONF)]);
    copy_tree(&deploy_app_fixture(), p.path());
    let dir = p.path();

    // The instance runs 1.0-1; another env installs 1.4-1 through dpkg on the same host.
    dfab(dir, &["facts-rel", "deb.build:version=1.0-1"]);
    dfab(dir, &["facts-rel", "deb.deploy"]);
    dfab(dir, &["facts-dpkg", "deb.build:version=1.4-1"]);
    dfab(dir, &["facts-dpkg", "deb.deploy"]);
    let root = "/srv/deploy-app/facts-rel";
    let current = h.check("root", &format!("readlink {root}/current"));
    let current = current.trim().rsplit('/').next().unwrap().to_string();
    assert!(current.starts_with("1.0-1-"), "{current}");
    dfab(dir, &["facts-rel", "lock:acquire,message=facts-check hold"]);

    let out = dfab(dir, &["facts-rel", "facts", "--json"]);
    let facts: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("facts --json is not JSON ({e}):\n{}", out.stdout));
    let pkg = &facts[0]["packages"][0];
    assert_eq!(pkg["name"], "deploy-app", "{pkg}");
    assert_eq!(pkg["install_mode"], "release", "{pkg}");
    let inst = &pkg["instance"];
    assert_eq!(inst["name"], "facts-rel", "{pkg}");
    assert_eq!(inst["root"], root, "{pkg}");
    assert_eq!(inst["current"]["release"], current.as_str(), "{pkg}");
    assert_eq!(inst["current"]["version"], "1.0-1", "{pkg}");
    assert_eq!(inst["current"]["action"], "switch", "{pkg}");
    assert_eq!(inst["lock"]["state"], "held", "{pkg}");
    assert!(
        inst["lock"]["what"]
            .as_str()
            .is_some_and(|w| w.contains("facts-check hold")),
        "{pkg}"
    );
    // dpkg's 1.4-1 is there, labelled as dpkg's; the dpkg-mode history is not the env's release.
    assert_eq!(pkg["dpkg"]["version"], "1.4-1", "{pkg}");
    assert!(pkg.get("release").is_none(), "{pkg}");
    assert!(pkg.get("version").is_none(), "{pkg}");
    assert!(!out.stdout.contains("reconfigure") && !out.stdout.contains("\"deploy\""));

    // The table says the same, dpkg's column named as not the instance's.
    let out = dfab(dir, &["facts-rel", "facts"]);
    for want in [
        root,
        current.as_str(),
        "facts-check hold",
        "not the instance",
    ] {
        assert!(out.stdout.contains(want), "{want} missing:\n{}", out.stdout);
    }
    // The dpkg-mode env still reads dpkg's state and its own history, as before.
    let out = dfab(dir, &["facts-dpkg", "facts", "--json"]);
    let facts: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let pkg = &facts[0]["packages"][0];
    assert_eq!(pkg["version"], "1.4-1", "{pkg}");
    assert_eq!(pkg["release"]["version"], "1.4-1", "{pkg}");
    assert_eq!(pkg["lock"]["state"], "free", "{pkg}");
    assert!(pkg.get("instance").is_none(), "{pkg}");
    dfab(dir, &["facts-rel", "lock:release"]);
}

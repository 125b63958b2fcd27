//! Fleet input refused before anything runs (a new user's review): a missing `lxc_template`, a
//! balancer container that neither exists nor can be made, a deploy to a fleet with no members,
//! an address listed twice; and `fleet.destroy` saying what it did. No container is made.

use crate::support::{copy_tree, deploy_app_fixture, project, Dfab};

/// A project (the deploy-app fixture) whose env `flr<pid>` has `fleet` and `lines`.
fn app(fleet: &str, lines: &str) -> (tempfile::TempDir, String) {
    crate::support::require_host_setup();
    let env = format!("flr{}", std::process::id());
    let dir = project(&[]);
    copy_tree(&deploy_app_fixture(), dir.path());
    fs_err::write(
        dir.path().join("dfab.toml"),
        format!(
            "[environments.{env}]\npackage_dir = \"dist/\"\n\
             health_url = \"http://127.0.0.1:8000/health\"\n{fleet}\n\
             deploy = [\"deb.build\", \"deb.deploy\"]\ndeploy_strategy = \"bluegreen\"\n{lines}\n"
        ),
    )
    .unwrap();
    (dir, env)
}

#[test]
fn fleet_input_that_cannot_work_is_refused_before_anything_runs() {
    let pid = std::process::id();
    let fleet = "fleet = { size = 1, balancer = \"host\", port = 8000 }";
    // A template that does not exist: the file, the line and the key, before the build runs.
    let (dir, env) = app(fleet, &format!("lxc_template = \"nosuch{pid}\""));
    Dfab::new(dir.path())
        .args([env.as_str(), "deb.build", "lxc.bake"])
        .status(2)
        .stderr_has("dfab.toml:")
        .stderr_has("lxc_template")
        .stderr_has(format!(
            "LXC template \"nosuch{pid}\" does not exist (needed to bake"
        ))
        .stderr_has(format!("`dfab {env} lxc.template`"))
        .stdout_lacks("deb.build")
        .run_checked();
    // A deploy to a fleet with no members: refused before the build, pointing at fleet.create.
    let (dir, env) = app(fleet, "lxc_template = \"dfab-test-base\"");
    Dfab::new(dir.path())
        .args([env.as_str(), "deploy"])
        .status(1)
        .stderr_has(format!("the fleet of `{env}` has no members"))
        .stderr_has(format!("`dfab {env} fleet.create`"))
        .stdout_lacks("deb.build")
        .run_checked();
    // fleet.destroy with no balancer running says so.
    Dfab::new(dir.path())
        .args(["-y", env.as_str(), "fleet.destroy"])
        .stdout_has("no balancer was running")
        .stdout_lacks("balancer stopped")
        .run_checked();
    // A balancer container that does not exist, with no template to make it from: maybe a typo.
    let (dir, env) = app(
        &format!("fleet = {{ size = 1, balancer = \"nosuch-lb{pid}\", port = 8000 }}"),
        &format!("lxc_template = \"nosuch{pid}\""),
    );
    Dfab::new(dir.path())
        .args([env.as_str(), "fleet.create"])
        .status(2)
        .stderr_has("dfab.toml:")
        .stderr_has(format!(
            "fleet['balancer']: container \"nosuch-lb{pid}\" does not exist"
        ))
        .stderr_has("mistyped")
        .stderr_has(format!("`dfab {env} lxc.template`"))
        .run_checked();
    // An address listed twice.
    let (dir, env) = app(
        "fleet = { size = 1, balancer = \"host\", port = 8000, addresses = \
         [\"10.0.3.5/24\", \"10.0.3.6/24\", \"10.0.3.5/24\", \"10.0.3.7/24\"] }",
        "",
    );
    Dfab::new(dir.path())
        .args([env.as_str(), "fleet.status"])
        .status(2)
        .stderr_has("dfab.toml:")
        .stderr_has("fleet['addresses'] lists \"10.0.3.5/24\" twice")
        .run_checked();
}

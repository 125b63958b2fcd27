//! Fault kinds of issue 19 in installing a release: what "unchanged", "changed", rollback's
//! target and a downgrade mean, judged by dpkg and the build's sha256, never by the version.

use super::{history, installed, App, Strategy};
use crate::support::TestHost;

// Kind 9: "unchanged" was judged by the version alone. A build of the same version with other
// content was "already installed: nothing to do" and the hosts kept the old files. The right
// behaviour: refuse (naming the other build) or, with force=yes, install it, by deb.deploy and by
// the wrapped deploy alike.
#[test]
fn k09_another_build_of_the_installed_version_is_never_nothing_to_do() {
    for &s in Strategy::ALL {
        let h = TestHost::new();
        let app = App::new(
            s,
            std::slice::from_ref(&h.ip),
            "deploy = [\"deb.deploy\"]\n",
        );
        app.build("1.0-1", "a");
        app.dfab(&["staging", "deb.deploy"]).ok();
        app.build("1.0-1", "b");
        for task in ["deb.deploy", "deploy"] {
            let out = app.dfab(&["staging", task]);
            assert_ne!(out.code, 0, "{s:?} {task}: {}\n{}", out.stdout, out.stderr);
            assert!(
                out.stderr.contains("installed from another build"),
                "{s:?} {task}: {}",
                out.stderr
            );
            assert!(
                !out.stdout.contains("nothing to do"),
                "{s:?} {task}: {}",
                out.stdout
            );
            assert_eq!(
                h.check("root", "cat /usr/share/deploy-app/VERSION"),
                "1.0-1\na",
                "{s:?} {task}"
            );
        }
        app.dfab(&["staging", "deb.deploy:force=yes"]).ok();
        assert_eq!(
            h.check("root", "cat /usr/share/deploy-app/VERSION"),
            "1.0-1\nb"
        );
        assert_eq!(installed(&h), "1.0-1 ii");
        assert_eq!(history(&h).last().unwrap()[5], "ok");
    }
}

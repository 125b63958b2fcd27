//! Maintainer-script snippets, kept close to debhelper's `autoscripts/` so packages behave alike.

/// `dh_installsystemd` `postinst-systemd-enable` (one per unit with an `[Install]` section).
pub(crate) const POSTINST_SYSTEMD_ENABLE: &str = r#"if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	# The following line should be removed in trixie or trixie+1
	deb-systemd-helper unmask #UNITFILE# >/dev/null || true

	# was-enabled defaults to true, so new installations run enable.
	if deb-systemd-helper --quiet was-enabled #UNITFILE#; then
		# Enables the unit on first installation, creates new
		# symlinks on upgrades if the unit file has changed.
		deb-systemd-helper enable #UNITFILE# >/dev/null || true
	else
		# Update the statefile to add new symlinks (if any), which need to be
		# cleaned up on purge. Also remove old symlinks.
		deb-systemd-helper update-state #UNITFILE# >/dev/null || true
	fi
fi
"#;

/// `dh_installsystemd` `postinst-systemd-restart` (compat 13 restarts after upgrade).
pub(crate) const POSTINST_SYSTEMD_RESTART: &str = r#"if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		if [ -n "$2" ]; then
			_dh_action=restart
		else
			_dh_action=start
		fi
		deb-systemd-invoke $_dh_action #UNITFILES# >/dev/null || true
	fi
fi
"#;

/// `dh_installsystemd` `prerm-systemd-restart`: stop only on removal.
pub(crate) const PRERM_SYSTEMD_RESTART: &str = r#"if [ -z "${DPKG_ROOT:-}" ] && [ "$1" = remove ] && [ -d /run/systemd/system ] ; then
	deb-systemd-invoke stop #UNITFILES# >/dev/null || true
fi
"#;

/// `dh_installsystemd` `postrm-systemd`.
pub(crate) const POSTRM_SYSTEMD: &str = r#"if [ "$1" = "purge" ]; then
	if [ -x "/usr/bin/deb-systemd-helper" ]; then
		deb-systemd-helper purge #UNITFILES# >/dev/null || true
	fi
fi
"#;

/// `dh_installsystemd` `postrm-systemd-reload-only`.
pub(crate) const POSTRM_SYSTEMD_RELOAD: &str = r#"if [ "$1" = remove ] && [ -d /run/systemd/system ] ; then
	systemctl --system daemon-reload >/dev/null || true
fi
"#;

/// `dh_installtmpfiles` `postinst-init-tmpfiles`.
pub(crate) const POSTINST_TMPFILES: &str = r#"if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	if [ -x "$(command -v systemd-tmpfiles)" ]; then
		systemd-tmpfiles ${DPKG_ROOT:+--root="$DPKG_ROOT"} --create #TMPFILES# >/dev/null || true
	fi
fi
"#;

/// `dh_installinit` `preinst-init-chmod` (debhelper 13.11).
pub(crate) const PREINST_INIT_CHMOD: &str = r#"if [ "$1" = "install" ] && [ -n "$2" ] && [ -e "/etc/init.d/#SCRIPT#" ] ; then
	chmod +x "/etc/init.d/#SCRIPT#" >/dev/null || true
fi
"#;

/// `dh_installinit` `postinst-init-restart` (compat ≥ 10 restarts after upgrade), with
/// `defaults` and `--skip-systemd-native` (compat ≥ 12) filled in.
pub(crate) const POSTINST_INIT: &str = r#"if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	if [ -z "${DPKG_ROOT:-}" ] && [ -x "/etc/init.d/#SCRIPT#" ]; then
		update-rc.d #SCRIPT# defaults >/dev/null
		if [ -n "$2" ]; then
			_dh_action=restart
		else
			_dh_action=start
		fi
		invoke-rc.d --skip-systemd-native #SCRIPT# $_dh_action || exit 1
	fi
fi
"#;

/// `dh_installinit` `prerm-init-norestart` (stops the service on remove only).
pub(crate) const PRERM_INIT: &str = r#"if [ -z "${DPKG_ROOT:-}" ] && [ "$1" = remove ] && [ -x "/etc/init.d/#SCRIPT#" ] ; then
	invoke-rc.d --skip-systemd-native #SCRIPT# stop || exit 1
fi
"#;

/// `dh_installinit` `postrm-init`.
pub(crate) const POSTRM_INIT: &str = r#"if [ "$1" = "remove" ] && [ -x "/etc/init.d/#SCRIPT#" ] ; then
	chmod -x "/etc/init.d/#SCRIPT#" >/dev/null || true
fi
if [ -z "${DPKG_ROOT:-}" ] && [ "$1" = "purge" ] ; then
	update-rc.d #SCRIPT# remove >/dev/null
fi
"#;

/// `dh_installdebconf` `postrm-debconf`.
pub(crate) const POSTRM_DEBCONF: &str = r#"if [ "$1" = purge ] && [ -e /usr/share/debconf/confmodule ]; then
	. /usr/share/debconf/confmodule
	db_purge
fi
"#;

/// dfab's own: create or update the virtualenv from the shipped wheelhouse, offline.
pub(crate) const POSTINST_VENV: &str = r##"if [ "$1" = "configure" ]; then
	if [ ! -x "#VENV#/bin/python3" ]; then
		python3 -m venv "#VENV#"
	fi
	"#VENV#/bin/python3" -m pip install --quiet --disable-pip-version-check --no-index --upgrade --find-links "#WHEELHOUSE#" -r "#REQUIREMENTS#"
fi
"##;

/// dfab's own: the virtualenv is not dpkg's to track, so remove it with the package.
pub(crate) const POSTRM_VENV: &str = r##"if [ "$1" = "remove" ] || [ "$1" = "purge" ]; then
	rm -rf "#VENV#"
fi
"##;

/// Fills `#NAME#` placeholders.
#[must_use]
pub(crate) fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("#{name}#"), value);
    }
    out
}

#!/usr/bin/env bash
# rollback in release mode (install_mode = 'release': a `current` symlink switch and a restart of
# the instance's gunicorn) against rollback in dpkg mode (a reinstall of the kept .deb, whose
# postinst rebuilds the venv with pip, collects the static files and migrates) for
# fixtures/djdemo on one container with PostgreSQL and nginx: both modes side by side (the
# dpkg install on :80 and :8001, the release instance `rel` on :9001 with its own database), two
# versions deployed each way, then RUNS (default 5) timed rollbacks each way, alternating the two
# versions. Medians and the ratio (target <= 0.1).
# Needs root and `bash scripts/setup-host`. Container dfab-bench-rdj-0 at 10.0.3.229, cloned from
# the template dfab-bench-rdj-tpl (lxc_packages, from the cached rootfs after the first build).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
bench_init bench-release
RUNS=${RUNS:-5}
c=dfab-bench-rdj-0 tpl=dfab-bench-rdj-tpl ip=10.0.3.229
if lxc-info -n "$c" 2>/dev/null | grep -q RUNNING; then bench_die "$c is running (another bench?)"; fi
lxc-destroy -f -n "$c" >/dev/null 2>&1 || true
lxc-destroy -f -n "$tpl" >/dev/null 2>&1 || true
# Destroyed by bench_cleanup, the clone before its template.
# shellcheck disable=SC2034 # read by bench_cleanup
names=("$c" "$tpl")

proj=$WORK/djdemo
mkdir -p "$proj"
tar -C fixtures/djdemo --exclude=./.dfab --exclude=./dist -cf - . | tar -C "$proj" -xf -
rm "$proj/environments.py"
# One wheel cache across runs: pip downloads the wheels once.
mkdir -p target/bench-djdemo-wheelhouse "$proj/.dfab"
ln -s "$PWD/target/bench-djdemo-wheelhouse" "$proj/.dfab/wheelhouse"
for env in dpkg rel; do
  for q in "site_name Notes of $env" "db_password $env-bench-pw" "allowed_hosts $ip" "migrate true"; do
    printf 'Name: djdemo/%s\nTemplate: djdemo/%s\nValue: %s\nOwners: djdemo\nFlags: seen\n\n' \
      "${q%% *}" "${q%% *}" "${q#* }"
  done >"$proj/debconf.$env.dat"
done
# The release instance's restart: dfab runs it on each switch; the floor below runs it alone.
start_cmd=$(cat <<'SH'
set -e; install -d -o djdemo -g djdemo "$DFAB_SHARED/run"; pf="$DFAB_SHARED/run/gunicorn.pid"
if [ -s "$pf" ]; then p=$(cat "$pf"); kill -QUIT "$p" 2>/dev/null || true; while kill -0 "$p" 2>/dev/null; do sleep 0.02; done; fi
cd "$DFAB_RELEASE/usr/share/djdemo/app"
DJDEMO_SETTINGS="$DFAB_RELEASE/etc/djdemo/settings.json" runuser -u djdemo -- "$DFAB_RELEASE/opt/djdemo/venv/bin/gunicorn" --daemon --pid "$pf" --bind 127.0.0.1:9001 --workers 1 djdemo.wsgi:application
SH
)
common() { # env
  printf '[environments.%s]\nlxc = "%s"\nlxc_template = "%s"\nlxc_ipv4 = "%s/24"\nlxc_transport = "attach"\n' \
    "$1" "$c" "$tpl" "$ip"
  printf 'lxc_packages = ["postgresql", "nginx-light", "sudo", "curl"]\npackage_name = "djdemo"\n'
  printf 'package_dir = "dist/"\nwheel = true\nvenv_path = "/opt/djdemo/venv"\ndebconf = "debconf.%s.dat"\n' "$1"
}
{
  common dpkg
  cat <<'TOML'
web_restart_command = "systemctl restart djdemo"
health_url = "http://127.0.0.1/health"
health_timeout = 30

TOML
  common rel
  # As tests/it/release_mode_djdemo.rs: djdemo's postinst work per instance, gunicorn on :9001.
  cat <<'TOML'
install_mode = "release"
instance = "rel"
migrate_command = '"$DFAB_RELEASE/usr/bin/djdemo-manage" migrate --noinput'
health_url = "http://127.0.0.1:9001/health"
health_timeout = 30
TOML
  printf "release_start_command = '''%s'''\n" "$start_cmd"
  cat <<'TOML'
release_setup_commands = [
  '''getent passwd djdemo >/dev/null || useradd --system --user-group --no-create-home --shell /usr/sbin/nologin djdemo''',
  '''set -e; set -a; . "$DFAB_CONFIG/debconf.env"; . "$DFAB_CONFIG/debconf-secrets.env"; set +a
s="$DFAB_RELEASE/etc/djdemo/settings.json"; mkdir -p "$DFAB_RELEASE/etc/djdemo"
if [ -f "$DFAB_SHARED/settings.json" ]; then cp -p "$DFAB_SHARED/settings.json" "$s"; fi
DJDEMO_RELEASE=$(basename "$DFAB_RELEASE") DJDEMO_DB_NAME="djdemo_$DFAB_INSTANCE" DJDEMO_DB_USER="djdemo_$DFAB_INSTANCE" DJDEMO_STATIC_ROOT="$DFAB_RELEASE/static" python3 usr/share/djdemo/write_settings.py "$s"
cp -p "$s" "$DFAB_SHARED/settings.json"''',
  '''set -e; timeout 60 sh -c 'until pg_isready -q; do sleep 0.2; done'
r="djdemo_$DFAB_INSTANCE"
DJDEMO_DB_PASSWORD=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["db_password"])' etc/djdemo/settings.json)
export DJDEMO_DB_PASSWORD
printf '%s\n' '\getenv pw DJDEMO_DB_PASSWORD' "SELECT 'CREATE ROLE $r LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$r')\gexec" "ALTER ROLE $r LOGIN PASSWORD :'pw';" "SELECT 'CREATE DATABASE $r OWNER $r' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$r')\gexec" | runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null''',
  '''set -e; install -d -o djdemo -g djdemo "$DFAB_RELEASE/static"; "$DFAB_RELEASE/usr/bin/djdemo-manage" collectstatic --noinput --verbosity 0''',
]
TOML
} >"$proj/dfab.toml"

run() { (cd "$proj" && "$DFAB" -q -y "$@" >/dev/null) || bench_die "dfab $* failed"; }
run dpkg lxc.template
run dpkg releases
lxc-attach -n "$c" --clear-env -- sh -c "timeout 60 sh -c 'until pg_isready -q; do sleep 0.2; done'"
for v in 1.0 2.0; do
  run dpkg "deb.build:version=$v"
  run dpkg deb.deploy:allow_downgrade=yes
  run rel deb.deploy
done

timed() { # env task
  local t
  t=$(now)
  run "$1" "$2"
  since "$t"
}
# A plain rollback in either mode goes down the history and stops at its first release: each run
# names the other version (dpkg mode) or the other release (release mode), so every run is one
# real rollback of the same kind.
mapfile -t rels < <(lxc-attach -n "$c" --clear-env -- ls /srv/djdemo/rel/releases | sort)
[ "${#rels[@]}" -ge 2 ] || bench_die "release mode kept fewer than two releases (${rels[*]:-none})"
rel1=${rels[0]} rel2=${rels[1]}
dpkg_times=() rel_times=() v=1.0 r=$rel1
for _ in $(seq "$RUNS"); do
  dpkg_times+=("$(timed dpkg "rollback:version=$v")")
  rel_times+=("$(timed rel "rollback:version=$r")")
  if [ "$v" = 1.0 ]; then v=2.0 r=$rel2; else v=1.0 r=$rel1; fi
done
# The floor: the instance's own restart alone, run in the container on the current release
# (gunicorn's graceful stop, its boot, the first 2xx from /health), without dfab or ssh.
cur=$(lxc-attach -n "$c" --clear-env -- readlink -f /srv/djdemo/rel/current)
floor_times=()
for _ in $(seq "$RUNS"); do
  t=$(now)
  lxc-attach -n "$c" --clear-env -- env DFAB_SHARED=/srv/djdemo/rel/shared DFAB_RELEASE="$cur" \
    sh -c "$start_cmd
until curl -fsS -o /dev/null http://127.0.0.1:9001/health 2>/dev/null; do sleep 0.01; done" ||
    bench_die "the restart alone failed"
  floor_times+=("$(since "$t")")
done
d=$(printf '%s\n' "${dpkg_times[@]}" | median)
r=$(printf '%s\n' "${rel_times[@]}" | median)
f=$(printf '%s\n' "${floor_times[@]}" | median)
echo "djdemo rollback, dpkg mode (reinstall: pip, collectstatic, migrate): median ${d} s  (${dpkg_times[*]})"
echo "djdemo rollback, release mode (symlink switch, restart):            median ${r} s  (${rel_times[*]})"
echo "floor, the instance's restart alone (stop, boot, first 200):    median ${f} s  (${floor_times[*]})"
echo "release / dpkg: $(ratio "$r" "$d") (target <= 0.1); floor / dpkg: $(ratio "$f" "$d"); dfab over the floor: $(ratio "$r" "$f")x"

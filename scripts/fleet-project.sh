# shellcheck shell=bash
# What scripts/bench-fleet.sh and scripts/demo-fleet share: a fleet project made from
# fixtures/deploy-app, whose members serve the package's `www/` with python's http.server
# (started by user_data on first boot and at every later boot: the test base's init starts only
# sshd). Sourced from the repository root after `set -euo pipefail`.

# fleet_project DIR ENV SIZE LISTEN FIRST_ADDR STRATEGY: write the project into DIR; the members
# take SIZE*3 addresses from 10.0.3.FIRST_ADDR up.
fleet_project() {
  local dir=$1 env=$2 size=$3 listen=$4 first=$5 strategy=$6 addrs="" i
  mkdir -p "$dir"
  cp -r fixtures/deploy-app/. "$dir/"
  rm -rf "$dir/share"
  mkdir -p "$dir/www"
  echo ok > "$dir/www/health"
  printf 'etc/deploy-app etc\nwww usr/share/deploy-app\n' > "$dir/debian/install"
  cat > "$dir/user_data.sh" <<'UD'
#!/bin/sh
set -e
cat > /usr/local/sbin/fleet-app <<'APP'
#!/bin/sh
cd /usr/share/deploy-app/www
setsid python3 -m http.server 8000 --bind 0.0.0.0 >/var/log/fleet-app.log 2>&1 </dev/null &
APP
chmod 0755 /usr/local/sbin/fleet-app
sed -i 's|^exec /usr/sbin/sshd|/usr/local/sbin/fleet-app\nexec /usr/sbin/sshd|' /sbin/dfab-test-init
/usr/local/sbin/fleet-app
UD
  for ((i = first; i < first + size * 3; i++)); do addrs+="\"10.0.3.$i/24\", "; done
  cat > "$dir/dfab.toml" <<TOML
[environments.$env]
lxc_template = "dfab-test-base"
package_dir = "dist/"
fleet = { size = $size, balancer = "host", port = 8000, listen = "$listen", addresses = [${addrs%, }] }
health_url = "http://127.0.0.1:8000/health"
user_data = "user_data.sh"
deploy = ["deb.build"]
deploy_strategy = "$strategy"
TOML
}

# fleet_version DIR VERSION: what the next build serves, and its changelog entry.
fleet_version() {
  local dir=$1 v=$2
  echo "$v" > "$dir/www/version"
  sed -i "1s/(.*)/($v)/" "$dir/debian/changelog"
}

# fleet_load URL OUT: GET URL every 10 ms until OUT.stop exists, one status code a line in OUT.
fleet_load() {
  local url=$1 out=$2
  : > "$out"
  while [ ! -e "$out.stop" ]; do
    curl -s -o /dev/null -m 5 -w '%{http_code}\n' "$url" >> "$out" || echo 000 >> "$out"
    sleep 0.01
  done
}

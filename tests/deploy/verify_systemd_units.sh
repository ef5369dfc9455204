#!/usr/bin/env bash
# Checks deploy/systemd/*.service with systemd-analyze verify, pointed at the binaries of this build (verify wants
# every ExecStart binary to exist), that each unit has the hardening and limits README promises, and that the
# production example configs pass --check-config.
# Usage: verify_systemd_units.sh SOURCE_DIR BIN_DIR
set -euo pipefail
source_dir=$1
bin_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for unit in "$source_dir"/deploy/systemd/*.service; do
  name=$(basename "$unit")
  sed "s|/usr/local/bin/|$bin_dir/|g" "$unit" >"$work/$name"
  for setting in User=clientreg NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes LimitNOFILE=65536 \
    KillSignal=SIGTERM UMask=0077; do
    if ! grep -qx "$setting" "$unit"; then
      echo "$name: missing $setting" >&2
      exit 1
    fi
  done
done
grep -qx 'StateDirectory=clientreg' "$source_dir/deploy/systemd/clientreg-server.service" ||
  { echo "clientreg-server.service: missing StateDirectory=clientreg" >&2; exit 1; }
grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$source_dir/deploy/systemd/clientreg-gateway.service" ||
  { echo "clientreg-gateway.service: missing ExecReload (SIGHUP reloads its TLS certificate)" >&2; exit 1; }

# verify prints warnings and errors on stderr and exits non-zero on errors; a warning fails this test too.
if ! output=$(systemd-analyze verify --man=no "$work"/*.service 2>&1) || [[ -n $output ]]; then
  echo "systemd-analyze verify:" >&2
  echo "$output" >&2
  exit 1
fi
# The production example configs the units point at are valid. They name TLS files under /etc/clientreg/tls/, which
# a build machine does not have, and --check-config reads and parses each: check them against throwaway PEM files of
# the same names (a self-signed certificate, or its key for *.key).
tls="$work/tls"
mkdir "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=clientreg-check-config \
  -keyout "$tls/check.key" -out "$tls/check.pem" 2>/dev/null
for config in server gateway; do
  production="$source_dir/deploy/config/$config.production.textproto"
  for file in $(grep -o '/etc/clientreg/tls/[^"]*' "$production"); do
    case $file in
      *.key) cp "$tls/check.key" "$tls/$(basename "$file")" ;;
      *) cp "$tls/check.pem" "$tls/$(basename "$file")" ;;
    esac
  done
  sed "s|/etc/clientreg/tls/|$tls/|g" "$production" >"$work/$config.production.textproto"
  "$bin_dir/clientreg-$config" --check-config --config="$work/$config.production.textproto" >/dev/null
done
echo "verified: $(cd "$work" && echo *.service) and the production configs"

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
# The production example configs the units point at are valid.
"$bin_dir/clientreg-server" --check-config --config="$source_dir/deploy/config/server.production.textproto" >/dev/null
# The gateway's --check-config loads its TLS files, which live under /etc/clientreg/tls on a real host: here a
# throwaway self-signed pair stands in for them, at the same file names.
mkdir "$work/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=clientreg.example \
  -keyout "$work/tls/gateway.key" -out "$work/tls/gateway.chain.pem" 2>/dev/null
sed "s|/etc/clientreg/tls/|$work/tls/|g" "$source_dir/deploy/config/gateway.production.textproto" \
  >"$work/gateway.production.textproto"
grep -q "$work/tls/gateway.key" "$work/gateway.production.textproto" ||
  { echo "gateway.production.textproto: no tls files under /etc/clientreg/tls/" >&2; exit 1; }
"$bin_dir/clientreg-gateway" --check-config --config="$work/gateway.production.textproto" >/dev/null
echo "verified: $(cd "$work" && echo *.service) and the production configs"

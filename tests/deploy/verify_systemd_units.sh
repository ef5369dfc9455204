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

# verify prints warnings and errors on stderr and exits non-zero on errors; a warning fails this test too.
if ! output=$(systemd-analyze verify --man=no "$work"/*.service 2>&1) || [[ -n $output ]]; then
  echo "systemd-analyze verify:" >&2
  echo "$output" >&2
  exit 1
fi
# The production example configs the units point at are valid.
"$bin_dir/clientreg-server" --check-config --config="$source_dir/deploy/config/server.production.textproto" >/dev/null
"$bin_dir/clientreg-gateway" --check-config --config="$source_dir/deploy/config/gateway.production.textproto" >/dev/null
echo "verified: $(cd "$work" && echo *.service) and the production configs"

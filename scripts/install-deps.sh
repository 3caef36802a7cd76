#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine of this kind:
# the real peers (OpenSSH server, PostgreSQL 15, MariaDB), the clients, Chromium for UI tests,
# then the npm packages. Idempotent: each step is skipped when its tool is already there.
set -euo pipefail

need=()
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
command -v psql >/dev/null 2>&1 || need+=(postgresql-client-15)
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || need+=(mariadb-client)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v sshpass >/dev/null 2>&1 || need+=(sshpass)
command -v oathtool >/dev/null 2>&1 || need+=(oathtool)
command -v asciinema >/dev/null 2>&1 || need+=(asciinema)
# Only bench/postgres.ts uses it; it is small, and one install step is easier to keep right.
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
# Ephemeral SSH users and SSH rotation: the provisioner account manages host users through sudo.
command -v sudo >/dev/null 2>&1 || need+=(sudo)
# The plain TCP relay bench/mysql.ts compares against.
command -v socat >/dev/null 2>&1 || need+=(socat)
# Several nodes: the cluster e2e tests and `npm run demo:ha` put HAProxy (TCP mode) in front of three nodes.
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)

if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages (${need[*]}); run as root or install them" >&2
    exit 1
  fi
  # Debian's own services must not start during install: the tests start their own peers.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

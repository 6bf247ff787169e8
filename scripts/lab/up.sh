#!/usr/bin/env bash
# The no-Docker way to start the same stack as docker-compose.yml on this machine:
# provisions the lab, makes sure Postgres and Redis run, starts Asterisk from the chroot with
# asterisk-config/ on the standard ports (SIP 5060/udp on 127.0.0.1, ARI 8088), creates the
# `hotline` database, and runs the app in the foreground. Ctrl-C stops the app and Asterisk.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lab/ensure-node.sh
[ -f node_modules/.package-lock.json ] || npm install --no-save --no-audit --no-fund --loglevel=error
bash scripts/lab/provision.sh
export ARI_PASSWORD=${ARI_PASSWORD:-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}
export AGENT_PASSWORD=${AGENT_PASSWORD:-agent-dev-secret}
export ARI_PORT=${ARI_PORT:-8088} SIP_PORT=${SIP_PORT:-5060}
export ARI_URL=${ARI_URL:-http://127.0.0.1:$ARI_PORT}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/hotline}
db=$(node -e 'console.log(new URL(process.argv[1]).pathname.slice(1))' "$DATABASE_URL")
admin=$(node -e 'const u=new URL(process.argv[1]);u.pathname="/postgres";console.log(u.toString())' "$DATABASE_URL")
psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 || psql "$admin" -qc "CREATE DATABASE \"$db\""
bash scripts/lab/asterisk.sh start dev >/dev/null
trap 'bash scripts/lab/asterisk.sh stop dev' EXIT
echo "[lab] Asterisk up: SIP udp 127.0.0.1:$SIP_PORT, ARI $ARI_URL; agents agent1001-1003 use AGENT_PASSWORD=$AGENT_PASSWORD"
node src/cli/hotline.ts start

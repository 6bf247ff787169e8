#!/usr/bin/env bash
# Installs what the tests and the no-Docker start need, reusing whatever is already there:
# SIPp, baresip, Chromium, espeak-ng and sox, a cached Debian sid chroot with Asterisk 22, the IVR
# prompt WAVs, redis-server and an en_US.UTF-8 locale for the tests that start a private Redis,
# and Postgres/Redis when neither they nor a Docker engine answer. Idempotent;
# a warm run takes about a second.
set -euo pipefail
. "$(dirname "$0")/common.sh"

need_pkgs=()
command -v curl >/dev/null || need_pkgs+=(curl)
command -v sipp >/dev/null || need_pkgs+=(sip-tester)
command -v baresip >/dev/null || need_pkgs+=(baresip-core)
# Headless browser for the wallboard e2e test (driven by playwright-core).
command -v chromium >/dev/null || need_pkgs+=(chromium)
# Text-to-speech for the IVR prompts (scripts/lab/prompts.sh).
command -v espeak-ng >/dev/null || need_pkgs+=(espeak-ng)
command -v sox >/dev/null || need_pkgs+=(sox)
command -v debootstrap >/dev/null || [ -x "$ASTERISK_CHROOT/usr/sbin/asterisk" ] || need_pkgs+=(debootstrap)
# Tests that start a private redis-server (event-pipeline, routing-claim-collation) need the
# binary even when the shared Redis runs elsewhere (Docker).
command -v redis-server >/dev/null || need_pkgs+=(redis-server)
# routing-claim-collation runs one under en_US.UTF-8, a linguistic collation: Redis takes
# LC_COLLATE from the environment and Lua's < on strings follows it. Debian ships the locale's
# source in the locales package; it is compiled below.
collation_locale() { locale -a 2>/dev/null | grep -qix 'en_US\.utf-\?8'; }
collation_locale || [ -f /usr/share/i18n/locales/en_US ] || need_pkgs+=(locales)

docker_up() { command -v docker >/dev/null && timeout 2 docker info >/dev/null 2>&1; }
pg_url=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
redis_url=${TEST_REDIS_URL:-redis://127.0.0.1:6379}
pg_hostport=$(node -e 'const u=new URL(process.argv[1]);console.log(u.hostname+" "+(u.port||5432))' "$pg_url")
redis_hostport=$(node -e 'const u=new URL(process.argv[1]);console.log(u.hostname+" "+(u.port||6379))' "$redis_url")
start_pg=; start_redis=
if ! port_open $pg_hostport && ! docker_up; then
  command -v pg_ctlcluster >/dev/null || need_pkgs+=(postgresql)
  start_pg=1
fi
if ! port_open $redis_hostport && ! docker_up; then
  start_redis=1
fi
[ ${#need_pkgs[@]} -eq 0 ] || apt_install "${need_pkgs[@]}"
if ! collation_locale; then
  log "generating the en_US.UTF-8 locale"
  as_root localedef -i en_US -f UTF-8 en_US.UTF-8 || die "localedef en_US.UTF-8 failed"
  collation_locale || die "en_US.UTF-8 is still missing after localedef"
fi

if [ -n "$start_pg" ]; then
  log "starting Postgres"
  ver=$(ls /etc/postgresql | sort -n | tail -1)
  # Tests connect over TCP as postgres without a password, as on the CI machine kind.
  hba=/etc/postgresql/$ver/main/pg_hba.conf
  grep -q '^host all all 127.0.0.1/32 trust' "$hba" || sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 50); do port_open $pg_hostport && break; sleep 0.2; done
  port_open $pg_hostport || die "Postgres did not start"
  su postgres -c "psql -tc \"SELECT 1 FROM pg_database WHERE datname='test'\" | grep -q 1 || createdb test"
fi
if [ -n "$start_redis" ]; then
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 50); do port_open $redis_hostport && break; sleep 0.2; done
  port_open $redis_hostport || die "Redis did not start"
fi

# Asterisk 22 is not in Debian 12: a sid chroot holds it (LAB.md). Built once per machine,
# into a temporary folder first so an interrupted build is never mistaken for a cache.
# The marker names the packages the chroot was built with: a changed list rebuilds it.
CHROOT_PACKAGES=asterisk,asterisk-modules,asterisk-moh-opsound-gsm,ca-certificates
marker="$ASTERISK_CHROOT/.hotline-packages"
if ! chroot "$ASTERISK_CHROOT" asterisk -V >/dev/null 2>&1 || [ "$(cat "$marker" 2>/dev/null)" != "$CHROOT_PACKAGES" ]; then
  log "building the Asterisk chroot in $ASTERISK_CHROOT (about a minute, once per machine)"
  tmp="$ASTERISK_CHROOT.tmp"
  as_root rm -rf "$tmp"
  mkdir -p "$(dirname "$ASTERISK_CHROOT")"
  as_root debootstrap --variant=minbase --include=$CHROOT_PACKAGES sid "$tmp" >"$HOTLINE_CACHE/debootstrap.log" 2>&1 \
    || die "debootstrap failed; see $HOTLINE_CACHE/debootstrap.log"
  echo "$CHROOT_PACKAGES" | as_root tee "$tmp/.hotline-packages" >/dev/null
  for m in proc; do mountpoint -q "$ASTERISK_CHROOT/$m" && as_root umount "$ASTERISK_CHROOT/$m"; done
  as_root rm -rf "$ASTERISK_CHROOT"
  as_root mv "$tmp" "$ASTERISK_CHROOT"
fi
# Warm the prompt cache now, so asterisk.sh start only copies it.
sounds=$("$REPO_ROOT/scripts/lab/prompts.sh")
log "ready: $(chroot "$ASTERISK_CHROOT" asterisk -V), $(sipp -v 2>/dev/null | grep -o 'SIPp v[0-9.]*' | head -1), baresip $(dpkg-query -W -f='${Version}' baresip-core 2>/dev/null), prompts in $sounds"

#!/usr/bin/env bash
# Starts or stops one Asterisk in the cached sid chroot with the project's asterisk-config/.
#   asterisk.sh start NAME   renders config into the chroot under /etc/hotline-NAME, starts
#                            Asterisk in the foreground in the background, waits for ARI,
#                            prints its PID. Ports and secrets come from the environment
#                            (see asterisk-config/render.sh).
#   asterisk.sh stop NAME    stops it and keeps its log in $AST_LOG_KEEP (if set).
#   asterisk.sh kill NAME    kill -9: a crash, as tests of outages need.
set -euo pipefail
. "$(dirname "$0")/common.sh"
cmd=${1:?start|stop}; name=${2:-dev}
root=$ASTERISK_CHROOT
etc=/etc/hotline-$name; run=/var/run/hotline-$name; logdir=/var/log/hotline-$name
pidfile="$root$run/lab.pid"

prepare_chroot() {
  mountpoint -q "$root/proc" || as_root mount -t proc proc "$root/proc"
  as_root mkdir -p "$root$run" "$root$logdir" "$root/var/lib/asterisk" "$root/var/spool/asterisk/recording" "$root/var/run/asterisk"
  # Keep every name lookup on this machine: without these each call stalls ~5 s (LAB.md).
  printf '127.0.0.1 localhost %s\n::1 localhost\n' "$(hostname)" | as_root tee "$root/etc/hosts" >/dev/null
  echo 'hosts: files' | as_root tee "$root/etc/nsswitch.conf" >/dev/null
  echo 'nameserver 127.0.0.1' | as_root tee "$root/etc/resolv.conf" >/dev/null
  # IVR prompts: sound:hotline/<lang>/<name> resolves under Asterisk's sounds dir. The folder
  # is replaced whole, so renamed or removed prompts do not linger, but only when the cache
  # changed: other Asterisks in this chroot may be playing from it right now.
  local sounds dst=$root/usr/share/asterisk/sounds/hotline
  sounds=$("$REPO_ROOT/scripts/lab/prompts.sh")
  if [ "$(cat "$dst/.source" 2>/dev/null)" != "$sounds" ]; then
    as_root mkdir -p "$(dirname "$dst")"
    as_root rm -rf "$dst.new"
    as_root cp -r "$sounds/hotline" "$dst.new"
    echo "$sounds" | as_root tee "$dst.new/.source" >/dev/null
    as_root rm -rf "$dst"
    as_root mv "$dst.new" "$dst"
  fi
}

case "$cmd" in
start)
  [ -x "$root/usr/sbin/asterisk" ] || die "no Asterisk chroot at $root; run scripts/lab/provision.sh"
  prepare_chroot
  AST_ETC_DIR=$etc AST_RUN_DIR=$run AST_LOG_DIR=$logdir "$REPO_ROOT/asterisk-config/render.sh" "$root$etc"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then die "Asterisk '$name' already runs (pid $(cat "$pidfile"))"; fi
  : > "$root$logdir/messages.log"
  # -f: foreground, so this PID is Asterisk's own and a kill stops it.
  nohup chroot "$root" /usr/sbin/asterisk -C "$etc/asterisk.conf" -f -n >"$root$logdir/stdout.log" 2>&1 &
  pid=$!
  echo "$pid" > "$pidfile"
  url="http://${ARI_BIND:-127.0.0.1}:${ARI_PORT:-8088}/ari/asterisk/info"
  for _ in $(seq 150); do
    if curl -fsS -o /dev/null -u "${ARI_USER:-hotline}:$ARI_PASSWORD" "$url" 2>/dev/null; then echo "$pid"; exit 0; fi
    kill -0 "$pid" 2>/dev/null || { cat "$root$logdir/stdout.log" >&2; die "Asterisk exited during start"; }
    sleep 0.2
  done
  tail -50 "$root$logdir/messages.log" >&2 || true
  die "ARI did not answer at $url within 30 s"
  ;;
stop|kill)
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    if [ "$cmd" = kill ]; then kill -9 "$pid" 2>/dev/null || true; else kill "$pid" 2>/dev/null || true; fi
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  fi
  if [ -n "${AST_LOG_KEEP:-}" ]; then mkdir -p "$AST_LOG_KEEP"; cp "$root$logdir"/*.log "$AST_LOG_KEEP"/ 2>/dev/null || true; fi
  ;;
*) die "usage: asterisk.sh start|stop|kill NAME" ;;
esac

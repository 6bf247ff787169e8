# Shared settings for the lab scripts (sourced, not run).
# HOTLINE_CACHE keeps what is slow to make (Node 24, the Asterisk chroot) across runs.
HOTLINE_CACHE=${HOTLINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hotline}
ASTERISK_CHROOT=${ASTERISK_CHROOT:-$HOTLINE_CACHE/asterisk-sid}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
log() { printf '[lab] %s\n' "$*" >&2; }
die() { printf '[lab] ERROR: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "needs root for: $*"; fi; }
apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -q >/dev/null || die "apt-get update failed"; apt_updated=1; fi
  log "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null || die "apt-get install $* failed"
}
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

#!/bin/sh
# Renders asterisk-config/*.conf into DEST, filling @NAME@ placeholders from the environment.
# Used by the test lab, the no-Docker start and the Docker image alike.
# Usage: render.sh DEST_DIR
set -eu
src=$(cd "$(dirname "$0")" && pwd)
dest=${1:?usage: render.sh DEST_DIR}
mkdir -p "$dest"
: "${ARI_PASSWORD:?ARI_PASSWORD must be set}"
: "${AGENT_PASSWORD:?AGENT_PASSWORD must be set}"
: "${AST_ETC_DIR:=$dest}"
: "${AST_RUN_DIR:=/var/run/asterisk}"
: "${AST_LOG_DIR:=/var/log/asterisk}"
: "${ARI_BIND:=127.0.0.1}" "${ARI_PORT:=8088}" "${ARI_USER:=hotline}" "${ARI_APP:=hotline}"
: "${SIP_BIND:=127.0.0.1}" "${SIP_PORT:=5060}" "${SIP_EXTERNAL:=}"
: "${RTP_START:=10000}" "${RTP_END:=20000}" "${TRUNK_MATCH:=127.0.0.2}" "${TRUNK_CONTACT:=sip:127.0.0.2:5060}"
# Escape characters that are special in a sed replacement.
esc() { printf '%s' "$1" | sed -e 's/[\/&|]/\\&/g'; }
for f in "$src"/*.conf; do
  sed -e "s|@AST_ETC_DIR@|$(esc "$AST_ETC_DIR")|g" \
      -e "s|@AST_RUN_DIR@|$(esc "$AST_RUN_DIR")|g" \
      -e "s|@AST_LOG_DIR@|$(esc "$AST_LOG_DIR")|g" \
      -e "s|@ARI_BIND@|$(esc "$ARI_BIND")|g" -e "s|@ARI_PORT@|$(esc "$ARI_PORT")|g" \
      -e "s|@ARI_USER@|$(esc "$ARI_USER")|g" -e "s|@ARI_PASSWORD@|$(esc "$ARI_PASSWORD")|g" \
      -e "s|@ARI_APP@|$(esc "$ARI_APP")|g" \
      -e "s|@SIP_BIND@|$(esc "$SIP_BIND")|g" -e "s|@SIP_PORT@|$(esc "$SIP_PORT")|g" \
      -e "s|@SIP_EXTERNAL@|$(esc "$SIP_EXTERNAL")|g" \
      -e "s|@RTP_START@|$(esc "$RTP_START")|g" -e "s|@RTP_END@|$(esc "$RTP_END")|g" \
      -e "s|@TRUNK_MATCH@|$(esc "$TRUNK_MATCH")|g" -e "s|@TRUNK_CONTACT@|$(esc "$TRUNK_CONTACT")|g" \
      -e "s|@AGENT_PASSWORD@|$(esc "$AGENT_PASSWORD")|g" \
      "$f" > "$dest/$(basename "$f")"
done
if grep -l '@[A-Z_]*@' "$dest"/*.conf >/dev/null 2>&1; then
  echo "render.sh: unfilled placeholder in $(grep -l '@[A-Z_]*@' "$dest"/*.conf)" >&2
  exit 1
fi

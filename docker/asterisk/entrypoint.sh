#!/bin/sh
# Renders the project's asterisk-config/ from the environment and runs Asterisk in the foreground.
set -eu
mkdir -p /var/run/asterisk /var/log/asterisk /var/spool/asterisk/recording
AST_ETC_DIR=/etc/hotline-asterisk /opt/hotline/asterisk-config/render.sh /etc/hotline-asterisk
exec /usr/sbin/asterisk -C /etc/hotline-asterisk/asterisk.conf -f -n

#!/usr/bin/env bash
# Stops the Asterisk that scripts/lab/up.sh started (if the app was killed without its trap).
set -euo pipefail
bash "$(dirname "$0")/asterisk.sh" stop dev

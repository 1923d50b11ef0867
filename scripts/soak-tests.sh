#!/usr/bin/env bash
# Soak test: proves the test suite passes every time, not just once. Each round runs the README's
# `npm test` (typecheck + the full suite) and then every end-to-end file alone (Chromium, tmux, the
# CLI spawned end to end), since a file alone fails in ways the full suite hides (cold model loads,
# tests that leaned on an earlier file). One round runs with every core kept busy by CPU hogs
# (`node -e 'for(;;){}'`) that this script starts and always kills on exit. A summary lists every run
# (what, round, hog, result, wall seconds); the exit status is non-zero if any run failed.
#
#   scripts/soak-tests.sh                       # 3 rounds, the 2nd under the hog (about 20-30 min on 2 cores)
#
# Settings (environment), mostly to check the script itself quickly:
#   SOAK_ROUNDS=3        rounds to run
#   SOAK_HOG_ROUND=2     which round runs under the hog (0: none)
#   SOAK_HOGS=2          busy processes in the hog round (one per core of the 2-core reference machine)
#   SOAK_SUITE=1         0 skips the full-suite runs
#   SOAK_FILES="a b"     the files run alone (default: every *e2e*/*end-to-end* test and every test driving tmux or Chromium)
#   SOAK_TIMEOUT=1200    seconds before a run counts as hung (and failed)
#   SOAK_LOG_DIR=...     where each run's output goes (default test-artifacts/soak/<UTC time>/)
set -u
cd "$(dirname "$0")/.."

rounds=${SOAK_ROUNDS:-3}
hog_round=${SOAK_HOG_ROUND:-2}
hogs=${SOAK_HOGS:-2}
run_suite=${SOAK_SUITE:-1}
run_timeout=${SOAK_TIMEOUT:-1200}
log_dir=${SOAK_LOG_DIR:-test-artifacts/soak/$(date -u +%Y%m%dT%H%M%SZ)}
if [[ -n "${SOAK_FILES+set}" ]]; then
  read -r -a files <<<"$SOAK_FILES"
else
  mapfile -t files < <({ find test -name '*e2e*.test.ts' -o -name '*end-to-end*.test.ts'; grep -rlE --include='*.test.ts' "\"tmux\"|playwright-core" test; } | sort -u)
fi
mkdir -p "$log_dir"

hog_pids=()
start_hog() {
  for ((i = 0; i < hogs; i++)); do
    node -e 'for(;;){}' >/dev/null 2>&1 &
    hog_pids+=("$!")
  done
}
stop_hog() {
  for pid in "${hog_pids[@]}"; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  hog_pids=()
}
# The hog must never outlive the script: EXIT runs on every way out, and INT/TERM go through it.
trap stop_hog EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

summary=()
failed=0
# run_one LABEL ROUND HOG COMMAND...: runs the command, logs its output, records one summary row.
run_one() {
  local label=$1 round=$2 hog=$3
  shift 3
  local log="$log_dir/round${round}-$(echo "$label" | tr '/ ' '__').log"
  local started ended seconds result
  echo "==> round $round${hog:+ (hog)}: $label" >&2
  started=$(date +%s.%N)
  if timeout --kill-after=30 "$run_timeout" "$@" >"$log" 2>&1; then result=pass; else result=FAIL; failed=1; fi
  ended=$(date +%s.%N)
  seconds=$(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.1f", b - a }')
  echo "    $result in ${seconds} s (log: $log)" >&2
  summary+=("$(printf '%-44s %5s %-4s %-4s %8s' "$label" "$round" "${hog:-no}" "$result" "$seconds")")
}

for ((round = 1; round <= rounds; round++)); do
  hog=""
  if ((round == hog_round)); then
    hog=yes
    start_hog
  fi
  if [[ "$run_suite" != 0 ]]; then run_one "npm test (full suite)" "$round" "$hog" npm test; fi
  for file in "${files[@]}"; do run_one "$file" "$round" "$hog" npx vitest run "$file"; done
  stop_hog
done

printf '\n%-44s %5s %-4s %-4s %8s\n' "run" "round" "hog" "result" "seconds"
printf '%s\n' "${summary[@]}"
if ((failed)); then
  echo "soak: FAILED (logs in $log_dir)"
  exit 1
fi
echo "soak: all ${#summary[@]} runs passed (logs in $log_dir)"

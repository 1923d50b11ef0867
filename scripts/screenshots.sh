#!/usr/bin/env bash
# Regenerates docs/screenshots/: runs the playground's end-to-end files (headless Debian Chromium) with
# CAMELID_SCREENSHOTS_DIR set, so each screen they show is saved as <screen>-<width>x<height>.png at the
# desktop (1280×800) and the phone (390×844) viewport (test/web/support/screenshots.ts). The old PNGs
# are removed first, so a screen that no longer exists leaves no stale picture.
#
#   scripts/screenshots.sh                    # every test/web/*.e2e.test.ts
#   scripts/screenshots.sh test/web/accessibility.e2e.test.ts   # only these files
set -euo pipefail
cd "$(dirname "$0")/.."
directory=docs/screenshots
files=("$@")
if [ ${#files[@]} -eq 0 ]; then files=(test/web/*.e2e.test.ts); fi
mkdir -p "$directory"
find "$directory" -maxdepth 1 -name '*.png' -delete
# One file at a time: Chromium is heavy and the screenshots must not race a second browser for the CPU.
CAMELID_SCREENSHOTS_DIR="$directory" npx vitest run --no-file-parallelism "${files[@]}"
ls -l "$directory"

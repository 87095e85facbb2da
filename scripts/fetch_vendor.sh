#!/usr/bin/env bash
# Re-fetch the vendored htmx with `npm pack` and check it against the recorded sha256.
# Usage: scripts/fetch_vendor.sh          (fetch and verify; fails on any mismatch)
#        scripts/fetch_vendor.sh --record (after a deliberate upgrade: write new sums)
set -euo pipefail
HTMX_VERSION=2.0.11
root=$(cd "$(dirname "$0")/.." && pwd)
vendor="$root/app/static/vendor"
sums="$vendor/SHA256SUMS"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "htmx.org@$HTMX_VERSION" >/dev/null && tar -xzf "htmx.org-$HTMX_VERSION.tgz")
cp "$work/package/dist/htmx.min.js" "$vendor/htmx-$HTMX_VERSION.min.js"
cp "$work/package/LICENSE" "$vendor/htmx-$HTMX_VERSION.LICENSE"

cd "$vendor"
if [ "${1:-}" = "--record" ]; then
  sha256sum "htmx-$HTMX_VERSION.min.js" "htmx-$HTMX_VERSION.LICENSE" > "$sums"
  echo "recorded:"; cat "$sums"
else
  sha256sum --check "$sums"
fi

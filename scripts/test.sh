#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite (unit, integration, browser).
#
#   scripts/test.sh                      # on SQLite
#   QIANMO_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test scripts/test.sh
#   scripts/test.sh tests/browser -x     # any pytest arguments are passed on
#
# - a virtual environment in ./.venv (made with python3.11, reused when it exists),
#   with the app installed editable together with its test extras;
# - Debian's chromium (the browser tests drive /usr/bin/chromium through Playwright; no
#   browser is ever downloaded by Playwright itself) and fonts-noto-cjk, so that Chinese
#   renders in screenshots, installed with apt-get when missing (needs root or sudo);
# - then `ruff check`, `ruff format --check` and `mypy` (a finding fails the script), then `python -m pytest "$@"`.
#   The exit status is non-zero when anything fails.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv="$root/.venv"

say() { printf '[test.sh] %s\n' "$*"; }

# --- Python ---------------------------------------------------------------------------------
pick_python() {
  if command -v python3.11 >/dev/null 2>&1; then
    echo python3.11
  elif command -v python3 >/dev/null 2>&1 \
      && python3 -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else 1)'; then
    echo python3
  else
    echo "[test.sh] Python 3.11 is needed (python3.11 not found)" >&2
    exit 1
  fi
}

if ! "$venv/bin/python" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else 1)' 2>/dev/null; then
  python=$(pick_python)
  say "creating $venv with $python"
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi
say "installing the app with its test extras into .venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test]'

# --- Debian packages: chromium and CJK fonts -------------------------------------------------
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
for package in fonts-noto-cjk fonts-liberation; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "[test.sh] need root (or sudo) to apt-get install ${missing[*]}" >&2
    exit 1
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
/usr/bin/chromium --version 2>/dev/null | head -n 1 || true

# --- lint and types: a failure stops here, before the suite ---------------------------------
say "ruff check (rules in pyproject.toml)"
"$venv/bin/ruff" check app tests scripts bench
say "ruff format --check"
"$venv/bin/ruff" format --check app tests scripts bench
say "mypy app"
"$venv/bin/mypy"

# --- the suite ------------------------------------------------------------------------------
if [ -n "${QIANMO_TEST_DATABASE_URL:-}" ]; then
  say "running pytest on PostgreSQL (a fresh database on ${QIANMO_TEST_DATABASE_URL%/*})"
else
  say "running pytest on SQLite"
fi
"$venv/bin/python" -m pytest "$@"

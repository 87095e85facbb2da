#!/usr/bin/env bash
# Lighthouse (mobile) on the demo server: performance, accessibility, best practices.
# Targets: accessibility 100 and performance >= 95 on every page audited (exit 1 otherwise).
#
#   bench/lighthouse.sh             # home, sign-in page, places list (signed in as admin)
#   bench/lighthouse.sh / /signin   # only these paths (a path under /admin is audited signed in)
#
# Installs lighthouse with npm into bench/node_modules when missing, starts `qianmo demo`'s
# server (migrate, demo district, uvicorn) on a free port with a fresh SQLite database, runs
# Lighthouse with Debian's /usr/bin/chromium in Chinese (the default audience), writes
# bench/out/<page>.report.{json,html} and prints the scores and every audit that is not passed.
set -euo pipefail

LIGHTHOUSE_VERSION=12.8.2   # 13.x needs Node.js >= 22.19; this machine has Node.js 20
MIN_PERFORMANCE=95
MIN_ACCESSIBILITY=100
CHROME_FLAGS="--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run --disable-dev-shm-usage"

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bench="$root/bench"
out="$bench/out"
mkdir -p "$out"

if [ $# -gt 0 ]; then pages=("$@"); else pages=(/ /signin /admin/org/place); fi

# --- tools ----------------------------------------------------------------------------------
export CHROME_PATH=/usr/bin/chromium
[ -x "$CHROME_PATH" ] || { echo "$CHROME_PATH is missing: run scripts/test.sh once (it installs it)" >&2; exit 1; }
lighthouse="$bench/node_modules/.bin/lighthouse"
if [ ! -x "$lighthouse" ] || [ "$("$lighthouse" --version)" != "$LIGHTHOUSE_VERSION" ]; then
  echo "installing lighthouse@$LIGHTHOUSE_VERSION into bench/node_modules"
  npm install --prefix "$bench" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    "lighthouse@$LIGHTHOUSE_VERSION"
fi
python=${PYTHON:-$root/.venv/bin/python}
if ! "$python" -c 'import app, uvicorn' 2>/dev/null; then
  echo "no usable $python: creating .venv with the app installed"
  python3.11 -m venv "$root/.venv"
  python="$root/.venv/bin/python"
  "$python" -m pip install --quiet --disable-pip-version-check -e .
fi

# --- the demo server ------------------------------------------------------------------------
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

export QIANMO_DEMO=1 PICCOLO_CONF=piccolo_conf
export QIANMO_DATABASE_URL="sqlite:///$work/bench.sqlite3" QIANMO_UPLOAD_DIR="$work/uploads"
export QIANMO_SECRET_KEY="bench-$(date +%s%N)"
"$python" -m app.cli migrate >"$work/setup.log" 2>&1 || { cat "$work/setup.log"; exit 1; }
# What `qianmo demo` loads: the district and its history (calls, matters, alerts), so the map,
# the metrics and the charts are audited with something drawn.
"$python" -c "import asyncio; from app.services.demo import load_demo; asyncio.run(load_demo())" \
  >>"$work/setup.log" 2>&1 || { cat "$work/setup.log"; exit 1; }
"$python" -c "import asyncio; from app.services import demo_calls, demo_matters, demo_alerts
for part in (demo_calls, demo_matters, demo_alerts): asyncio.run(part.load())" \
  >>"$work/setup.log" 2>&1 || { cat "$work/setup.log"; exit 1; }
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$python" -m uvicorn app.main:app_factory --factory --host 127.0.0.1 --port "$port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "server not healthy"; cat "$work/server.log"; exit 1; }
base="http://localhost:$port"
echo "demo server at $base"

# A session for the admin pages: the demo sign-in, as a browser does it (CSRF cookie + field).
admin_cookie=$("$python" - "$base" <<'PY'
import html, re, sys, urllib.parse, urllib.request
from http.cookiejar import CookieJar

base = sys.argv[1]
jar = CookieJar()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
page = opener.open(urllib.request.Request(base + "/signin", headers={"Accept-Language": "zh-CN"})).read().decode()
for form in re.findall(r'<form method="post" action="/signin/demo">(.*?)</form>', page, re.S):
    if "系统管理员" in form:
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
        break
else:
    sys.exit("no demo administrator on /signin")
body = urllib.parse.urlencode({k: html.unescape(v) for k, v in fields.items()}).encode()
try:
    opener.open(urllib.request.Request(base + "/signin/demo", data=body, method="POST"))
except urllib.error.HTTPError as exc:  # the 303 that follows a sign-in
    if exc.code != 303:
        raise
print("; ".join(f"{c.name}={c.value}" for c in jar if c.name == "qianmo_session"))
PY
)
[ -n "$admin_cookie" ] || { echo "demo sign-in failed"; exit 1; }

# --- Lighthouse -----------------------------------------------------------------------------
status=0
for path in "${pages[@]}"; do
  name=$(printf '%s' "$path" | sed -e 's#^/##' -e 's#[^A-Za-z0-9]#_#g')
  name=${name:-home}
  headers='{"Accept-Language": "zh-CN,zh;q=0.9"}'
  case "$path" in
    /admin*|/people*|/area*|/me*|/map*|/metrics*|/dashboard*|/calls*|/briefing*) headers="{\"Accept-Language\": \"zh-CN,zh;q=0.9\", \"Cookie\": \"$admin_cookie\"}" ;;
  esac
  echo
  echo "== lighthouse $path"
  if ! "$lighthouse" "$base$path" --quiet --form-factor=mobile \
      --only-categories=performance,accessibility,best-practices \
      --chrome-flags="$CHROME_FLAGS" --extra-headers="$headers" \
      --output=json --output=html --output-path="$out/$name" >"$work/lighthouse-$name.log" 2>&1; then
    cat "$work/lighthouse-$name.log"
    status=1
    continue
  fi
  "$python" - "$out/$name.report.json" "$MIN_PERFORMANCE" "$MIN_ACCESSIBILITY" <<'PY' || status=1
import json, sys

report = json.load(open(sys.argv[1]))
minimum = {"performance": int(sys.argv[2]), "accessibility": int(sys.argv[3])}
if report.get("runtimeError"):
    sys.exit(f"lighthouse runtime error: {report['runtimeError']}")
print(f"final URL: {report['finalDisplayedUrl']}")
ok = True
for key, category in report["categories"].items():
    score = round((category["score"] or 0) * 100)
    need = minimum.get(key)
    verdict = "" if need is None else ("  ok" if score >= need else f"  BELOW TARGET {need}")
    ok = ok and (need is None or score >= need)
    print(f"  {category['title']:<16} {score:>3}{verdict}")
    for ref in category["auditRefs"]:
        audit = report["audits"][ref["id"]]
        if audit["scoreDisplayMode"] in ("notApplicable", "informative", "manual") or audit["score"] is None:
            continue
        if audit["score"] < 1 and (ref.get("weight", 0) > 0 or audit["scoreDisplayMode"] == "binary"):
            shown = audit.get("displayValue", "")
            print(f"      not passed: {audit['id']}: {audit['title']}" + (f" ({shown})" if shown else ""))
metrics = report["audits"]
for metric in ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift", "speed-index"):
    if metric in metrics:
        print(f"    {metrics[metric]['title']}: {metrics[metric].get('displayValue', '')}")
sys.exit(0 if ok else 1)
PY
done

echo
echo "reports: bench/out/*.report.html (and .json)"
if [ "$status" -ne 0 ]; then
  echo "lighthouse: below target (accessibility $MIN_ACCESSIBILITY, performance >= $MIN_PERFORMANCE) or failed"
fi
exit "$status"

#!/usr/bin/env bash
# Idempotent set-up: Debian packages (as root), the virtualenv and Saksi in it.
# Safe to run again and again; `make setup` and `.ci/run` call it.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v wget >/dev/null 2>&1 || need_apt+=(wget)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
"$PY" -c "import ensurepip, venv" >/dev/null 2>&1 || need_apt+=(python3-venv)
# PostgreSQL's binaries, for catalog.url and its tests (which start their own server)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need_apt+=(postgresql)
# Redis, the broker of distributed jobs ([jobs] broker) and of their tests
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian packages: ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: please install these packages first (as root): apt-get install -y ${need_apt[*]}" >&2
    case " ${need_apt[*]} " in *" python3-venv "*) exit 2 ;; esac
  fi
fi

# ReplayWeb.page for `saksi replay`: from the npm registry, into an ignored folder.
rwp=.saksi-tools/replaywebpage
if [ ! -f "$rwp/ui.js" ] || [ ! -f "$rwp/sw.js" ]; then
  if command -v npm >/dev/null 2>&1; then
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent replaywebpage@2.5.3 >/dev/null)
    mkdir -p "$rwp"
    tar -xzf "$tmp"/replaywebpage-2.5.3.tgz -C "$tmp"
    cp "$tmp/package/ui.js" "$tmp/package/sw.js" "$tmp/package/LICENSE" "$rwp/"
    rm -rf "$tmp"
  else
    echo "setup: npm is missing, so 'saksi replay' will not work (apt-get install -y npm)" >&2
  fi
fi

stamp=.venv/.saksi-installed
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  # Google's Brotli and brotlipy share the module name; warcio needs brotlipy's API.
  if .venv/bin/python -m pip show -q brotli >/dev/null 2>&1; then
    .venv/bin/python -m pip uninstall -y -q brotli
    .venv/bin/python -m pip install -q --force-reinstall --no-deps brotlipy
  fi
  touch "$stamp"
fi

# The browser: Debian's chromium (above); where apt could not provide one, Playwright's own.
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  echo "setup: no Debian chromium; trying 'playwright install chromium'" >&2
  .venv/bin/python -m playwright install chromium >&2 || \
    echo "setup: no browser available: browser capture will fail (static mode works)" >&2
fi

#!/usr/bin/env bash
# npm run setup: install whatever is missing, and nothing else.
#
# 1. Jupyter from Debian (headless execution + HTML export, and the classic Notebook for
#    `npm run notebook`). PyPI is not assumed reachable, so no pip.
# 2. Chromium + a font, for PNG export of figures. Optional: a failure here only warns.
# 3. npm dependencies (`npm ci`), skipped when node_modules already matches package-lock.json.
# 4. The project-local tslab kernelspec (build/jupyter), regenerated every time (cheap).
# Every check is a dpkg/file lookup, so a second run takes about a second.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { printf '[setup] %s\n' "$*"; }

# Debian's Python has the Jupyter packages; a `python3` earlier on PATH (pyenv, conda) may not.
python="${SPURIOUS_PYTHON:-/usr/bin/python3}"

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if (( node_major < 20 )); then
  echo "[setup] Node.js >= 20 is required, found $(node --version)" >&2
  exit 1
fi

missing_debs() {
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      printf '%s ' "$pkg"
    fi
  done
}

apt_updated=0
apt_log="${TMPDIR:-/tmp}/spurious-setup-apt.log"
apt_install() {
  local as_root=()
  if (( EUID != 0 )); then
    command -v sudo >/dev/null || { echo "[setup] need root (or sudo) to run apt-get install $*" >&2; return 1; }
    as_root=(sudo)
  fi
  if (( apt_updated == 0 )); then
    say "apt-get update"
    "${as_root[@]}" apt-get update -qq
    apt_updated=1
  fi
  say "apt-get install $* (log: $apt_log)"
  if ! DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q --no-install-recommends "$@" \
      </dev/null >"$apt_log" 2>&1; then
    tail -n 20 "$apt_log" >&2
    return 1
  fi
}

# --- 1. Jupyter --------------------------------------------------------------------------------
jupyter_debs=(jupyter-nbconvert jupyter-client python3-nbclient jupyter-notebook)
if command -v dpkg-query >/dev/null; then
  todo="$(missing_debs "${jupyter_debs[@]}")"
  if [[ -n "$todo" ]]; then
    # shellcheck disable=SC2086  # word splitting of the package list is intended
    apt_install $todo
  else
    say "Jupyter packages present"
  fi
else
  say "no dpkg: not a Debian system; install Jupyter (nbclient, nbconvert, notebook) for $python yourself"
fi
# What scripts/run_notebook.py and `npm run notebook` import.
if ! "$python" -c 'import jupyter_client, nbformat, nbconvert, notebook' 2>/dev/null; then
  echo "[setup] $python cannot import jupyter_client/nbformat/nbconvert/notebook." >&2
  echo "[setup] Install them (Debian: apt-get install ${jupyter_debs[*]}) or set SPURIOUS_PYTHON." >&2
  exit 1
fi

# --- 2. Chromium (optional) -------------------------------------------------------------------
have_chromium() {
  [[ -n "${SPURIOUS_CHROMIUM:-}" && -x "${SPURIOUS_CHROMIUM}" ]] && return 0
  command -v chromium >/dev/null || command -v chromium-browser >/dev/null \
    || command -v google-chrome >/dev/null || command -v google-chrome-stable >/dev/null
}
# Plus a font for the figures' text: a minimal system may have none.
chromium_debs=(fonts-liberation)
have_chromium || chromium_debs+=(chromium)
if command -v dpkg-query >/dev/null; then
  todo="$(missing_debs "${chromium_debs[@]}")"
  # shellcheck disable=SC2086
  if [[ -n "$todo" ]] && ! apt_install $todo; then
    say "WARNING: could not install $todo"
  fi
fi
if have_chromium; then
  say "Chromium present (PNG export on)"
else
  say "WARNING: no Chromium; figures are saved as HTML only (set SPURIOUS_CHROMIUM to a browser to get PNG)"
fi

# --- 3. npm dependencies ----------------------------------------------------------------------
if node scripts/node-modules-in-sync.cjs; then
  say "node_modules matches package-lock.json"
else
  say "npm ci"
  npm ci --no-audit --no-fund
  node scripts/node-modules-in-sync.cjs --quiet || {
    echo "[setup] node_modules still differs from package-lock.json after npm ci" >&2
    exit 1
  }
fi

# --- 4. kernelspec ----------------------------------------------------------------------------
node --import tsx scripts/kernelspec.ts
say "done"

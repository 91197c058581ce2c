#!/usr/bin/env bash
# Python static checks, run by scripts/sanity.sh and by the pre-commit hooks (.pre-commit-config.yaml):
#   ruff check          every Python file of the checkout (rules: ruff.toml)
#   ruff format --check the seams below
#   mypy                the seams listed in mypy.ini (the clients, runners, option table and managers)
# Usage: scripts/static.sh [ruff|format|mypy]...   (no argument: all three)
# Needs only the venv (scripts/setup.sh makes it and the .collections link that mypy resolves imports through).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
VENV="${HYBRIDOPS_VENV:-$REPO/.venv}"
if [ -x "$VENV/bin/ruff" ]; then export PATH="$VENV/bin:$PATH"; fi
if [ ! -e .collections/ansible_collections/hybridops/fleet ]; then
  mkdir -p .collections/ansible_collections/hybridops
  ln -sfn "$REPO" .collections/ansible_collections/hybridops/fleet
fi

# the files ruff format keeps formatted
FORMATTED=(
  plugins/module_utils/_common/runner.py
  plugins/module_utils/_docker/client.py
  plugins/module_utils/_docker/engine_http.py
  plugins/module_utils/_docker/runner.py
  plugins/module_utils/_docker/options
  plugins/module_utils/_libvirt/client.py
  plugins/module_utils/_libvirt/runner.py
  plugins/module_utils/_report/runner.py
)

checks=("$@"); [ "${#checks[@]}" -gt 0 ] || checks=(ruff format mypy)
rc=0
for check in "${checks[@]}"; do
  case "$check" in
    ruff) echo "==> [static] ruff check" >&2; ruff check --no-cache . || rc=1 ;;
    format) echo "==> [static] ruff format --check (the seams)" >&2; ruff format --no-cache --check "${FORMATTED[@]}" || rc=1 ;;
    mypy) echo "==> [static] mypy (the seams, mypy.ini)" >&2; mypy || rc=1 ;;
    *) echo "unknown check $check (ruff, format or mypy)" >&2; exit 2 ;;
  esac
done
exit "$rc"

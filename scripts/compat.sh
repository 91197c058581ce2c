#!/usr/bin/env bash
# The oldest ansible-core we claim (meta/runtime.yml) on the oldest Python we
# support: unit tests and every module's and role's documentation, in a venv of
# its own. The newest is what the main venv runs everything with.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
OLDEST_CORE="${HYBRIDOPS_OLDEST_CORE:-2.18}"
venv="$REPO/.venv-compat"
py=""
for c in python3.11 /usr/bin/python3 "$HOME"/.pyenv/versions/3.11*/bin/python3; do
  if [ -x "$(command -v "$c" 2>/dev/null || echo "$c")" ] &&
     "$c" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then py="$c"; break; fi
done
if [ -z "$py" ]; then py=$(command -v python3); fi
stamp="$venv/.core-$OLDEST_CORE"
if [ ! -f "$stamp" ]; then
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "ansible-core==$OLDEST_CORE.*" \
    pytest pyyaml "docker>=5.0.3" libvirt-python
  touch "$stamp"
fi
export PATH="$venv/bin:$PATH"
echo "==> [compat] ansible-core $(python -c 'import ansible.release as r; print(r.__version__)') on $(python --version)" >&2
python -m pytest -q -p no:cacheprovider tests/unit
for kind in module role; do
  for name in $(ansible-doc -t "$kind" -l hybridops.fleet 2>/dev/null | awk '{print $1}' | grep '^hybridops\.fleet\.'); do
    ansible-doc -t "$kind" "$name" >/dev/null
  done
done
for pb in playbooks/*.yml; do
  [ -e "$pb" ] || continue
  ansible-playbook --syntax-check -i localhost, "$pb" >/dev/null
done
echo "==> [compat] ansible-core $OLDEST_CORE: unit tests pass, docs render, playbooks parse" >&2

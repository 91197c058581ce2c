#!/usr/bin/env bash
# Build the collection artifact, install it into an empty path and check that
# every module's documentation renders from the installed copy.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
out="$REPO/tests/output/build"
rm -rf "$out"; mkdir -p "$out/collections"
ansible-galaxy collection build --force --output-path "$out" "$REPO"
artifact=$(ls "$out"/hybridops-fleet-*.tar.gz)
ANSIBLE_COLLECTIONS_PATH="$out/collections" ansible-galaxy collection install --force --offline -p "$out/collections" "$artifact"
installed="$out/collections/ansible_collections/hybridops/fleet"
test -f "$installed/MANIFEST.json"
modules=""
if [ -d "$installed/plugins/modules" ]; then
  modules=$(find "$installed/plugins/modules" -maxdepth 1 -name '*.py' ! -name '__init__.py' -printf '%f\n' | sed 's/\.py$//' | sort)
fi
for m in $modules; do
  ANSIBLE_COLLECTIONS_PATH="$out/collections" ansible-doc "hybridops.fleet.$m" >/dev/null
done
echo "==> [build] $(basename "$artifact") installs into an empty path; ansible-doc renders: ${modules:-no modules yet}" >&2
"$REPO/scripts/ee-check.sh" "$artifact"

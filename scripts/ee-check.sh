#!/usr/bin/env bash
# The execution environment definition: ansible-builder makes its build context from ee/execution-environment.yml
# with the collection artifact, and its own introspection of the installed collection finds the Python and
# system requirements of meta/execution-environment.yml. (Building the image needs a registry for the base
# image, which this machine does not reach; the context is what an EE build consumes.)
# Usage: scripts/ee-check.sh ARTIFACT
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
artifact="$1"
work="$REPO/tests/output/ee"
rm -rf "$work"; mkdir -p "$work"
cp "$REPO/ee/execution-environment.yml" "$work/"
cp "$artifact" "$work/hybridops-fleet.tar.gz"
ansible-builder create -f "$work/execution-environment.yml" -c "$work/context" >/dev/null
ctx="$work/context"
test -f "$ctx/_build/collections/hybridops-fleet.tar.gz"
grep -q 'collections/hybridops-fleet.tar.gz' "$ctx/_build/requirements.yml"
grep -q 'ansible-galaxy collection install' "$ctx/Dockerfile"
ANSIBLE_COLLECTIONS_PATH="$work/installed" ansible-galaxy collection install --force --offline -p "$work/installed" "$artifact" >/dev/null
found=$(python "$ctx/_build/scripts/introspect.py" introspect "$work/installed")
for need in libvirt-python 'docker>=5.0.3' paramiko 'libvirt-devel \[compile platform:rpm\]' 'libvirt-dev \[compile platform:dpkg\]'; do
  if ! grep -q "$need" <<<"$found"; then
    echo "ansible-builder's introspection of the collection lacks: $need" >&2; echo "$found" >&2; exit 1
  fi
done
echo "==> [build] ansible-builder create: context in tests/output/ee/context; introspection finds the collection's requirements" >&2

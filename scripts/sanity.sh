#!/usr/bin/env bash
# ansible-test sanity on a copy of the checkout laid out as
# ansible_collections/hybridops/fleet (ansible-test needs that path).
# Usage: scripts/sanity.sh [extra ansible-test args, e.g. --test pylint]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
# outside any git work tree: inside one, ansible-test lists files with git and
# would see none; one tree per run so that runs side by side do not collide
work="${HYBRIDOPS_SANITY_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/hybridops-sanity.XXXXXX")}"
[ -n "${HYBRIDOPS_SANITY_DIR:-}" ] || trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/hybridops/fleet"
rm -rf "$dest"; mkdir -p "$dest"
# tracked and new (not ignored) files of the work tree
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard) |
  rsync -a --from0 --ignore-missing-args --files-from=- "$REPO/" "$dest/"
cd "$dest"
py=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
ansible-test sanity --local --requirements --python "$py" --color no "$@"

#!/usr/bin/env bash
# ansible-test sanity on a copy of the checkout laid out as
# ansible_collections/hybridops/fleet (ansible-test needs that path).
# Usage: scripts/sanity.sh [extra ansible-test args, e.g. --test pylint]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
# outside any git work tree: inside one, ansible-test lists files with git and would see none
work="${HYBRIDOPS_SANITY_DIR:-${TMPDIR:-/tmp}/hybridops-sanity-$(id -u)}"
dest="$work/ansible_collections/hybridops/fleet"
rm -rf "$work"; mkdir -p "$dest"
# copy tracked and new (not ignored) files; delete what no longer exists
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard) |
  rsync -a --from0 --files-from=- "$REPO/" "$dest/"
cd "$dest"
git_dirs=$(find . -name .git -maxdepth 1); [ -z "$git_dirs" ] || rm -rf .git
py=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
exec ansible-test sanity --local --requirements --python "$py" --color no "$@"

#!/usr/bin/env bash
# The Python static checks (scripts/static.sh: ruff and mypy), then ansible-test sanity on a copy of
# the checkout laid out as ansible_collections/hybridops/fleet (ansible-test needs that path).
# Usage: scripts/sanity.sh [extra ansible-test args, e.g. --test pylint]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
# both run; a failure of the static checks fails the script after ansible-test
static_rc=0
"$REPO/scripts/static.sh" || static_rc=$?
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
if [ "$static_rc" != 0 ]; then echo "==> [sanity] the static checks (scripts/static.sh) failed" >&2; exit "$static_rc"; fi

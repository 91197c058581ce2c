#!/usr/bin/env bash
# The collection's docs site, built the way Ansible's own docs are: antsibull-docs renders every module's,
# plugin's and role's documentation into a Sphinx site (tests/output/docsite/build/html). Strict: its
# collection docs linter, then the build with every warning an error, except references into docs.ansible.com
# (ansible.builtin modules, common return values, configuration settings, ANSIBLE_* variables): resolving
# them needs docs.ansible.com, and nothing here goes to the network.
# The guides (every docs/*.md) are part of the site: antsibull-docs' extra docs (docs/docsite/) give the
# collection's index page a Guides page, and scripts/docsite_guides.py, a Sphinx extension (its docstring
# says why this way), puts the guides under it, parsed by MyST.
# In a venv of its own (.venv-docs): antsibull-docs pins its own dependencies.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
venv="$REPO/.venv-docs"
# Sphinx pinned with myst-parser (5.2 supports Sphinx 8 and 9); sphinx-init's requirements leave it open
want="antsibull-docs==2.28.0 sphinx-ansible-theme==0.10.4 sphinx==9.2.0 myst-parser==5.2.0 ansible-core"
stamp="$venv/.docs-requirements"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  rm -rf "$venv"
  python -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/python" -m pip install -q --disable-pip-version-check $want 2> >(grep -v "^WARNING: Location" >&2)
  printf '%s' "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH"
antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck "$COLLECTIONS_DIR/ansible_collections/hybridops/fleet"
site="$REPO/tests/output/docsite"
rm -rf "$site"; mkdir -p "$site"; chmod 700 "$site"
antsibull-docs sphinx-init --use-current --fail-on-error --dest-dir "$site" hybridops.fleet >/dev/null
# the network rule: no intersphinx fetches from docs.ansible.com or python.org
printf '\nintersphinx_mapping = {}\n' >> "$site/conf.py"
# the guides: MyST reads docs/*.md; GitHub's heading anchors, so that a link such as
# testing.md#faults-and-logs works on the site as it does in the repository
cat >> "$site/conf.py" <<CONF
import sys
sys.path.insert(0, ${REPO@Q} + '/scripts')
extensions += ['myst_parser', 'docsite_guides']
myst_heading_anchors = 6
hybridops_repo = ${REPO@Q}
hybridops_collection = 'hybridops.fleet'
CONF
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$site/requirements.txt" 2> >(grep -v "^WARNING: Location" >&2)
mkdir -p "$site/rst"; chmod 700 "$site/rst"
antsibull-docs --config-file "$site/antsibull-docs.cfg" collection --cleanup everything --use-current \
  --fail-on-error --dest-dir "$site/rst" hybridops.fleet >/dev/null
log="$site/sphinx.log"
sphinx-build -M html "$site/rst" "$site/build" -c "$site" -q 2>"$log" || { cat "$log" >&2; exit 1; }
offline='(undefined label|reference target not found): .*(ansible_collections\.ansible\.builtin\.|common_return_values|ansible_configuration_settings|ANSIBLE_)'
problems=$(grep -E 'WARNING|ERROR' "$log" | grep -Ev "$offline" || true)
if [ -n "$problems" ]; then
  # a guide's problem names its source, docs/NAME.md, not the copy the site is built from
  echo "==> [docs] the docs site has problems:" >&2
  printf '%s\n' "$problems" | sed "s|^$site/rst/collections/hybridops/fleet/docsite/guides/|docs/|" >&2; exit 1
fi
guides=0
for guide in "$REPO"/docs/*.md; do
  [ -f "$site/build/html/collections/hybridops/fleet/docsite/guides/$(basename "$guide" .md).html" ] ||
    { echo "==> [docs] the guide ${guide#"$REPO"/} is missing from the docs site" >&2; exit 1; }
  guides=$((guides + 1))
done
pages=$(find "$site/build/html/collections/hybridops/fleet" -name '*.html' | wc -l)
echo "==> [docs] antsibull-docs lint clean; docs site built: $pages pages ($guides guides) in tests/output/docsite/build/html" >&2

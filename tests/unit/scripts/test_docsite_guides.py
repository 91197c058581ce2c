"""scripts/docsite_guides.py: where a guide's links to repository files lead on the docs site."""
import importlib.util
import os

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
_SPEC = importlib.util.spec_from_file_location("docsite_guides", os.path.join(REPO, "scripts", "docsite_guides.py"))
docsite_guides = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(docsite_guides)


@pytest.mark.parametrize("link, expected", [
    ("../plugins/modules/container.py", ("page", "container_module")),
    ("../plugins/modules/libvirt_vm.py#L10", ("page", "libvirt_vm_module")),
    ("../plugins/inventory/libvirt.py", ("page", "libvirt_inventory")),
    ("../roles/vm_provision/", ("page", "vm_provision_role")),
    ("../roles/container_deploy/tasks/main.yml", ("page", "container_deploy_role")),
    ("../README.md#requirements", ("file", "README.md")),
    ("../plugins/module_utils/_docker/client.py", ("file", "plugins/module_utils/_docker/client.py")),
    ("../plugins/modules", ("file", "plugins/modules")),
    ("testing.md", ("file", "docs/testing.md")),
    ("..", ("file", ".")),
])
def test_links_to_repository_files(link, expected):
    assert docsite_guides.repo_target(link, REPO) == expected


@pytest.mark.parametrize("link", [
    "no-such-guide.md", "../plugins/modules/no_such_module.py", "../../outside.md", "../..", "/etc/hostname",
    "#only-an-anchor",
])
def test_broken_or_outside_links_are_left_to_myst(link):
    assert docsite_guides.repo_target(link, REPO) is None


def test_every_markdown_file_in_docs_is_a_guide():
    names = [path.name for path in docsite_guides.guide_files(REPO)]
    assert names == sorted(n for n in os.listdir(os.path.join(REPO, "docs")) if n.endswith(".md"))
    assert "testing.md" in names

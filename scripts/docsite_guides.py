# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sphinx extension of scripts/docs.sh: the Markdown guides (docs/*.md) in the collection's docs site.

Why this way: antsibull-docs only takes RST extra docs (docs/docsite/rst/*.rst, each with an
``ansible_collections.<ns>.<name>.docsite.`` label, listed in docs/docsite/extra-docs.yml, and its linter
requires every toctree entry of those files to be one of them). A conversion of the guides to RST would be
a second copy to keep in step, written by a converter that only approximates Markdown. So the guides stay
the single source, read as they are by MyST (myst-parser, a CommonMark parser with GitHub's tables),
and one RST extra doc, ``guides`` (docs/docsite/rst/guides.rst, which the collection's index page lists),
is their entry page. This extension, in the Sphinx build only:

- copies every docs/*.md next to that page (``docsite/guides/NAME``), so a new guide needs no list edited;
- appends to the entry page a toctree of them (at read time: the linted RST file has no toctree, and a
  site built from the installed collection alone shows the page's text without one);
- turns the guides' links to repository files outside docs/ into what the site has: a module's,
  plugin's or role's page when the link names one, plain text otherwise (the link's own text). A link
  to a guide (``[x](testing.md#faults-and-logs)``) is MyST's own document reference. A link to a file
  that does not exist in the repository is left for MyST to report, like any broken reference;
- gives fenced code blocks without a language the lexer ``text`` (Sphinx would highlight them with the
  site's default, YAML+Jinja, and warn where plain output does not lex as that).
"""

import os
import pathlib
import shutil

GUIDES = "guides"
PLUGIN_TYPES = ("modules", "inventory", "lookup", "filter", "test", "callback", "connection", "become",
                "cache", "vars", "strategy", "shell")


def _collection(app):
    namespace, name = app.config.hybridops_collection.split(".")
    return f"collections/{namespace}/{name}"


def _entry_page(app):
    return f"{_collection(app)}/docsite/{GUIDES}"


def guide_files(repo):
    """The guides: every docs/*.md of the repository, by file name."""
    return sorted(pathlib.Path(repo, "docs").glob("*.md"))


def repo_target(link, repo):
    """Where a guide's relative link points in the repository.

    Returns ``(kind, value)``: ``("page", "NAME_module" | "NAME_role" | "NAME_<plugin type>")`` for a
    module, plugin or role, ``("file", path)`` for another file or directory of the repository, ``None``
    when the link leaves the repository or names nothing that exists (a broken link).
    """
    path = link.split("#", 1)[0]
    if not path or os.path.isabs(path):
        return None
    rel = os.path.normpath(os.path.join("docs", path))
    if rel == ".." or rel.startswith("../") or not os.path.exists(os.path.join(repo, rel)):
        return None
    parts = pathlib.PurePosixPath(rel).parts
    if len(parts) == 3 and parts[0] == "plugins" and parts[1] in PLUGIN_TYPES and parts[2].endswith(".py"):
        kind = "module" if parts[1] == "modules" else parts[1]
        return ("page", f"{parts[2][:-3]}_{kind}")
    if len(parts) >= 2 and parts[0] == "roles":
        return ("page", f"{parts[1]}_role")
    return ("file", rel)


def _copy_guides(app):
    dest = pathlib.Path(app.srcdir, _entry_page(app))
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for guide in guide_files(app.config.hybridops_repo):
        shutil.copyfile(guide, dest / guide.name)


def _add_toctree(app, docname, source):
    if docname != _entry_page(app):
        return
    entries = "".join(f"   {GUIDES}/{guide.stem}\n" for guide in guide_files(app.config.hybridops_repo))
    source[0] += f"\n\n.. toctree::\n   :maxdepth: 2\n\n{entries}"


def _fix_guide(app, doctree):
    from docutils import nodes  # pylint: disable=import-outside-toplevel
    from sphinx import addnodes  # pylint: disable=import-outside-toplevel

    docname = app.env.docname
    if not docname.startswith(_entry_page(app) + "/"):
        return
    for block in doctree.findall(nodes.literal_block):
        if block.get("language") == app.config.highlight_language:
            block["language"] = "text"
    collection = _collection(app)
    for xref in list(doctree.findall(addnodes.pending_xref)):
        if xref.get("reftype") != "myst" or xref.get("refdomain") == "doc":
            continue  # not a link, or a guide MyST found
        target = repo_target(xref["reftarget"], app.config.hybridops_repo)
        if target is None:
            continue  # broken: MyST reports it
        kind, value = target
        if kind == "page" and f"{collection}/{value}" in app.env.found_docs:
            xref["refdomain"] = "doc"
            xref["reftarget"] = f"{collection}/{value}"
            xref["reftargetid"] = None
        else:
            text = xref.children[0].children if xref.children else []
            xref.replace_self(text or nodes.literal(value, value))


def setup(app):
    app.add_config_value("hybridops_repo", "", "env")
    app.add_config_value("hybridops_collection", "", "env")
    app.connect("builder-inited", _copy_guides)
    app.connect("source-read", _add_toctree)
    app.connect("doctree-read", _fix_guide)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

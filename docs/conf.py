"""Sphinx configuration shared by the three documents; docs.build selects one with DOCS_DOCUMENT.

DOCS_VERSION carries the plugin version (4.0.<rev>) so every page and PDF says which package it describes.
"""
import datetime as _dt
import os

_TITLES = {
    "user_guide": ("User Guide", "user-guide"),
    "test_plan": ("Test Plan", "test-plan"),
    "test_report": ("Test Report", "test-report"),
}
_document = os.environ.get("DOCS_DOCUMENT", "user_guide")
_title, _slug = _TITLES[_document]

project = "XenServer Plugin for Fuel"
author = "fuel-plugin-xenserver developers"
copyright = f"{_dt.date.today().year}, {author}; Apache License 2.0"  # noqa: A001 - Sphinx's name
version = release = os.environ.get("DOCS_VERSION", "4.0.0")
today = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d")
language = "en"
root_doc = "index"
extensions = ["rinoh.frontend.sphinx"]
exclude_patterns = ["generated/**", "*.dot"]
source_suffix = {".rst": "restructuredtext"}

html_title = f"{project} {version}: {_title}"
html_short_title = _title
html_theme = "alabaster"
html_theme_options = {"description": f"{_title}, plugin version {version}", "page_width": "1100px",
                      "body_max_width": "none"}
html_show_sourcelink = False
html_last_updated_fmt = "%Y-%m-%d"

rinoh_documents = [dict(doc=root_doc, target=_slug, template="article", title=f"{project}: {_title}",
                        subtitle=f"Plugin version {version}", author=author, date=today)]

# |rpm| names the package this document describes; use it in text and in parsed-literal blocks.
rst_prolog = f"""
.. |rpm| replace:: fuel-plugin-xenserver-4.0-{version}-1.noarch.rpm
.. |plugin_dir| replace:: /var/www/nailgun/plugins/fuel-plugin-xenserver-4.0
"""

html_static_path = ["_static"]
html_css_files = ["custom.css"]

"""Sphinx extension: drop duplicate <script> entries from every page.

Under Jupyter Book 1, sphinx-thebe registers its inline configuration script
twice, and the browser then reports "Identifier 'THEBE_JS_URL' has already
been declared" on every page. Keeping the first of identical entries fixes it.
"""


def _key(script):
    # An inline script is registered once with filename None and once with "": the same script.
    filename = getattr(script, "filename", script) or ""
    return repr(filename), repr(sorted(getattr(script, "attributes", {}).items()))


def _dedupe(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

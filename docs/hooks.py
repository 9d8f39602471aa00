"""mkdocs hook: links from docs/*.md to repository files that the site
also publishes (staged by `make docs`) point at the published copy, so the
same Markdown reads right on a repository browser and on the site."""

from __future__ import annotations

import re

# repository path (relative to the repository root) -> page in the site
PUBLISHED = {"CHANGELOG.md": "changelog.md"}

_LINK = re.compile(r"\]\(((?:\.\./)+)([^)#]+)(#[^)]*)?\)")


def on_page_markdown(markdown, page, config, files):  # noqa: ARG001 (mkdocs' signature)
    depth = page.file.src_uri.count("/")  # directories below docs/

    def repl(m: re.Match[str]) -> str:
        ups, path, anchor = m.group(1), m.group(2), m.group(3) or ""
        # `ups` climbs out of docs/ exactly when it is one level more than the page's depth.
        if len(ups) // 3 == depth + 1 and path in PUBLISHED:
            return "](" + "../" * depth + PUBLISHED[path] + anchor + ")"
        return m.group(0)

    return _LINK.sub(repl, markdown)

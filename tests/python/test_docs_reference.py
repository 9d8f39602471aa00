"""docs/gen_c_reference.py, which `make docs` runs over include/dlview.h:
every function, type and constant the header declares gets an entry with
its declaration and its doc comment, and every function lands in a named
section (none falls through to "Other functions")."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_declaration_of_the_header_is_documented(tmp_path: Path) -> None:
    out = tmp_path / "c.md"
    subprocess.run([sys.executable, str(ROOT / "docs/gen_c_reference.py"), str(ROOT / "include/dlview.h"), str(out)], check=True)
    page = out.read_text()
    header = (ROOT / "include/dlview.h").read_text().split("#endif /* DLPACK_DLPACK_H_ */", 1)[1]
    functions = set(re.findall(r"^[\w ]+?\**\s*\**(dlv_\w+)\(", header, re.M))
    macros = set(re.findall(r"^#define (\w+)", header, re.M))
    types = set(re.findall(r"^typedef .*?(\w+);$", header, re.M)) | set(re.findall(r"^} (\w+);$", header, re.M))
    assert len(functions) > 50 and "dlv_tensor_free" in functions and "dlv_py_tensor_to_capsule" in functions
    headings = set(re.findall(r"^### `(\w+)`$", page, re.M))
    assert functions | macros | types <= headings, sorted((functions | macros | types) - headings)
    assert "## Other functions" not in page
    # The doc comment follows its declaration, e.g. dlv_tensor_free's.
    entry = page.split("### `dlv_tensor_free`", 1)[1].split("###", 1)[0]
    assert "void dlv_tensor_free(struct dlv_tensor *t);" in entry and "never free twice" in entry

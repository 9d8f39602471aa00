"""Every ```python block of README.md and of the documentation
(docs/**/*.md, the cookbook included) runs, in order, page by page: the blocks of one page share a
namespace, as a reader typing them into one session would, and run in a
fresh temporary directory. A page whose blocks need an optional package
that is missing (pandas, pyarrow) is skipped with that reason.

Recipes that build C code: a ```c block preceded by `<!-- file: NAME -->`
is written to NAME in that directory, and a ```sh block preceded by
`<!-- run -->` is run there by /bin/sh (with DLVIEW set to the repository
root and CC to the C compiler) before the Python blocks that follow it.
A block indented in a list item (README's walkthrough) is dedented first;
one preceded by `<!-- not run: REASON -->` is skipped (tests/docs_code.rs
checks that every block is run by some test or marked so). A Python block
preceded by `<!-- output in comments -->` must print exactly the trailing
`# ...` comments of its `print(...)` lines, one line each.
"""

from __future__ import annotations

import linecache
import contextlib
import io
import os
import re
import subprocess
from pathlib import Path

import pytest

import dlview as dv

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# Optional packages a recipe may need; a page that cannot import one skips.
OPTIONAL = {"pandas", "pyarrow"}

_BLOCK = re.compile(
    r"(?P<markers>(?:^ *<!-- (?:file: [\w.]+|run|not run: [^\n]*|output in comments) -->\n+)*)"
    r"^(?P<indent> *)```(?P<lang>[\w+-]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.M | re.S,
)


def blocks(page: Path) -> list[tuple[str, str, str]]:
    """(lang, markers, code) of every fenced block of `page`, in order, dedented."""
    found = []
    for m in _BLOCK.finditer(page.read_text()):
        width = len(m["indent"])
        code = "".join(line[width:] if line[:width].isspace() else line for line in m["body"].splitlines(True))
        markers = tuple(re.findall(r"<!-- (.*?) -->", m["markers"]))
        found.append((m["lang"], markers, code))
    return found


def pages() -> list[Path]:
    candidates = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
    return [p for p in candidates if any(lang == "python" for lang, _, _ in blocks(p))]


def test_the_recipes_are_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in pages()}
    assert "README.md" in names
    for recipe in [
        "cookbook/sharing.md", "cookbook/read-only.md", "cookbook/negative-strides.md", "cookbook/fortran.md",
        "cookbook/float64.md", "cookbook/pandas.md", "cookbook/memmap.md", "cookbook/sliding-windows.md",
        "cookbook/indexing.md", "cookbook/c-extension.md", "cookbook/gpu.md", "concepts/views.md",
    ]:
        assert f"docs/{recipe}" in names


def test_indented_blocks_and_markers_are_read(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "1. Step:\n\n   <!-- file: a.c -->\n   ```c\n   int a;\n     int b;\n   ```\n\n"
        "<!-- not run: setup -->\n```sh\nmake\n```\n<!-- run -->\n```sh\ncc a.c\n```\n```python\nx = 1\n```\n"
        "<!-- file: b.c -->\n<!-- output in comments -->\n```c\nint c;\n```\n"
    )
    assert blocks(page) == [
        ("c", ("file: a.c",), "int a;\n  int b;\n"),
        ("sh", ("not run: setup",), "make\n"),
        ("sh", ("run",), "cc a.c\n"),
        ("python", (), "x = 1\n"),
        ("c", ("file: b.c", "output in comments"), "int c;\n"),
    ]


def printed_comments(code: str) -> list[str]:
    """The trailing `# ...` comments of the `print(...)` lines of `code`."""
    return re.findall(r"^print\(.*\)\s+# (.*)$", code, re.M)


def test_printed_comments_are_read() -> None:
    code = 'x = 1  # not a print\nprint(x, "#")    # 1 #\nprint(2)\nprint([3])  # [3]\n'
    assert printed_comments(code) == ["1 #", "[3]"]


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_doc_page_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = dict(os.environ, DLVIEW=str(ROOT), CC=os.environ.get("CC", "cc"))
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for n, (lang, markers, code) in enumerate(blocks(page)):
        marker = next((m for m in markers if m != "output in comments"), "")
        where = f"{page.relative_to(ROOT)} block {n + 1} ({lang})"
        if marker.startswith("file: "):
            (tmp_path / marker[len("file: "):]).write_text(code)
        elif lang == "sh" and marker == "run":
            done = subprocess.run(["/bin/sh", "-ec", code], env=env, capture_output=True, text=True)
            assert done.returncode == 0, f"{where} failed:\n{done.stdout}\n{done.stderr}"
        elif marker.startswith("not run: "):
            continue
        elif lang == "python":
            linecache.cache[where] = (len(code), None, code.splitlines(True), where)  # tracebacks show the block
            out = io.StringIO()
            try:
                with contextlib.redirect_stdout(out):
                    exec(compile(code, where, "exec"), namespace)
            except ModuleNotFoundError as e:
                if e.name in OPTIONAL:
                    pytest.skip(f"{page.name} needs {e.name}, which is not installed")
                raise
            if "output in comments" in markers:
                assert out.getvalue().splitlines() == printed_comments(code), f"{where} printed other than its comments say"


def test_shares_memory_keeps_both_temporaries_alive() -> None:
    """The cookbook's check: two distinct NumPy arrays converted on the fly
    must not share (a temporary's freed handle could be reused by the next)."""
    np = pytest.importorskip("numpy")
    for _ in range(100):
        assert not dv.shares_memory(np.arange(6.0), np.arange(6.0))
        assert not dv.may_share_memory(np.arange(6.0), np.arange(6.0))
    a = np.arange(6.0)
    assert dv.shares_memory(a, a[1:]) and not dv.shares_memory(a[:3], a[3:])


def test_asarray_copy_false_refuses_a_dtype_change_of_a_dlpack_producer() -> None:
    np = pytest.importorskip("numpy")
    with pytest.raises(BufferError, match="^cannot share: converting float64 to float32 needs a copy$"):
        dv.asarray(np.arange(3.0), dtype="float32", copy=False)
    assert dv.asarray(np.arange(3.0), dtype="float32", copy=True).dtype == "float32"
    assert dv.asarray(np.arange(3.0), dtype="float32").tolist() == [0.0, 1.0, 2.0]

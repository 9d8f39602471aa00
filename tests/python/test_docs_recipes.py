"""Every ```python block of the documentation (docs/**/*.md, the cookbook
included) runs, in order, page by page: the blocks of one page share a
namespace, as a reader typing them into one session would, and run in a
fresh temporary directory. A page whose blocks need an optional package
that is missing (pandas, pyarrow) is skipped with that reason.

Recipes that build C code: a ```c block preceded by `<!-- file: NAME -->`
is written to NAME in that directory, and a ```sh block preceded by
`<!-- run -->` is run there by /bin/sh (with DLVIEW set to the repository
root and CC to the C compiler) before the Python blocks that follow it.
"""

from __future__ import annotations

import linecache
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

_BLOCK = re.compile(r"(?:<!-- (?P<marker>file: [\w.]+|run) -->\n+)?^```(?P<lang>[\w+-]*)\n(?P<body>.*?)^```\s*$", re.M | re.S)


def blocks(page: Path) -> list[tuple[str, str, str]]:
    """(lang, marker, code) of every fenced block of `page`, in order."""
    return [(m["lang"], m["marker"] or "", m["body"]) for m in _BLOCK.finditer(page.read_text())]


def pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if any(lang == "python" for lang, _, _ in blocks(p)))


def test_the_recipes_are_found() -> None:
    names = {p.relative_to(DOCS).as_posix() for p in pages()}
    for recipe in [
        "cookbook/sharing.md", "cookbook/read-only.md", "cookbook/negative-strides.md", "cookbook/fortran.md",
        "cookbook/float64.md", "cookbook/pandas.md", "cookbook/memmap.md", "cookbook/sliding-windows.md",
        "cookbook/indexing.md", "cookbook/c-extension.md", "cookbook/gpu.md", "concepts/views.md",
    ]:
        assert recipe in names


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_doc_page_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = dict(os.environ, DLVIEW=str(ROOT), CC=os.environ.get("CC", "cc"))
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for n, (lang, marker, code) in enumerate(blocks(page)):
        where = f"{page.relative_to(ROOT)} block {n + 1} ({lang})"
        if marker.startswith("file: "):
            (tmp_path / marker[len("file: "):]).write_text(code)
        elif lang == "sh" and marker == "run":
            done = subprocess.run(["/bin/sh", "-ec", code], env=env, capture_output=True, text=True)
            assert done.returncode == 0, f"{where} failed:\n{done.stdout}\n{done.stderr}"
        elif lang == "python":
            linecache.cache[where] = (len(code), None, code.splitlines(True), where)  # tracebacks show the block
            try:
                exec(compile(code, where, "exec"), namespace)
            except ModuleNotFoundError as e:
                if e.name in OPTIONAL:
                    pytest.skip(f"{page.name} needs {e.name}, which is not installed")
                raise


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

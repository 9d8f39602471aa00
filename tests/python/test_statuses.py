"""The Python mappings are checked against the library's one definition of
each fact (issue 14 item 3, STYLE 16): every ``ERR_*`` constant of
``dlview._lib`` has the value ``dlv_status_name`` gives that name, every
status the library names has a constant and an exception; dtype names
round-trip through ``dlv_dtype_name`` / ``dlv_dtype_from_name`` (the Python
package keeps no name table of its own), and its buffer-format letters agree
with ``dlv_dtype_format``."""

from __future__ import annotations

import dlview
from dlview import _creation, _lib, _tensor
from dlview._dtypes import dtype_name, dtype_struct
from dlview._lib import DLDataType, pydll


def _library_statuses() -> dict[int, str]:
    names = {}
    for value in range(256):
        name = pydll.dlv_status_name(value).decode()
        if name != "DLV_UNKNOWN_STATUS":
            names[value] = name
    return names


def test_python_status_constants_match_the_library() -> None:
    library = _library_statuses()
    assert library[0] == "DLV_OK" and library[99] == "DLV_ERR_PANIC"
    python = {getattr(_lib, n): "DLV_" + n for n in dir(_lib) if n.startswith("ERR_") or n == "OK"}
    assert python == library


def test_every_failure_status_has_an_exception() -> None:
    failures = {v for v in _library_statuses() if v != 0}
    assert set(_lib.EXCEPTIONS) == failures
    assert all(issubclass(e, Exception) for e in _lib.EXCEPTIONS.values())


def test_dtype_names_come_from_the_library() -> None:
    # Every DLPack (code, bits) the library names round-trips by name.
    seen = []
    for code in range(32):
        for bits in (4, 6, 8, 16, 32, 64, 128):
            raw = pydll.dlv_dtype_name(DLDataType(code, bits, 1))
            if raw:
                name = raw.decode()
                dt = dtype_struct(name)
                assert (dt.code, dt.bits, dt.lanes) == (code, bits, 1)
                assert dtype_name(dt) == name
                seen.append(name)
    assert len(seen) == 26 and "bfloat16" in seen and "float8_e4m3fn" in seen
    assert dlview.zeros(2, "float16").dtype == "float16"


def test_buffer_formats_agree_with_the_library() -> None:
    checked = 0
    for code in range(32):
        for bits in (8, 16, 32, 64, 128):
            dt = DLDataType(code, bits, 1)
            raw = pydll.dlv_dtype_format(dt)
            name = pydll.dlv_dtype_name(dt)
            if not raw:
                assert name is None or name.decode() not in _tensor._FORMATS
                continue
            fmt, name = raw.decode(), name.decode()
            # Reading buffers: the format maps back to the type.
            assert _creation._buffer_dtype(raw, bits // 8) == name
            # Writing them: the package's letters are the library's (float16
            # is widened first: memoryview cannot unpack 'e').
            if name in _tensor._COMPLEX_PARTS:
                assert fmt == "Z" + _tensor._COMPLEX_PARTS[name]
            elif name != "float16":
                assert _tensor._FORMATS[name] == fmt
            checked += 1
    assert checked == 14
    assert set(_tensor._FORMATS) | set(_tensor._COMPLEX_PARTS) | {"float16"} == {
        pydll.dlv_dtype_name(DLDataType(c, b, 1)).decode()
        for c in range(32)
        for b in (8, 16, 32, 64, 128)
        if pydll.dlv_dtype_format(DLDataType(c, b, 1))
    }

"""The PEP 517 build backend of the ``dlview`` Python package.

``pip install ./python`` (or ``pip wheel ./python``) calls ``build_wheel``
here. It builds the Rust library at the repository root with
``cargo build --release`` and puts it inside the package as
``dlview/libdlview.so``, where ``dlview._lib`` looks first, so the installed
package needs no environment variable and no path into the source tree. The
optional C extension ``dlview/_ext`` (the fast DLPack path) is compiled too
when a C compiler is at hand; without one the wheel is still complete and the
package falls back to ``ctypes``.

Standard library only (no build requirements to download, so it also works
offline). Nothing is written into the source tree except Cargo's ``target/``.

Settings (environment variables):

- ``DLVIEW_SOURCE_DIR``: the repository root (the directory holding
  ``Cargo.toml``), when the ``python/`` directory was copied elsewhere before
  the build. By default it is the parent of ``python/``.
- ``DLVIEW_PREBUILT_LIBRARY``: bundle this ``libdlview.so`` instead of
  running Cargo.
- ``DLVIEW_NO_EXT=1``: do not build the C extension.
- ``CARGO``, ``CC``, ``CARGO_TARGET_DIR``: as usual.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # python/
NAME = "dlview"

__all__ = [
    "build_wheel",
    "get_requires_for_build_wheel",
    "prepare_metadata_for_build_wheel",
]


def _log(msg: str) -> None:
    print(f"dlview build: {msg}", file=sys.stderr, flush=True)


def _source_root() -> Path:
    env = os.environ.get("DLVIEW_SOURCE_DIR")
    root = Path(env).resolve() if env else PACKAGE_DIR.parent
    if not (root / "Cargo.toml").is_file():
        raise RuntimeError(
            f"dlview build: no Cargo.toml in {root}. The wheel bundles the Rust library built "
            "from the repository, so build from a checkout (`pip install ./python` at its root); "
            "if your installer copied python/ elsewhere first, set DLVIEW_SOURCE_DIR to the "
            "repository root, or DLVIEW_PREBUILT_LIBRARY to a built libdlview.so"
        )
    return root


def _version(root: Path) -> str:
    text = (root / "Cargo.toml").read_text(encoding="utf-8")
    m = re.search(r'^\[workspace\.package\][^\[]*?^version\s*=\s*"([^"]+)"', text, re.M | re.S)
    if not m:
        raise RuntimeError("dlview build: no version in Cargo.toml")
    return m.group(1)


def _project() -> dict[str, str]:
    """The simple string fields of ``[project]`` in pyproject.toml."""
    text = (PACKAGE_DIR / "pyproject.toml").read_text(encoding="utf-8")
    try:
        import tomllib

        return {k: v for k, v in tomllib.loads(text).get("project", {}).items() if isinstance(v, str)}
    except ImportError:  # Python < 3.11: the fields used are plain `key = "value"` lines
        section = re.search(r"^\[project\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
        body = section.group(1) if section else ""
        return dict(re.findall(r'^([A-Za-z-]+)\s*=\s*"([^"]*)"\s*$', body, re.M))


def _metadata(version: str) -> str:
    p = _project()
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {NAME}",
        f"Version: {version}",
        f"Summary: {p.get('description', '')}",
    ]
    if "requires-python" in p:
        lines.append(f"Requires-Python: {p['requires-python']}")
    if "license" in p:
        lines.append(f"License: {p['license']}")
    return "\n".join(lines) + "\n"


def _library_name() -> str:
    # The same as dlview._lib._library_name: the backend runs before the
    # package exists and must not import it (importing loads the library).
    if sys.platform == "darwin":
        return "libdlview.dylib"
    if sys.platform == "win32":
        return "dlview.dll"
    return "libdlview.so"


def _build_library(root: Path) -> Path:
    prebuilt = os.environ.get("DLVIEW_PREBUILT_LIBRARY")
    if prebuilt:
        path = Path(prebuilt).resolve()
        if not path.is_file():
            raise RuntimeError(f"dlview build: DLVIEW_PREBUILT_LIBRARY={prebuilt} does not exist")
        return path
    target = Path(os.environ.get("CARGO_TARGET_DIR") or root / "target")
    if not target.is_absolute():
        target = root / target
    built = target / "release" / _library_name()
    cargo = os.environ.get("CARGO") or shutil.which("cargo")
    if cargo:
        _log(f"{cargo} build --release (in {root})")
        subprocess.run([cargo, "build", "--release", "--lib"], cwd=root, check=True, stdout=sys.stderr)
    elif built.is_file():
        _log(f"no cargo on PATH: bundling the existing {built}")
    else:
        raise RuntimeError(
            "dlview build: cargo is not on PATH and no library is built; install Rust "
            "(https://rustup.rs) or set DLVIEW_PREBUILT_LIBRARY"
        )
    return built


def _copy_library(src: Path, dst: Path) -> None:
    """Copies the library without its debug information when `strip` exists
    (the release profile keeps line tables for backtraces: ~8 MiB)."""
    strip = shutil.which("strip")
    if strip and sys.platform.startswith("linux"):
        res = subprocess.run([strip, "--strip-debug", "-o", str(dst), str(src)], capture_output=True)
        if res.returncode == 0:
            return
    shutil.copy2(src, dst)


def _build_extension(root: Path, out_dir: Path) -> Path | None:
    """Compiles dlview/_ext.c like `make python-ext`; None if that fails."""
    if os.environ.get("DLVIEW_NO_EXT", "") in ("1", "true", "yes") or sys.platform == "win32":
        return None
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    include = sysconfig.get_paths().get("include")
    if not cc or not suffix or not include or not Path(include, "Python.h").is_file():
        _log("no C compiler or Python headers: the package will use ctypes only")
        return None
    out = out_dir / f"_ext{suffix}"
    cmd = [cc, "-std=c11", "-O2", "-fPIC", "-shared", f"-I{include}", f"-I{root / 'include'}",
           str(PACKAGE_DIR / NAME / "_ext.c"), "-o", str(out), "-ldl"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        _log(f"the C extension did not build (the package will use ctypes):\n{res.stderr}")
        return None
    return out


def _tag(with_ext: bool) -> str:
    plat = re.sub(r"[^A-Za-z0-9]", "_", sysconfig.get_platform())
    if with_ext:
        impl = f"cp{sys.version_info[0]}{sys.version_info[1]}"
        abi = sysconfig.get_config_var("SOABI") or impl
        m = re.match(r"cpython-(\d+)(\w*)", abi)
        abi_tag = f"cp{m.group(1)}{m.group(2)}" if m else impl
        return f"{impl}-{abi_tag}-{plat}"
    return f"py3-none-{plat}"  # the library is found with ctypes: any CPython


def _record_line(arcname: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def _dist_info(version: str) -> str:
    return f"{NAME}-{version}.dist-info"


# ---- PEP 517 hooks ---------------------------------------------------------------


def get_requires_for_build_wheel(config_settings: dict | None = None) -> list[str]:
    return []


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: dict | None = None) -> str:
    version = _version(_source_root())
    d = Path(metadata_directory) / _dist_info(version)
    d.mkdir(parents=True, exist_ok=True)
    (d / "METADATA").write_text(_metadata(version), encoding="utf-8")
    return d.name


def build_wheel(wheel_directory: str, config_settings: dict | None = None,
                metadata_directory: str | None = None) -> str:
    root = _source_root()
    version = _version(root)
    with tempfile.TemporaryDirectory(prefix="dlview-wheel-") as tmp:
        staging = Path(tmp)
        files: dict[str, Path] = {}
        for src in sorted((PACKAGE_DIR / NAME).iterdir()):
            if src.suffix == ".py" or src.name == "py.typed":
                files[f"{NAME}/{src.name}"] = src
        lib = staging / _library_name()
        _copy_library(_build_library(root), lib)
        files[f"{NAME}/{lib.name}"] = lib
        ext = _build_extension(root, staging)
        if ext is not None:
            files[f"{NAME}/{ext.name}"] = ext
        tag = _tag(ext is not None)

        dist_info = _dist_info(version)
        meta = {
            f"{dist_info}/METADATA": _metadata(version).encode(),
            f"{dist_info}/WHEEL": (
                "Wheel-Version: 1.0\nGenerator: dlview_build\nRoot-Is-Purelib: false\n" f"Tag: {tag}\n"
            ).encode(),
            f"{dist_info}/top_level.txt": f"{NAME}\n".encode(),
        }
        wheel_name = f"{NAME}-{version}-{tag}.whl"
        record = []
        with zipfile.ZipFile(Path(wheel_directory) / wheel_name, "w", zipfile.ZIP_DEFLATED) as zf:
            for arcname, path in files.items():
                data = path.read_bytes()
                info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = (0o755 if path.suffix == ".so" else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data)
                record.append(_record_line(arcname, data))
            for arcname, data in meta.items():
                zf.writestr(zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0)), data)
                record.append(_record_line(arcname, data))
            record.append(f"{dist_info}/RECORD,,")
            zf.writestr(zipfile.ZipInfo(f"{dist_info}/RECORD", date_time=(1980, 1, 1, 0, 0, 0)),
                        "\n".join(record) + "\n")
    _log(f"built {wheel_name} ({'with' if ext is not None else 'without'} the C extension)")
    return wheel_name

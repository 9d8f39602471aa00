"""``python -m dlview --includedir/--libdir/--cmakedir/--cflags/--libs``:
where a wheel keeps dlview's C files, for building C/C++ extensions."""

import sys

from ._native import _cli

try:
    print(_cli(sys.argv[1:]))
except (ValueError, FileNotFoundError) as e:
    sys.exit(f"python -m dlview: {e}")

"""Build gort's optional C core, gort._core (src/gort/_core.c); the rest is pyproject.toml.

Where the extension cannot be built (no C compiler, no Python headers), the pure
package installs and one warning says so (shown by ``pip install -v``; at run time
``gort --version`` and ``gort.stats()["core"]`` say which path runs).
"""

import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class optional_build_ext(build_ext):
    """build_ext that turns a failed build of the C core into one warning."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as e:  # no compiler at all (distutils raises before compiling)
            self._warn(e)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as e:
            self._warn(e)

    def _warn(self, e: Exception) -> None:
        print(f"WARNING: gort's C core (gort._core) was not built ({type(e).__name__}: {e}); "
              "installing the pure-Python runtime, which behaves the same, more slowly. "
              "To build it, install a C compiler and the Python headers "
              "(e.g. apt-get install gcc python3-dev) and reinstall.", file=sys.stderr)


setup(
    ext_modules=[Extension("gort._core", ["src/gort/_core.c"],
                           extra_compile_args=["-O2", "-Wall", "-Werror=implicit-function-declaration"])],
    cmdclass={"build_ext": optional_build_ext},
)

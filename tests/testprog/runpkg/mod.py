"""Run with `gort run -m runpkg.mod ARGS`: a module as __main__, as python -m does."""

import sys

import gort


def main():
    return gort.current_id(), __name__, sys.argv[1:]


print(gort.run(main))

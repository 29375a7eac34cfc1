"""``python -m gort run PROG.py [ARGS...]``."""

from gort.cli import main

main()

"""Imported by tl_import_cycle.py: parks, then imports parkcyc_a, which imports this."""
import gort

gort.sleep(0.02)
import parkcyc_a  # noqa: E402, F401

B = 1

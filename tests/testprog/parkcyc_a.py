"""Imported by tl_import_cycle.py: parks, then imports parkcyc_b, which imports this."""
import gort

gort.sleep(0.02)
import parkcyc_b  # noqa: E402, F401

A = 1

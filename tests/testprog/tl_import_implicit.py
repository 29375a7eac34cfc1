"""The runtime starts inside an import; a goroutine importing that module waits for it."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import startmod

startmod.wg.wait()
print(startmod.got)
assert startmod.got == [42]
print("OK")

import os
import sys

import gort

print("argv", [os.path.basename(sys.argv[0]), *sys.argv[1:]])
print("main", gort.current_id())

import sys

import gort

gort.go(sys.exit, 3)
gort.sleep(5)

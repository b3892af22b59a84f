"""Writes its pid to {out}/pid, prints a line, then hangs (for the timeout tests)."""

import os
import sys
import time

with open(os.path.join(sys.argv[1], "pid"), "w") as f:
    f.write(str(os.getpid()))
print("started, now stuck", file=sys.stderr, flush=True)
while True:
    time.sleep(1)

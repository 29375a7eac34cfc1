"""A program's global callbacks that raise on every thread but the main one (issue 9).

argv[1]: monitoring (a sys.monitoring tool, 3.12+, PY_START and CALL events),
settrace_all / setprofile_all (threading.*_all_threads, 3.12+), settrace
(threading.settrace). sysmon and gort.offload's workers must survive and feed the
callbacks none of gort's frames; the callbacks do see the offloaded function (the
monitoring tool's exception is the call's). Before, on 3.13, the monitoring tool killed
sysmon at its first frame, and a worker (its goroutine then waited for good).
"""

import sys
import threading

import gort
from gort.runtime import sysmon

mode = sys.argv[1]
if mode in ("settrace_all", "setprofile_all"):
    mode += "_threads"
main_tid = threading.get_ident()
seen: set[str] = set()


def bad(code_name: str, filename: str) -> None:
    if threading.get_ident() != main_tid:
        where = filename.rsplit("/", 2)
        seen.add(f"gort/{where[-2]}/{where[-1]}" if "/gort/" in filename else code_name)
        raise RuntimeError("callback raised off the main thread")


if mode == "monitoring":
    mon = sys.monitoring
    mon.use_tool_id(2, "raises")
    mon.register_callback(2, mon.events.PY_START,
                          lambda code, off: bad(code.co_name, code.co_filename))
    mon.register_callback(2, mon.events.CALL,
                          lambda code, off, c, a: bad(code.co_name, code.co_filename))
    mon.set_events(2, mon.events.PY_START | mon.events.CALL)
else:
    def hook(frame, event, arg):  # type: ignore[no-untyped-def]
        bad(frame.f_code.co_name, frame.f_code.co_filename)
    getattr(threading, mode)(hook)


def work(x: int) -> int:
    return x * 2


def main() -> None:
    # Started by then on a loaded machine (50 ms was missed once at load 8), and still
    # alive a while after its first frames ran under the raising callback.
    for _ in range(100):
        if sysmon.live_threads() == 1:
            break
        gort.sleep(0.05)
    gort.sleep(0.05)
    print("sysmon alive:", sysmon.live_threads() == 1)
    for _ in range(2):  # the second reuses the first's worker: it survived
        try:
            print("offload:", gort.offload(work, 21))
        except RuntimeError as e:
            print("offload raised:", e)


gort.run(main)
print("seen:", sorted(seen))

"""A profile, trace or sys.monitoring callback that takes an RLock the traced code also
takes (adversarial F0): CPython's C RLock emits no event inside acquire or release, so
the callback always finds it free or held by its own thread, never half-taken.

argv[1]: run (one goroutine, the main one, inside gort.run), norun (import gort, no
run), threads (import gort, no run, two threads contending, threading.setprofile).
argv[2]: profile | trace | monitoring (3.12+) | log (a tracer logging each event
through the handler the program logs to). Prints OK and the number of callbacks.
"""
import io
import logging
import sys
import threading

import gort

MODE, HOW = sys.argv[1], sys.argv[2]
LOCK = threading.RLock()
COND = threading.Condition(LOCK)
seen = [0]
buf = io.StringIO()
handler = logging.StreamHandler(buf)
log = logging.getLogger("prog")
log.addHandler(handler)
log.setLevel(logging.INFO)
tlog = logging.getLogger("tracer")
tlog.addHandler(handler)
tlog.setLevel(logging.INFO)
tlog.propagate = False


def callback(*_args):
    with LOCK:
        seen[0] += 1


def tracer(frame, event, arg):
    if HOW == "log":
        if "logging" in frame.f_code.co_filename:
            return None  # not logging's own frames
        tlog.info("%s %s", event, frame.f_code.co_name)
    else:
        callback()
    return tracer


def work(i):
    with LOCK, LOCK:  # re-entered
        pass
    LOCK.acquire()
    LOCK.release()
    with COND:
        COND.notify()
        COND.wait(0)  # released and taken back through _release_save/_acquire_restore
    log.info("step %d", i)


def start():
    if HOW == "profile":
        if MODE == "threads":
            threading.setprofile(callback)
        sys.setprofile(callback)
    elif HOW in ("trace", "log"):
        if MODE == "threads" and HOW == "trace":
            # (not for log: 3.13 runs the hook before the thread is registered, and
            # logging's current_thread() then makes a dummy Thread, deleted at exit)
            threading.settrace(tracer)
        sys.settrace(tracer)
    else:
        mon = sys.monitoring
        mon.use_tool_id(3, "tl_tracer_rlock")
        ev = mon.events
        for e in (ev.PY_START, ev.PY_RETURN, ev.LINE, ev.CALL):
            mon.register_callback(3, e, callback)
        mon.set_events(3, ev.PY_START | ev.PY_RETURN | ev.LINE | ev.CALL)


def stop():
    sys.setprofile(None)
    sys.settrace(None)
    threading.setprofile(None)
    threading.settrace(None)
    if HOW == "monitoring":
        sys.monitoring.set_events(3, 0)
        sys.monitoring.free_tool_id(3)


def loop(n):
    for i in range(n):
        work(i)


def main():
    start()
    try:
        if MODE == "threads":
            ts = [threading.Thread(target=loop, args=(100,)) for _ in range(2)]
            for t in ts:
                t.start()
            loop(100)
            for t in ts:
                t.join()
        else:
            loop(100)
    finally:
        stop()
    steps = buf.getvalue().count("step ")
    want = 300 if MODE == "threads" else 100
    ok = steps == want and (seen[0] > 0 or HOW == "log") and not LOCK._is_owned()
    print("OK" if ok else f"FAIL steps={steps} callbacks={seen[0]}", seen[0] > 0)


if MODE == "run":
    gort.run(main)
else:
    main()

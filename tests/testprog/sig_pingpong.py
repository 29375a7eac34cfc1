"""Go's signal.Notify idiom while two goroutines ping-pong and a thread sends SIGUSR1 every ms.

argv[1]: "handler" (the idiom by hand: a SIGUSR1 handler doing a non-blocking
send on a buffered channel) or "notify" (gort.signal.notify). Runs ~argv[2]
seconds (default 1). Prints: pingpong N sent S handled H delivered D dropped X.
Every handler call (or notify delivery) is either received or counted as
dropped; the ping-pong loses nothing.
"""

import os
import signal
import sys
import threading
import time

import gort

MODE = sys.argv[1]
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0

sigs = gort.Chan(4)
counts = {"handled": 0, "dropped": 0}


def on_usr1(signum, frame):
    counts["handled"] += 1
    i, _ = gort.select((sigs.send, signum), gort.default)
    if i == 1:
        counts["dropped"] += 1


def main():
    if MODE == "handler":
        signal.signal(signal.SIGUSR1, on_usr1)
    else:
        gort.signal.notify(sigs, signal.SIGUSR1)
    stop = threading.Event()
    sent = [0]

    def kill_loop():
        pid = os.getpid()
        while not stop.is_set():
            os.kill(pid, signal.SIGUSR1)
            sent[0] += 1
            time.sleep(0.001)

    ping, pong = gort.Chan(), gort.Chan()
    done = gort.Chan()
    received = [0]

    def consumer():
        while True:
            i, v = gort.select(sigs.recv, done.recv)
            if i == 1:
                return
            assert v == signal.SIGUSR1, v
            received[0] += 1

    gort.go(consumer)
    t = threading.Thread(target=kill_loop, daemon=True)
    t.start()
    # the two players: ping's receiver replies on pong and vice versa
    last = [None]

    def a():
        pong.send(0)
        while True:
            v = ping.recv()
            if v is None or v >= 10**12:
                return
            last[0] = v
            pong.send(v + 1)

    def b():
        while True:
            v = pong.recv()
            if v is None:
                return
            last[0] = v
            ping.send(v + 1)

    gort.go(a)
    gort.go(b)
    gort.sleep(SECONDS)
    stop.set()
    t.join()
    gort.sleep(0.05)  # the last signals arrive and are delivered
    value = last[0]
    gort.sleep(0.01)
    assert last[0] > value, "the ping-pong stopped"
    done.close()
    gort.sleep(0.01)
    while True:  # what the consumer left in the channel
        i, _v = gort.select(sigs.recv, gort.default)
        if i == 1:
            break
        received[0] += 1
    st = gort.stats()
    if MODE == "handler":
        handled, dropped = counts["handled"], counts["dropped"]
    else:
        handled, dropped = st["signal_notified"] + st["signal_dropped"], st["signal_dropped"]
    assert received[0] + dropped == handled, (received[0], dropped, handled)
    print(f"pingpong {last[0]} sent {sent[0]} handled {handled} delivered {received[0]} "
          f"dropped {dropped} deferred {st['signal_deferred']}")


main()

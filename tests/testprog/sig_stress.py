"""Random signals against 100 goroutines exchanging checksummed messages (seeded, replayable).

usage: sig_stress.py SECONDS SEED

A ring of 100 goroutines: each sends messages (src, seq, payload, crc32) to
the next one and checks what the previous one sends (source, order,
checksum), over channels of random capacities, computing a little between
messages (run it with a short slice: GORT_PREEMPT_NS=50000). A thread sends
SIGALRM and SIGUSR1 at random intervals. SIGALRM's handler raises Alarm or
does a non-blocking send, at random; every Alarm must reach main (exactly
once, possibly chained to another); SIGUSR1 goes to a gort.signal.notify
channel. The seed fixes every random choice (not the thread's timing).
Prints "ok ..." with the counts, or fails an assertion (exit 2).
"""

import os
import random
import signal
import sys
import threading
import time
import zlib

import gort
from gort.sync import WaitGroup

SECONDS = float(sys.argv[1])
SEED = int(sys.argv[2])
N = 100


class Alarm(Exception):
    def __init__(self, serial):
        super().__init__(serial)
        self.serial = serial


rnd = random.Random(SEED)
raise_plan = [rnd.random() < 0.3 for _ in range(1 << 16)]
alarm = {"calls": 0, "raised": set(), "sent": 0, "dropped": 0}
alarms = gort.Chan(8)


def on_alarm(signum, frame):
    k = alarm["calls"]
    alarm["calls"] = k + 1
    if raise_plan[k % len(raise_plan)]:
        alarm["raised"].add(k)
        raise Alarm(k)
    if gort.select((alarms.send, k), gort.default)[0] == 0:
        alarm["sent"] += 1
    else:
        alarm["dropped"] += 1


caught = set()
boxes = []  # every Alarm main caught; their chains are walked once the signals stopped


def note_all():
    """Record every Alarm in the chains of those caught (goraise chains a second one)."""
    for e in boxes:
        while e is not None:
            if isinstance(e, Alarm):
                caught.add(e.serial)
            e = e.__context__


def absorb(fn, *args):
    """Call fn in main, keeping the Alarms that arrive meanwhile.

    An Alarm is raised in main wherever main is: in the blocking call, or,
    when the handler runs while main itself runs, at any instruction where
    CPython checks for signals (a call's return, a loop's back edge). The
    except clauses only store (no such instruction), and the append after
    them is the only call: an Alarm landing right after it finds the first
    one kept. A pending Alarm raised inside an except clause would get that
    clause's exception as its __context__, replacing the chain gort made,
    hence nothing is done inside them. A second level catches an Alarm that
    lands in the inner loop; a third within the same few instructions is out
    of reach of any Python code.
    """
    for _ in range(1000):
        outer = None
        try:
            while True:
                inner = None
                try:
                    return fn(*args)
                except Alarm as e:
                    inner = e
                boxes.append(inner)
        except Alarm as e:
            outer = e
        boxes.append(outer)
    raise AssertionError("absorb: alarms kept escaping")


stopping = [False]
chans = [gort.Chan(rnd.choice([0, 1, 3, 8])) for _ in range(N)]
results = [None] * N
wg = WaitGroup()


def member(i, seed):
    r = random.Random(seed)
    out, inbox = chans[(i + 1) % N], chans[i]
    prev = (i - 1) % N
    seq_out = 0
    seq_in = 0
    total_in = None  # the previous member's final count, from its last message
    msg = None
    sent_final = False
    while not (sent_final and total_in is not None):
        if msg is None and not sent_final:
            if stopping[0]:
                msg = (i, seq_out, None, seq_out)  # the last message: how many came before
            else:
                payload = r.randbytes(r.randrange(1, 64))
                msg = (i, seq_out, payload, zlib.crc32(payload))
        x = 0
        for k in range(r.randrange(50)):
            x += k
        if msg is not None:
            idx, got = gort.select((out.send, msg), inbox.recv)
        else:
            idx, got = 1, inbox.recv()
        if idx == 0:
            if msg[2] is None:
                sent_final = True
            else:
                seq_out += 1
            msg = None
            continue
        src, seq, payload, crc = got
        assert src == prev, (i, got)
        assert seq == seq_in, (i, seq, seq_in)
        if payload is None:
            assert crc == seq_in, (i, crc, seq_in)
            total_in = crc
        else:
            assert zlib.crc32(payload) == crc, (i, seq)
            seq_in += 1
    results[i] = (seq_out, seq_in)
    wg.done()


usr1 = gort.Chan(8)
got = {"alarm": 0, "usr1": 0}
quit_ = gort.Chan()


def consumer():
    while True:
        i, _v = gort.select(alarms.recv, usr1.recv, quit_.recv)
        if i == 2:
            return
        got["alarm" if i == 0 else "usr1"] += 1


def killer(stop, sent):
    r = random.Random(SEED + 1)
    pid = os.getpid()
    while not stop[0]:
        sig = signal.SIGALRM if r.random() < 0.5 else signal.SIGUSR1
        os.kill(pid, sig)
        sent[sig] = sent.get(sig, 0) + 1
        time.sleep(r.uniform(0.0002, 0.002))


def controller(finished):
    """Everything main would do, in a goroutine: Alarms go to main, never here."""
    signal.signal(signal.SIGALRM, on_alarm)
    gort.signal.notify(usr1, signal.SIGUSR1)
    gort.go(consumer)
    wg.add(N)
    for i in range(N):
        gort.go(member, i, rnd.randrange(1 << 30))
    stop, sent = [False], {}
    t = threading.Thread(target=killer, args=(stop, sent), daemon=True)
    t.start()
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        gort.sleep(0.01)
    stopping[0] = True
    wg.wait()
    stop[0] = True
    while t.is_alive():
        gort.sleep(0.005)
    gort.sleep(0.05)  # the last signals are handled
    quit_.close()
    gort.sleep(0.01)
    for v in (alarms, usr1):  # what the consumer left
        while gort.select(v.recv, gort.default)[0] == 0:
            got["alarm" if v is alarms else "usr1"] += 1
    finished.send(sent)


def main():
    finished = gort.Chan(1)
    started = []

    def start_and_wait():
        # Inside absorb: main may be preempted in gort.go itself (a synchronous safe
        # point), the controller then starts the signals, and an Alarm can reach main
        # before gort.go returns. Started once, whatever absorb retries.
        if not started:
            started.append(True)
            gort.go(controller, finished)
        return finished.recv()

    sent = absorb(start_and_wait)
    note_all()
    st = gort.stats()
    msgs = 0
    for i in range(N):
        seq_out, _ = results[i]
        assert results[(i + 1) % N][1] == seq_out, (i, results[i], results[(i + 1) % N])
        msgs += seq_out
    # An Alarm raised but never caught by main is lost: counted, and named on stderr (the
    # test fails on any; the preemption hook once raised a pending one over another in
    # flight in main's frames). Never one caught that was not raised.
    assert caught <= alarm["raised"], (sorted(caught - alarm["raised"]),)
    lost = sorted(alarm["raised"] - caught)
    assert got["alarm"] == alarm["sent"], (got, alarm)
    assert alarm["calls"] == len(alarm["raised"]) + alarm["sent"] + alarm["dropped"]
    assert got["usr1"] == st["signal_notified"], (got, st)
    assert alarm["calls"] > 0 and st["signal_notified"] > 0, (alarm, st)
    print(f"ok seed {SEED} messages {msgs} sigalrm {sent.get(signal.SIGALRM, 0)} handled "
          f"{alarm['calls']} raised {len(caught)} sent {alarm['sent']} dropped "
          f"{alarm['dropped']} sigusr1 {sent.get(signal.SIGUSR1, 0)} notified "
          f"{st['signal_notified']} dropped {st['signal_dropped']} deferred "
          f"{st['signal_deferred']} preempt {st['preempt_async'] + st['preempt_sync']} "
          f"lost {len(lost)}")
    if lost:
        print("lost alarms", lost, file=sys.stderr)


main()

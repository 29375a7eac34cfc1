"""A seeded random channel program for the C-core/pure differential test (test_core.py).

argv: seed. Prints every operation's outcome in the order it happened, then
the goroutine dump of whatever is still blocked: both paths must print the
same bytes (select's choices come from GORT_SEED, the run from the seed).
"""
import random
import re
import sys

import gort

rng = random.Random(int(sys.argv[1]))
log: list[str] = []


def op(i: int, chans: list[gort.Chan[int]]) -> None:
    kind = rng.choices(["send", "recv", "recv_ok", "select", "close", "len"],
                      [30, 25, 15, 20, 1, 5])[0]
    c = rng.randrange(len(chans))
    ch = chans[c]
    try:
        if kind == "send":
            ch.send(i)
            log.append(f"{i} send c{c}")
        elif kind == "recv":
            log.append(f"{i} recv c{c} -> {ch.recv()}")
        elif kind == "recv_ok":
            log.append(f"{i} recv_ok c{c} -> {ch.recv_ok()}")
        elif kind == "close":
            ch.close()
            log.append(f"{i} close c{c}")
        elif kind == "len":
            log.append(f"{i} len c{c} -> {len(ch)} cap {ch.cap}")
        else:
            # 1 to 4 cases of every kind, a channel possibly twice, maybe a default
            picks = [rng.randrange(len(chans)) for _ in range(rng.randint(1, 4))]
            cases: list[object] = []
            for p in picks:
                k = rng.randrange(3)
                ch_ = chans[p]
                cases.append(ch_.recv if k == 0 else ch_.recv_ok if k == 1 else (ch_.send, i))
            if rng.random() < 0.3:
                cases.insert(rng.randint(0, len(cases)), gort.default)
            log.append(f"{i} select c{picks} -> {gort.select(*cases)}")
    except gort.ClosedChannelError as e:
        log.append(f"{i} {kind} c{c} raised {e}")


def main() -> None:
    chans: list[gort.Chan[int]] = [gort.Chan(rng.choice([0, 0, 1, 2, 4])) for _ in range(4)]
    for i in range(300):
        gort.go(op, i, chans)
        if rng.random() < 0.5:
            gort.gosched()
    gort.sleep(0.01)
    print("\n".join(log))
    # The blocked ones: goid, wait reason (addresses and times vary run to run).
    dump = gort.stack()
    print(re.sub(r"0x[0-9a-f]+|\d+ minutes", "X", "\n".join(
        line for line in dump.splitlines() if line.startswith("goroutine "))))
    print(gort.stats()["goroutines"])


if __name__ == "__main__":
    gort.run(main)

"""asyncio's running loop, async generator hooks and origin depth are per goroutine.

argv[1] picks the case; argv[2] == "early" imports asyncio before gort (the setter is
patched at ``import gort``), else after (patched when asyncio.events is imported).
Prints one line per check, then "done".

- interleave: three goroutines each asyncio.run() a workload that spins under an
  asyncio.Lock; preemption interleaves them, and a fourth, loop-less, looks for a running
  loop meanwhile. Prints each result, the error count and what the fourth saw.
- parked: goroutine A parks inside its loop (a gort channel receive in a coroutine);
  meanwhile B sees no running loop (get_running_loop raises, _get_running_loop is None,
  base async generator hooks), runs asyncio.run() of its own, and makes an async
  generator that is not registered with A's loop. A then finds its own loop again.
- nested: a coroutine in A's loop starts a child goroutine that runs asyncio.run() and
  waits for it on a channel (A parked with its loop running); each sees its own loop.
- abandon: a goroutine parked inside its loop when main returns; after gort.run the
  thread has no running loop and asyncio.run() works.
- manual: a goroutine sets a running loop by hand and returns without clearing it; the
  next goroutine (its G reused) and the thread after the run see none.
"""

import sys

if sys.argv[2:] == ["early"]:
    import asyncio
import gort

if sys.argv[2:] != ["early"]:
    import asyncio

CASE = sys.argv[1]


def spin(n: int) -> None:
    for _ in range(n):
        pass


def running() -> object:
    return asyncio.events._get_running_loop()


async def work(k: int) -> tuple[int, int]:
    lk = asyncio.Lock()
    tot = 0

    async def part() -> None:
        nonlocal tot
        async with lk:
            x = tot
            spin(20000)
            await asyncio.sleep(0)
            tot = x + 1

    await asyncio.gather(*(part() for _ in range(20)))
    assert running() is asyncio.get_running_loop()
    return (k, tot)


def interleave() -> None:
    outs: list[tuple[int, int]] = []
    errs: list[str] = []

    def g(k: int) -> None:
        try:
            outs.append(asyncio.run(work(k)))
        except Exception as e:
            errs.append(repr(e))

    looks = [0, 0]  # a loop-less goroutine's looks while the others' loops run, and how
    # many of them saw a loop (a preempted owner's, before)

    def watcher() -> None:
        while len(outs) + len(errs) < 3:
            looks[0] += 1
            if running() is not None or sys.get_asyncgen_hooks().firstiter is not None:
                looks[1] += 1
            spin(2000)

    wg = gort.sync.WaitGroup()
    for k in range(3):
        wg.go(g, k)
    wg.go(watcher)
    wg.wait()
    for o in sorted(outs):
        print("result", *o)
    print("errors", len(errs), *errs[:1])
    print("watcher saw a loop", looks[1], "looked", looks[0] > 0)
    print("main sees loop", running() is not None)


def parked() -> None:
    ch: gort.Chan[int] = gort.Chan()
    done: gort.Chan[str] = gort.Chan(1)
    seen: dict[str, object] = {}

    async def agen():  # type: ignore[no-untyped-def]
        yield 1

    async def a_main() -> None:
        loop = asyncio.get_running_loop()
        seen["a_hooks"] = sys.get_asyncgen_hooks().firstiter
        ch.recv()  # parks goroutine A with its loop running
        seen["a_again"] = asyncio.get_running_loop() is loop
        seen["a_hooks_again"] = sys.get_asyncgen_hooks().firstiter == seen["a_hooks"]
        seen["a_agens"] = len(loop._asyncgens)  # type: ignore[attr-defined]

    def a() -> None:
        asyncio.run(a_main())
        done.send("a")

    def b() -> None:
        try:
            asyncio.get_running_loop()
            seen["b_get"] = "a loop"
        except RuntimeError:
            seen["b_get"] = "RuntimeError"
        seen["b_running"] = running()
        seen["b_hooks"] = tuple(sys.get_asyncgen_hooks())
        g = agen()
        try:
            g.asend(None).send(None)  # first iteration: the firstiter hook runs
        except StopIteration as e:
            seen["b_agen"] = e.value

        async def b_main() -> int:
            return 7 + await asyncio.sleep(0, 0)

        seen["b_run"] = asyncio.run(b_main())
        ch.send(1)
        done.send("b")

    gort.go(a)
    gort.sleep(0.01)  # a parks in its loop
    gort.go(b)
    print("finished", sorted([done.recv(), done.recv()]))
    print("b get_running_loop:", seen["b_get"])
    print("b _get_running_loop:", seen["b_running"])
    print("b asyncgen hooks:", seen["b_hooks"])
    print("b agen:", seen["b_agen"], "b run:", seen["b_run"])
    print("a own loop again:", seen["a_again"], "own hooks:", seen["a_hooks_again"])
    print("a loop's async generators:", seen["a_agens"])
    print("main sees loop", running() is not None)


def nested() -> None:
    out: list[str] = []

    async def child_main() -> str:
        spin(50000)
        await asyncio.sleep(0)
        return "child loop ok"

    def child(res: gort.Chan[object]) -> None:
        try:
            r: object = asyncio.run(child_main())
        except Exception as e:
            r = e
        res.send(r)

    async def parent_main() -> None:
        loop = asyncio.get_running_loop()
        res: gort.Chan[object] = gort.Chan()
        gort.go(child, res)
        out.append(f"child: {res.recv()}")  # parks with the parent's loop running
        out.append(f"parent still own loop: {asyncio.get_running_loop() is loop}")

    asyncio.run(parent_main())
    print(*out, sep="\n")
    print("main sees loop", running() is not None)


def abandon() -> None:
    async def stuck() -> None:
        gort.Chan().recv()  # parks forever inside the loop

    def g() -> None:
        asyncio.run(stuck())

    gort.go(g)
    gort.sleep(0.01)
    print("main sees loop", running() is not None)


def manual() -> None:
    loop = asyncio.new_event_loop()
    done: gort.Chan[None] = gort.Chan()

    def setter() -> None:
        asyncio.events._set_running_loop(loop)
        done.send(None)

    def after() -> None:
        print("next goroutine sees loop", running() is not None)
        done.send(None)

    gort.go(setter)
    done.recv()
    gort.sleep(0.005)
    gort.go(after)
    done.recv()
    loop.close()
    print("main sees loop", running() is not None)


gort.run({"interleave": interleave, "parked": parked, "nested": nested,
          "abandon": abandon, "manual": manual}[CASE])
print("after run: loop", running() is not None, "hooks", tuple(sys.get_asyncgen_hooks()))


async def after_run() -> str:
    await asyncio.sleep(0)
    return "ok"


print("after run: asyncio.run", asyncio.run(after_run()))
print("done")

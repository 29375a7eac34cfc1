"""Spinners entered through C call machinery only, beside a sleeper that must get turns.

``fn(*args)`` (CALL_FUNCTION_EX: a C call on 3.11), a class's ``__init__`` (of a class
whose metaclass is ``type`` or another: ``meta``), ``__new__`` or metaclass ``__call__``,
and an instance's ``__call__`` (inherited too: ``callsub``) put C between the caller's
frame and the spinner's; that C holds nothing, so the spinners are preempted there, with
no "C between" deferral.
"""
import sys
import time

import gort

stop = [False]


def spin(n):
    while not stop[0]:
        n += 1


def star(fn, *args):
    fn(*args)


class Init:
    def __init__(self, n):
        while not stop[0]:
            n += 1


class Kind(type):
    pass


class Meta(metaclass=Kind):  # the callee read is typed by its metaclass (symtab)
    def __init__(self, n):
        while not stop[0]:
            n += 1


class Call:
    def __call__(self, n):
        while not stop[0]:
            n += 1


class CallSub(Call):  # an inherited __call__
    pass


class New:
    def __new__(cls, n):
        while not stop[0]:
            n += 1
        return super().__new__(cls)


class MetaCall(type):
    def __call__(cls, n):
        while not stop[0]:
            n += 1


class ByMeta(metaclass=MetaCall):  # calling it runs its metaclass's __call__
    pass


def main():
    how = sys.argv[1]
    if how == "star":
        gort.go(star, spin, 0)
    elif how == "init":
        gort.go(lambda: Init(0))
    elif how == "meta":
        gort.go(lambda: Meta(0))
    elif how == "new":
        gort.go(lambda: New(0))
    elif how == "metacall":
        gort.go(lambda: ByMeta(0))
    elif how == "callsub":
        obj = CallSub()
        gort.go(lambda: star(obj, 0))
    else:
        obj = Call()
        gort.go(lambda: star(obj, 0))
    gort.sleep(0)  # the spinner runs now
    t = time.monotonic()
    for _ in range(5):
        gort.sleep(0.001)
    stop[0] = True
    deferred = gort.stats()["preempt_deferred"]
    print(f"turns 5 under_10s {time.monotonic() - t < 10} "
          f"c_between {sum(v for k, v in deferred.items() if 'C between' in k)}")


gort.run(main)

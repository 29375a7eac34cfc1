"""A goroutine panics with an exception whose __str__ raises (issue 9 adversarial pass):
the report said nothing useful, crashed inside gort, and under plain python the
abandoned main's finally then ran."""
import gort


class Weird(Exception):
    def __str__(self):
        raise RuntimeError("str failed")


def g():
    gort.sleep(0.01)
    raise Weird()


def main():
    gort.go(g)
    try:
        gort.sleep(5)
    finally:
        print("main finally ran (it must not)")


main()

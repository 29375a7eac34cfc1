import gort


def worker(n):
    raise ValueError(f"bad value {n}")


print("before", flush=True)
gort.go(worker, 7)
gort.sleep(5)
print("after")  # never: the panic ends the program

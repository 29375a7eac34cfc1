"""Run under coverage: the spinner is preempted, then runs more lines afterwards."""
import gort

state = {"phase": 0}


def spinner():
    while state["phase"] == 0:
        pass
    after_preempt = 1  # LINE-A: runs only after the spinner was preempted and resumed
    state["phase"] = after_preempt + 1


gort.go(spinner)
gort.sleep(0.05)  # the spinner holds the P; main gets it back by preemption
assert gort.stats()["preempt_async"] >= 1
state["phase"] = -1  # let the spinner leave its loop
gort.sleep(0.05)
assert state["phase"] == 2, state
print("OK")

"""Generated, seeded stresses of the whole runtime (replay a failure with its seed).

    GORT_STRESS_SECONDS=20 python -m pytest tests/test_stress.py   # the long runs
    GORT_STRESS_SEED=1234 ...                                      # replay one seed
    GORT_STRESS_SEED=random ...                                    # a new one

CI runs each for a few seconds; the issues ask for 20 s, which the long
setting gives.
"""

from __future__ import annotations

import os
import random
import re

import pytest

from .conftest import run_testprog

SECONDS = os.environ.get("GORT_STRESS_SECONDS", "3")
_SEED_ENV = os.environ.get("GORT_STRESS_SEED")
# Fixed seeds by default (a failure replays as is); GORT_STRESS_SEED=random draws one.
if _SEED_ENV == "random":
    SEEDS = [random.randrange(1 << 20)]
else:
    SEEDS = [int(_SEED_ENV)] if _SEED_ENV else [7, 11]


@pytest.mark.timeout(300)  # the subprocess's own timeout (below) decides, with its output
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("module", [True, False], ids=["gort-run", "python"])
def test_thread_locks_c_callbacks_imports_and_profilers_under_a_50us_slice(
        seed: int, module: bool) -> None:
    """Issue 8: lock-holding user code, logging, queue.Queue, strptime, BufferedWriter over
    a Python raw stream (computing or parking), imports that park, profile functions, a
    trace function calling gort, blocks over locks made before gort: no hang, every count
    exact."""
    timeout = 120 + 4 * float(SECONDS)  # 3 s of work; a loaded machine stretches it
    r = run_testprog("lock_stress.py", str(seed), SECONDS, module=module,
                     env={"GORT_PREEMPT_NS": "50000"}, timeout=timeout)
    assert r.returncode == 0, f"seed {seed}: {r.stdout}{r.stderr}"
    m = re.match(r"seed (\d+) tasks (\d+) lock (\d+) rlock (\d+) logged (\d+) bytes (\d+) "
                 r"imports (\d+) profile (\d+) trace (\d+)", r.stdout)
    assert m is not None, f"seed {seed}: {r.stdout}"
    # Each of 12 workers runs each of the 11 kinds of task at least once; an import task
    # imports twice; a pre-gort lock task counts 5 at least, a parking write 10 bytes.
    assert int(m.group(2)) >= 12 * 11 and int(m.group(7)) >= 12 * 2, r.stdout
    assert int(m.group(8)) > 0 and int(m.group(9)) > 0, r.stdout
    extra = re.search(r" pre (\d+) parked (\d+)$", r.stdout.strip())
    assert extra is not None and int(extra.group(1)) >= 12 * 5 and \
        int(extra.group(2)) >= 12 * 10, r.stdout

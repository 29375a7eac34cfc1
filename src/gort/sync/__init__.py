"""gort.sync: Go's package sync for goroutines (they park goroutines, never the OS thread).

``gort.sync.atomic`` is Go's sync/atomic.
"""

from __future__ import annotations

from . import atomic
from .cond import Cond
from .map import Map
from .mutex import Mutex
from .once import Once, once_func, once_value, once_values
from .pool import Pool
from .rwmutex import RLocker, RWMutex
from .waitgroup import WaitGroup

__all__ = ["Cond", "Map", "Mutex", "Once", "Pool", "RLocker", "RWMutex", "WaitGroup",
           "atomic", "once_func", "once_value", "once_values"]

for _cls in (Cond, Map, Mutex, Once, Pool, RLocker, RWMutex, WaitGroup, once_func, once_value,
             once_values):
    _cls.__module__ = "gort.sync"

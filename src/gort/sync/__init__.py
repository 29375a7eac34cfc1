"""gort.sync: Go's package sync for goroutines (they park goroutines, never the OS thread)."""

from __future__ import annotations

from .cond import Cond
from .mutex import Mutex
from .once import Once
from .rwmutex import RWMutex
from .waitgroup import WaitGroup

__all__ = ["Cond", "Mutex", "Once", "RWMutex", "WaitGroup"]

for _cls in (Cond, Mutex, Once, RWMutex, WaitGroup):
    _cls.__module__ = "gort.sync"

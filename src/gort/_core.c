/* gort._core: the channel operations, select, gort.go and a goroutine's exit in C
   (issue 13).

   What is here: Chan.send, Chan.recv, Chan.recv_ok and Chan.__iter__ (CoreMethod
   objects put on Chan by chan._load_core), select.selectgo (select._load_core) and
   gort.go (chan.core_go), each named and documented as the pure function it replaces, which it keeps as
   __wrapped__ and calls for everything it does not do itself:
     send: a receiver at the head of recvq that WaitQ.dequeue would take (a plain one,
           or a select's whose select is not done: it is marked done, and the sudog
           is its winner, gp.param): hand the value over and ready it (goready inlined:
           runnext, the old runnext to the local ring); no receiver and room in the
           buffer: append; otherwise queue a sudog on sendq and park;
     recv, recv_ok, iter(ch): the same for a sender at the head of sendq (buffered:
           the head, its value to the tail); else the buffer's head; else (None, False)
           from a closed channel; otherwise queue a sudog on recvq and park. iter(ch)
           is a C iterator doing recv_ok per item (no generator frame, no tuple);
     select: the cases parsed (ch.recv, ch.recv_ok, (ch.send, v), gort.default; at
           most 16), pass 1 (every case's readiness, read only; one ready case picked
           with the same draws from the Sched's random.Random as select.py, through
           getrandbits, so a seeded run picks the same cases on both paths), its
           hand-off (as above; where that cannot be made here, the pure
           Chan.try_send/try_recv, as select.py calls them), default; else pass 2 (the
           shuffle, a select sudog per case enqueued in that order, the park) and
           pass 3 (the winner from gp.param, the other sudogs unlinked);
     go:   proc.newproc for a plain function or a bound method from a goroutine (see
           core_go): the G from the P's free list or a copy of a template G, the
           creator's frame walk and context copy, runqput(next=True);
     gopark: proc.gopark for the parks made in Python (poll_runtime.poll_wait's IO
           wait: setup_park), a WAITING park of the running goroutine; the rest, pure;
     WaitGroup.add and done (setup_waitgroup): the count, when it stays above zero,
           from a goroutine; the pure methods release the waiters at zero;
   and proc.goexit_core, which gmain's loop calls when a goroutine's function returns
   (core_goexit: goexit0, the free list or the drop past its limit, schedule, a G
   that never ran taking the greenlet over without a switch), declining (None) to the
   pure code for a tracer, exit hooks, a preemption hook or m.locks. The G it returns
   to run on gmain's greenlet has its contextvars context set (take_context).
   The run's dict entries that go, goexit and ring_pick read (rc) and run_quiet's answer
   are kept while the dict's version tag is unchanged, through the core's own writes of
   the run's counters (run_write).
   Parking is proc.gopark then proc.schedule: schedule's fast path (runnext, nothing
   due) in C, and find_runnable's answer where it is the local ring's head (ring_pick:
   nothing else due, checked as find_runnable checks it) also in C; otherwise by asking
   proc.find_runnable (Python: timers, the netpoller
   and idle wait, offload completions, signals, deadlock reports) for the next G, whose
   switch is made here through greenlet's C API, so no Python frame of gort stays on a
   parked goroutine's stack. Of the core's C frames only the operation's outermost one
   (its Park) stays across the switch: every step before and after is out of line
   (measured: 1,560 bytes of saved C stack per parked receiver, 1,480 on the pure path).
   A G that never ran is started by the parking goroutine itself, below its park, where
   that one stands within NEST_SPAN of g0's depth (nest_ok: the switches between the two
   then copy only a few hundred bytes of the parker's stack); otherwise through g0.
   The steps those out-of-line functions call on the common path (fast_getg, gopark,
   schedule's pick, execute, the hand-offs, goready's halves, the sudog cache, gopark's
   tail) are inlined into them (HOT): their frames are gone before the switch, and the
   calls cost (measured: ping-pong 8,606 -> 8,108 instructions a round trip).
   A parked operation's sudog goes back to a cache of 32 (Go's sudog cache) when only the
   operation still refers to it.
   Everything else calls the pure function (chan.py, select.py), the reference
   semantics: a finished select's sudog at the head of a queue, a closed channel on
   send, a pending preemption request (gp.preempt), getg's slow cases (another thread,
   no runtime, teardown), bad input (the pure function raises its error), the recursion
   budget within a margin of proc.RUNTIME_DEPTH, or for parking of PARK_DEPTH; and
   proc.gopark itself parks when a tracer is on, a preemption hook is armed, m.locks is
   held or a tracing callback runs. The C code decides whether it can do the operation
   itself by reading state and changing nothing until it knows it can, so a fallback
   starts from exactly the state the pure function would have seen (select: the
   fallback decision is made before the first random draw).

   Exactness rules kept by every path:
   - checks before writes: every type and status test, and every allocation
     (the new ring tail, the deque's new block), happens before the first
     write; no Python code runs between the first write and the last but the
     runtime's own (proc.runqputslow for a full ring, proc.gcpoll,
     proc.find_runnable: as in the pure path, at the same points).
   - references a write replaces are released only after the writes (deferred
     decref); they are None, enum members, ints or objects still referenced,
     so no __del__ runs in the middle.
   - values are never compared, hashed or called: a user value's __eq__,
     __hash__ or __del__ cannot run in the middle.
   - the recursion budget is read from the thread state (3.11:
     recursion_remaining; 3.12+: py_recursion_remaining, the field stack.py
     finds), the tracing counter likewise (tracing), and near a limit the pure
     path decides.
   Preemption ("inside the runtime", Go's m.locks): the SIGURG handler, and any
   Python signal handler, runs only at a Python instruction. No Python code runs
   inside an operation here except gort's runtime functions named above, which the
   preemption frame walk treats as the runtime (never a safe point), so no handler
   can stop an operation half done. What could otherwise run Python code in the
   middle is a collection started by an allocation (finalizers, weakref callbacks):
   automatic collection is off while a run runs (mfinal.py), and where the program
   turns it back on (gc.enable()) fast_getg refuses (PyGC_IsEnabled) and every
   operation takes the pure path, whose steps are Python instructions. (goexit's
   first step drops the goroutine's references on purpose while it still runs, as the
   pure gmain does: their finalizers run there, before any state is read.) An explicit
   count was therefore not needed for what is here.
   The synchronous safe point (gp.preempt at entry) falls back to the pure
   function, which calls proc.gopreempt_m.

   Rejected: slot access through PyObject_GetAttr (one type lookup per field,
   most of the gain lost); instead the __slots__ member offsets are read once
   from the classes' member descriptors (setup) and each object's exact type
   is checked before its slots are read. Sched has no __slots__: its tracer is read
   from its instance dict (one lookup; PyObject_GetAttr cost ~250 instructions more a
   read); its m0, injectq and dict, which never change during a run, are found once per
   run (bind_run) and borrowed while a weak reference says the run is alive (a strong
   reference kept the last run's M, P and what they queue alive after the run). What
   every operation looked up in a dict (sched.current; the run's tracer and
   park_rlocks) is kept while the dict's version tag is unchanged (3.11-3.13; measured:
   ping-pong 10,372 -> 9,172 instructions a round trip). Calling
   proc.gopark from C to park (the first version): its Python frames stayed on every
   parked stack (+1 KiB per parked goroutine) and cost a C-to-Python call per park.
   Rejected: gmain itself in C. The preemption frame walk (preempt.py) stops at
   gmain's Python frame, a goroutine's base; with a C gmain the goroutine's function
   would have no gort frame below it. Only the exit path after fn returns is here.
   Not here (pure Python): close, timers, gmain's loop, system goroutines' newproc.
   One module state (single-phase init): not for subinterpreters.
*/

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <pthread.h>
#include <time.h>

/* The interpreter frame's layout (its instruction pointer; a frame object's frame):
   CPython's internal header, as greenlet includes it (see returned_at). */
#define Py_BUILD_CORE 1
#include "internal/pycore_frame.h"
#undef Py_BUILD_CORE

#define SLOT(o, off) (*(PyObject **)((char *)(o) + (off)))
#define MAXOLD 16
#define NOINLINE __attribute__((noinline))
/* A step of the common path inlined into its out-of-line caller (see the top). */
#define HOT inline __attribute__((always_inline))

typedef struct {
    PyObject *sched_dict;      /* gort.runtime.sched.__dict__ ("current") */
    PyTypeObject *Chan, *Sudog, *WaitQ, *G, *M, *P, *deque;
    PyObject *WAITING, *SYSCALL, *RUNNABLE;
    PyObject *runqputslow;     /* proc.runqputslow(s, pp, gp) */
    PyObject *gopark;          /* proc.gopark(gp, reason, status, waiting) */
    PyObject *CHAN_SEND, *CHAN_RECEIVE;  /* WaitReason members */
    PyObject *ClosedChannelError;
    PyObject *zero;
    PyObject *RUNNING, *NOREASON, *CANCELLED, *DEAD;
    PyObject *raise_pending;   /* proc.raise_pending(gp) */
    PyObject *pending_after_wait;  /* proc.pending_after_wait(gp) */
    PyObject *gcpoll, *find_runnable, *one;  /* proc.gcpoll(s, pp), proc.find_runnable */
    PyObject *foreign_switch;  /* proc.foreign_switch(s, mp, gp, got) */
    PyObject *hop_run;         /* proc.hop_run: a trampoline's run (proc.hop_to) */
    PyObject *gmain;           /* proc.gmain: every goroutine greenlet's run */
    PyObject *getcurrent, *str_parent, *greenlet_type;
    PyObject *str_injectq;
    /* select (setup_select) */
    PyObject *m_send, *m_recv, *m_recv_ok, *SELECT, *default_case, *try_send, *try_recv;
    PyObject *getrandbits, *str_rand;
    PyTypeObject *Random, *SudogList;
    PyTypeObject *Timers;
    Py_ssize_t g_selectdone, g_param;
    Py_ssize_t g_waitreason, g_waiting, g_waitsince, g_resume, g_gr, g_pending;
    Py_ssize_t m_armed, m_locks, m_g0, m_hop, p_gcpoll, p_schedwhen, p_schedtick, p_timers, t_heap;
    PyObject *deque_append, *deque_popleft;
    PyObject *str_current, *str_m0, *str_tracer, *str_park_rlocks;
    Py_ssize_t runq_size;
    int depth_margin;          /* proc.RUNTIME_DEPTH plus a margin */
    int park_margin;           /* proc.PARK_DEPTH plus a margin: less, gopark decides */
    /* __slots__ offsets */
    Py_ssize_t ch_buf, ch_closed, ch_dataqsiz, ch_recvq, ch_sendq;
    Py_ssize_t q_first, q_last;
    Py_ssize_t sg_elem, sg_g, sg_is_select, sg_next, sg_prev, sg_queued, sg_success;
    Py_ssize_t sg_c, sg_index, sg_q;
    Py_ssize_t g_preempt, g_status;
    Py_ssize_t m_tid, m_curg, m_p;
    Py_ssize_t p_runnext, p_runq, p_runqhead, p_runqtail;
    int ready;
    /* The run last seen (a weak reference: a finished run is not kept alive) and what
       never changes during it (borrowed from it): its M (Sched.m0, set before the run is
       published in sched.current) and its injectq deque (cleared, never replaced). */
    PyObject *run_ref, *run_m0, *run_injectq;
    /* Its instance dict (borrowed too: never replaced), where Sched.tracer is read: one
       dict lookup, where PyObject_GetAttr cost a type lookup more (measured: ~250
       instructions per read, four reads per ping-pong round trip). */
    PyObject *run_dict;
    /* setup_park's poller class (bound once) */
    PyTypeObject *Netpoll;
    /* What the dict lookups on every operation found, kept while the dict's version tag
       (CPython 3.11-3.13: a new globally unique value at each change) says nothing in it
       changed (measured: ten lookups per ping-pong round trip, ~1,300 instructions).
       cur_s: sched.current (borrowed: the unchanged dict holds it) when it is the bound
       run; quiet: run_quiet's answer for the bound run. */
    uint64_t cur_version, quiet_version;
    PyObject *cur_s;
    int quiet_valid, quiet;
    /* The bound run's M.tid as a C number, while the slot holds this object (kept). */
    PyObject *tid_obj;
    unsigned long tid;
    /* The thread state of the thread whose ident is tid, seen there; NULL: unknown. An
       equal thread state is that thread's: a thread state lives as long as its thread,
       and the M's thread outlives the run that sched.current names (gort.run returns on
       it). Reset with tid_obj, and in a forked child (the parent's other threads' states
       are freed there, and a new thread's may take one's address). Measured: the ident
       call and compare cost ~80 instructions a ping-pong round trip. */
    PyThreadState *tid_ts;
} State;

static State st;

/* gort.go: proc.newproc in C ------------------------------------------------------
   gort.go(fn, *args, **kwargs) for a plain function or a bound method of one, from a
   goroutine (getg's fast case), tracer off: newproc's steps in its order, as writes
   made only after every check and allocation (the new G, its arguments, context and
   creator, the ints, the ring's new tail, the allgs entry): the G from the P's free
   list (gfget) or a new one, copied from a G() made at setup (its slots hold None,
   False, ints, enum members, () and an empty kwargs dict that newproc replaces: the
   setup checks that, else G() is called); goid, fn, args, kwargs, a copy of the
   creator's contextvars context, status RUNNABLE, m, gopc (traceback.creator_of's
   walk: the first frame outside gort's files, from the caller's), gcount and
   goroutines_created, then runqput(next=True) (the old runnext to the ring; a full
   ring: proc.runqputslow, the one Python call, last as in the pure path). Everything
   else (another callable, a coroutine function, another thread, a tracer, a
   preemption request pending) is the pure gort.go. */
static struct {
    Py_ssize_t g_goid, g_system, g_fn, g_args, g_kwargs, g_ctx, g_m, g_gopc;
    Py_ssize_t p_gfree, stats_created, g_onexit, gfree_max;
    PyObject *empty;           /* () */
    PyObject *template;        /* a G() whose slots new Gs copy; NULL: call G() */
    PyObject *nokw;            /* the empty kwargs dict of every G that has none (only
                                  gmain reads a G's kwargs: never written to) */
    PyObject *gortdir, *str_goidgen, *str_gcount, *str_stats, *str_allgs, *str_name;
    PyObject *qmark, *gopreempt_m, *gc_get_count;
    PyObject *str_sigq, *str_netpoll, *str_finq, *str_runq, *str_trash, *str_gctrigger;
    Py_ssize_t np_pending;
    PyTypeObject *Stats, *Netpoll, *Finq;
    int ready;
} gs;


/* greenlet's C API (the capsule greenlet._C_API): getcurrent() and g.switch(*args)
   without the Python-level method call (measured: ~200 instructions a switch). The
   indexes are greenlet.h's (PyGreenlet_GetCurrent_NUM, PyGreenlet_Switch_NUM, "It does
   not change"); the header itself is not included: it ships inside the greenlet
   package, off the include path of an isolated build. */
#define GL_GETCURRENT_NUM 4
#define GL_SWITCH_NUM 6
static PyObject *(*gl_getcurrent)(void);
static PyObject *(*gl_switch)(PyObject *g, PyObject *args, PyObject *kwargs);

/* Where an operation last returned to Python, on this thread: the calling interpreter
   frame and its instruction (the call). CPython checks for signals right after a call
   returns, before the result is stored (3.11: CALL's CHECK_EVAL_BREAKER; 3.13 alike),
   so a Python signal handler that raised there dropped the value a receive had taken
   (and a send, close or go that was made looked undone: the program's retry sent it
   twice; helper-70, ~20 values in 300,000 under a raising 1 ms SIGALRM). A pure-Python
   operation returns into its caller's frame with no such check (3.11+ inline Python
   calls). sigqueue's handler asks returned_at(frame): at that spot it defers the
   program's handler to the next safe point, as it does inside the runtime, and the
   exception lands where the next operation starts, before it takes anything. Two
   stores per operation (measured under callgrind: ping-pong +0.9%, a buffered item
   +3.3%; bench/RESULTS-core.md); the spot is exact, so a later signal at another
   instruction of the frame is not deferred by it. */
static _Thread_local struct {
    struct _PyInterpreterFrame *frame;
    const void *instr;
} ret_at __attribute__((tls_model("initial-exec")));  /* no __tls_get_addr call */

#if PY_VERSION_HEX >= 0x030D0000
#define IFRAME_INSTR(f) ((const void *)(f)->instr_ptr)
#define TS_IFRAME(ts) ((ts)->current_frame)
#else
#define IFRAME_INSTR(f) ((const void *)(f)->prev_instr)
#define TS_IFRAME(ts) ((ts)->cframe->current_frame)
#endif

/* r (an operation's result) is going back to the Python code that called it. Not
   noted from a tracing callback (a profile, trace or monitoring function that calls
   gort: its operations overwrote the program's spot between the program's operation's
   return and its check; helper-71, F1): a handler's exception there is left pending
   for the program's next safe point anyway (sigqueue.run_queued_here). */
static inline PyObject *
returning(PyObject *r)
{
    PyThreadState *ts;
    if (r != NULL && (ts = PyThreadState_Get())->tracing == 0) {
        struct _PyInterpreterFrame *f = TS_IFRAME(ts);
        ret_at.frame = f;
        ret_at.instr = f != NULL ? IFRAME_INSTR(f) : NULL;
    }
    return r;
}

PyDoc_STRVAR(returned_at_doc,
"returned_at(frame, lasti=-1) -> bool\n\n"
"Is frame (a signal handler's) stopped at the call an operation of the core just\n"
"returned from on this thread, its result not yet stored? (sigqueue: defer there.)\n"
"With lasti (bytes, as f_lasti): was the core's last return to frame's call at lasti?\n"
"(the preemption hook, one instruction later).");

static PyObject *
core_returned_at(PyObject *Py_UNUSED(mod), PyObject *const *args, Py_ssize_t nargs)
{
    long lasti = -1;
    if (nargs < 1 || nargs > 2 || !PyFrame_Check(args[0]) ||
        (nargs == 2 && (lasti = PyLong_AsLong(args[1])) == -1 && PyErr_Occurred())) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "returned_at(frame, lasti=-1): a frame is "
                            "required, and lasti an int");
        }
        return NULL;
    }
    struct _PyInterpreterFrame *f = ((PyFrameObject *)args[0])->f_frame;
    if (f == NULL || f != ret_at.frame) {
        Py_RETURN_FALSE;
    }
    if (lasti < 0) {
        return PyBool_FromLong(IFRAME_INSTR(f) == ret_at.instr);
    }
    PyCodeObject *code = PyFrame_GetCode((PyFrameObject *)args[0]);
    const void *at = (const char *)_PyCode_CODE(code) + lasti;
    Py_DECREF(code);
    return PyBool_FromLong(at == ret_at.instr);
}

/* A callable with the pure method's name, docs and signature (__wrapped__), bound
   like a function (Py_TPFLAGS_METHOD_DESCRIPTOR: ch.send(v) makes no bound method),
   calling its fast path, which falls back to ``pure``. */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *dict;
    PyObject *pure;
} CoreMethod;

static PyObject *
coremethod_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (obj == NULL || obj == Py_None) {
        return Py_NewRef(self);
    }
    return PyMethod_New(self, obj);
}

static void
coremethod_dealloc(CoreMethod *self)
{
    Py_XDECREF(self->dict);
    Py_XDECREF(self->pure);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject CoreMethod_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "gort._core.CoreMethod",
    .tp_basicsize = sizeof(CoreMethod),
    .tp_dealloc = (destructor)coremethod_dealloc,
    .tp_vectorcall_offset = offsetof(CoreMethod, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_descr_get = coremethod_get,
    .tp_dictoffset = offsetof(CoreMethod, dict),
    .tp_doc = "A channel operation's C fast path; falls back to the pure method (__wrapped__).",
};

static PyObject *
fallback(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    return PyObject_Vectorcall(((CoreMethod *)callable)->pure, args, nargsf, kwnames);
}

/* The running greenlet's Python recursion budget (what stack.py's depth_left reads). */
static inline int
budget_left(void)
{
    PyThreadState *ts = PyThreadState_Get();
#if PY_VERSION_HEX >= 0x030C0000
    return ts->py_recursion_remaining;
#else
    return ts->recursion_remaining;
#endif
}

/* Nested starts. Every switch between two goroutines whose greenlets both began at
   g0's depth saves and restores the whole parked stack of each (greenlet copies the
   part of the C stack the other's region overlaps): 1,528 bytes each way, memcpy and a
   glibc malloc/free every switch. A G that never ran, started by a parking goroutine
   straight from its park (not through g0), has its C stack begin below the parker's:
   switching between the two then copies the started one's stack and only the few
   hundred bytes of the parker's below that point, as a raw greenlet pair does
   (measured, ping-pong: the parker's 1,528 -> 296 bytes a switch). Bounded: only a
   parker within NEST_SPAN bytes of its thread's g0 (where g0 last switched into a
   goroutine, g0_switch) starts one so; every other start goes through g0 as before,
   so no chain of starts deepens the C stack (the chains design.md warns about: a
   RecursionError after ~500 nested starts). A greenlet's first switch gives it its
   starter's Python recursion depth (greenlet's set_initial_state): around a nested
   start the parker's counters are set to g0's and put back where it resumes, so the
   started goroutine gets g0's budget either way. */
#if defined(__GNUC__) || defined(__clang__)
#define NEST_SPAN 4096
#define STACK_HERE() ((uintptr_t)__builtin_frame_address(0))
typedef struct {
    int py;  /* Python recursion depth (limit - remaining); -1: none saved */
#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030E0000
    int c;   /* the C recursion counter (3.12, 3.13: c_recursion_remaining) */
#endif
} Depth;
static _Thread_local uintptr_t g0_mark;  /* 0: this thread's g0 has not switched */
static _Thread_local Depth g0_depth;

static inline Depth
depth_get(PyThreadState *ts)
{
    Depth d;
#if PY_VERSION_HEX >= 0x030C0000
    d.py = ts->py_recursion_limit - ts->py_recursion_remaining;
#if PY_VERSION_HEX < 0x030E0000
    d.c = ts->c_recursion_remaining;
#endif
#else
    d.py = ts->recursion_limit - ts->recursion_remaining;
#endif
    return d;
}

static inline void
depth_set(PyThreadState *ts, Depth d)
{
#if PY_VERSION_HEX >= 0x030C0000
    ts->py_recursion_remaining = ts->py_recursion_limit - d.py;
#if PY_VERSION_HEX < 0x030E0000
    ts->c_recursion_remaining = d.c;
#endif
#else
    ts->recursion_remaining = ts->recursion_limit - d.py;
#endif
}

/* May the running goroutine, parking, start a G that never ran itself? */
static inline int
nest_ok(void)
{
    return g0_mark != 0 && g0_mark - STACK_HERE() < NEST_SPAN;
}

/* Put back the counters a nested start swapped (execute_begin), once gp runs again. */
static inline void
depth_restore(Depth *save)
{
    if (save->py >= 0) {
        depth_set(PyThreadState_Get(), *save);
        save->py = -1;
    }
}
#else
typedef struct { int py; } Depth;
static inline int nest_ok(void) { return 0; }
static inline void depth_restore(Depth *save) { (void)save; }
#endif

/* A dict's version tag (see State): CPython 3.11-3.13 give every dict a new, globally
   unique one at each change. 3.14 dropped it: there every lookup is made. */
#if PY_VERSION_HEX < 0x030E0000
#define HAVE_DICT_VERSION 1
static inline uint64_t
dict_version(PyObject *d)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    return ((PyDictObject *)d)->ma_version_tag;
#pragma GCC diagnostic pop
}
#endif

/* Is s the run bound last (and alive)? */
static inline int
run_alive(PyObject *s)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyObject *r = NULL;
    if (PyWeakref_GetRef(st.run_ref, &r) < 0) {
        PyErr_Clear();
        return 0;
    }
    Py_XDECREF(r);  /* s, from sched.current, keeps it alive */
    return r == s;
#else
    return PyWeakref_GET_OBJECT(st.run_ref) == s;
#endif
}

/* Remember s's M and injectq (see State); the M, or NULL (no error set) if s does not
   look like a Sched. */
static PyObject *
bind_run(PyObject *s)
{
    PyObject *mp = PyObject_GetAttr(s, st.str_m0);
    if (mp == NULL) {
        PyErr_Clear();
        return NULL;
    }
    PyObject *injectq = PyObject_GetAttr(s, st.str_injectq);
    if (injectq == NULL) {
        PyErr_Clear();
        Py_DECREF(mp);
        return NULL;
    }
    PyObject *dict = PyObject_GenericGetDict(s, NULL);
    if (dict == NULL || !PyDict_CheckExact(dict)) {
        PyErr_Clear();
        Py_XDECREF(dict);
        Py_DECREF(mp);
        Py_DECREF(injectq);
        return NULL;
    }
    Py_DECREF(dict);
    PyObject *ref = PyWeakref_NewRef(s, NULL);
    if (ref == NULL || Py_TYPE(mp) != st.M || Py_TYPE(injectq) != st.deque) {
        PyErr_Clear();
        Py_XDECREF(ref);
        Py_DECREF(mp);
        Py_DECREF(injectq);
        return NULL;
    }
    /* m0 and injectq are borrowed: s holds them, never replaces them, and they are read
       only while the weak reference says s is alive (a strong reference here kept the
       last run's M, its P and what their queues hold alive after the run ended). */
    Py_DECREF(mp);
    Py_DECREF(injectq);
    Py_XSETREF(st.run_ref, ref);
    st.run_m0 = mp;
    st.run_injectq = injectq;
    st.run_dict = dict;
    st.quiet_valid = 0;
    return mp;
}

/* Is this thread (its state ts) the one whose ident M.tid (tid) holds? Remembers the
   answer's ident and thread state (State.tid_ts). */
static NOINLINE int
on_m_thread(PyObject *tid, PyThreadState *ts)
{
    if (tid != st.tid_obj) {
        if (tid == NULL || !PyLong_CheckExact(tid)) {
            return 0;
        }
        unsigned long t = PyLong_AsUnsignedLong(tid);
        if (t == (unsigned long)-1 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        Py_XSETREF(st.tid_obj, Py_NewRef(tid));
        st.tid = t;
        st.tid_ts = NULL;
    }
    if (st.tid != PyThread_get_thread_ident()) {
        return 0;
    }
    /* Kept only if ts is the thread's own (its GIL state's): a second thread state an
       extension makes on this thread can be freed while the thread runs on, and its
       address taken by another thread's. */
    st.tid_ts = ts == PyGILState_GetThisThreadState() ? ts : NULL;
    return 1;
}

/* In a forked child: no thread state is known to be the M's (State.tid_ts). */
static void
forget_thread_state(void)
{
    st.tid_ts = NULL;
}

/* getg's fast case (proc.getg), plus "no preemption request": the running G, with
   s and mp (borrowed), or NULL (no error set) when the pure path must decide. */
static HOT PyObject *
fast_getg(PyObject **ps, PyObject **pmp)
{
    if (!st.ready || PyGC_IsEnabled()) {
        /* The program turned automatic collection back on (gc.enable(), mfinal.py): an
           allocation here could run finalizers, Python code of any kind, in the middle
           of an operation. The pure path, whose steps are Python instructions, takes it. */
        return NULL;
    }
    PyObject *s, *mp;
#ifdef HAVE_DICT_VERSION
    if (st.cur_s != NULL && dict_version(st.sched_dict) == st.cur_version) {
        s = st.cur_s;  /* still sched.current, and the bound run */
        mp = st.run_m0;
    }
    else
#endif
    {
        st.cur_s = NULL;
        s = PyDict_GetItemWithError(st.sched_dict, st.str_current);
        if (s == NULL || s == Py_None) {
            PyErr_Clear();
            return NULL;
        }
        if (st.run_ref != NULL && run_alive(s)) {
            mp = st.run_m0;
        }
        else if ((mp = bind_run(s)) == NULL) {
            return NULL;
        }
#ifdef HAVE_DICT_VERSION
        st.cur_s = s;
        st.cur_version = dict_version(st.sched_dict);
#endif
    }
    PyThreadState *ts = PyThreadState_Get();
    PyObject *tid = SLOT(mp, st.m_tid);
    if ((tid != st.tid_obj || ts != st.tid_ts) && !on_m_thread(tid, ts)) {
        return NULL;
    }
    PyObject *gp = SLOT(mp, st.m_curg);
    if (gp == NULL || Py_TYPE(gp) != st.G) {
        return NULL;
    }
#if PY_VERSION_HEX >= 0x030C0000
    if (ts->py_recursion_remaining <= st.depth_margin) {
#else
    if (ts->recursion_remaining <= st.depth_margin) {
#endif
        return NULL;
    }
    if (SLOT(gp, st.g_preempt) != Py_False) {
        return NULL;
    }
    *ps = s;
    *pmp = mp;
    return gp;
}

/* How quiet the bound run (s bound by fast_getg) is: QUIET_TRACER, its Sched.tracer is
   None (goready and gopark report nothing); QUIET_RLOCKS, its park_rlocks is () (gopark
   asks about no plain RLock made before gort was imported, threadlock.rlock_park_check;
   none under `gort run`). 0 also if unreadable. */
enum { QUIET_TRACER = 1, QUIET_RLOCKS = 2 };
static NOINLINE int
run_quiet_lookup(void)
{
    PyObject *t = PyDict_GetItemWithError(st.run_dict, st.str_tracer);
    PyObject *prl = t == NULL ? NULL : PyDict_GetItemWithError(st.run_dict, st.str_park_rlocks);
    if (prl == NULL) {
        PyErr_Clear();
        return 0;
    }
    int quiet = (t == Py_None ? QUIET_TRACER : 0) |
                (PyTuple_Check(prl) && PyTuple_GET_SIZE(prl) == 0 ? QUIET_RLOCKS : 0);
#ifdef HAVE_DICT_VERSION
    st.quiet = quiet;
    st.quiet_version = dict_version(st.run_dict);
    st.quiet_valid = 1;
#endif
    return quiet;
}

static inline int
run_quiet(void)
{
#ifdef HAVE_DICT_VERSION
    if (st.quiet_valid && dict_version(st.run_dict) == st.quiet_version) {
        return st.quiet;
    }
#endif
    return run_quiet_lookup();
}

/* The values writes replaced, released after the last write. Declared without an
   initializer and started with o.n = 0: "Olds o = {.n = 0}" zero-fills old[] (measured:
   ~130 instructions a ping-pong round trip). */
typedef struct {
    PyObject *old[MAXOLD];
    int n;
} Olds;

/* Write a slot; the value it held is released later (release_olds). */
static inline void
set_slot(Olds *o, PyObject *obj, Py_ssize_t off, PyObject *v)
{
    PyObject *prev = SLOT(obj, off);
    SLOT(obj, off) = Py_NewRef(v);
    o->old[o->n++] = prev;  /* may be NULL: an unset slot */
}

static inline void
release_olds(Olds *o)
{
    for (int i = 0; i < o->n; i++) {
        Py_XDECREF(o->old[i]);
    }
}

/* goready(rg) in two halves: ready_prepare makes every check and allocation (0: go on;
   -1: take the pure path, nothing changed), ready_commit the writes. */
typedef struct {
    PyObject *pp, *old, *runq, *newtail;
    Py_ssize_t idx;
} Ready;

static HOT int runnext_prepare(PyObject *mp, Ready *r);

static HOT int
ready_prepare(PyObject *s, PyObject *mp, PyObject *rg, Ready *r)
{
    if (rg == NULL || Py_TYPE(rg) != st.G) {
        return -1;
    }
    PyObject *status = SLOT(rg, st.g_status);
    if (status != st.WAITING && status != st.SYSCALL) {
        return -1;  /* goready throws */
    }
    if (!(run_quiet() & QUIET_TRACER)) {
        return -1;  /* goready reports to the tracer */
    }
    return runnext_prepare(mp, r);
}

/* runqput(s, pp, gp, next=True) prepared (the ring's new tail made): 0, or -1 (pure
   path, nothing changed). ready_commit makes the writes. */
static HOT int
runnext_prepare(PyObject *mp, Ready *r)
{
    PyObject *pp = SLOT(mp, st.m_p);
    if (pp == NULL || Py_TYPE(pp) != st.P) {
        return -1;
    }
    PyObject *old = SLOT(pp, st.p_runnext);
    if (old == NULL) {
        return -1;
    }
    r->pp = pp;
    r->old = old;
    r->runq = NULL;
    r->newtail = NULL;
    r->idx = -1;
    if (old != Py_None) {
        /* runqput(s, pp, old, False) */
        PyObject *runq = SLOT(pp, st.p_runq);
        PyObject *h = SLOT(pp, st.p_runqhead), *t = SLOT(pp, st.p_runqtail);
        if (runq == NULL || !PyList_CheckExact(runq) ||
            PyList_GET_SIZE(runq) != st.runq_size || h == NULL || t == NULL ||
            !PyLong_CheckExact(h) || !PyLong_CheckExact(t)) {
            return -1;
        }
        Py_ssize_t hv = PyLong_AsSsize_t(h), tv = PyLong_AsSsize_t(t);
        if ((hv == -1 || tv == -1) && PyErr_Occurred()) {
            PyErr_Clear();
            return -1;
        }
        r->runq = runq;
        if (tv - hv < st.runq_size) {
            r->idx = tv % st.runq_size;
            r->newtail = PyLong_FromSsize_t(tv + 1);
            if (r->newtail == NULL) {
                PyErr_Clear();
                return -1;
            }
        }
    }
    return 0;
}

/* The writes of goready; the last step, as in proc.goready. -1: runqputslow raised. */
static HOT int
ready_commit(Olds *o, PyObject *s, PyObject *rg, Ready *r)
{
    PyObject *pp = r->pp, *old = r->old;
    Py_INCREF(old);  /* runnext's reference moves to the ring (or runqputslow) */
    set_slot(o, rg, st.g_status, st.RUNNABLE);
    set_slot(o, pp, st.p_runnext, rg);
    if (old == Py_None) {
        Py_DECREF(old);
        return 0;
    }
    if (r->newtail != NULL) {
        o->old[o->n++] = PyList_GET_ITEM(r->runq, r->idx);
        PyList_SET_ITEM(r->runq, r->idx, old);  /* steals the reference */
        o->old[o->n++] = SLOT(pp, st.p_runqtail);
        SLOT(pp, st.p_runqtail) = r->newtail;
        return 0;
    }
    PyObject *res = PyObject_CallFunctionObjArgs(st.runqputslow, s, pp, old, NULL);
    Py_DECREF(old);
    if (res == NULL) {
        return -1;
    }
    Py_DECREF(res);
    return 0;
}

/* Unlink sg, the head of q (WaitQ.remove for the first sudog). */
static HOT void
unlink_head(Olds *o, PyObject *q, PyObject *sg, PyObject *nxt)
{
    set_slot(o, q, st.q_first, nxt);
    if (nxt == Py_None) {
        set_slot(o, q, st.q_last, Py_None);
    }
    else {
        set_slot(o, nxt, st.sg_prev, Py_None);
    }
    set_slot(o, sg, st.sg_next, Py_None);
    set_slot(o, sg, st.sg_queued, Py_False);
}

/* The sudog at the head of a queue when WaitQ.dequeue would take it (a plain sudog, or
   a select's whose select is not done yet): its next (borrowed), *psel its is_select;
   NULL (pure path) for a finished select's sudog there (dequeue skips it) or an
   unexpected type. */
static HOT PyObject *
wakeable_head(PyObject *sg, int *psel)
{
    if (Py_TYPE(sg) != st.Sudog) {
        return NULL;
    }
    PyObject *nxt = SLOT(sg, st.sg_next);
    if (nxt == NULL || (nxt != Py_None && Py_TYPE(nxt) != st.Sudog)) {
        return NULL;
    }
    PyObject *isel = SLOT(sg, st.sg_is_select);
    if (isel == Py_False) {
        *psel = 0;
        return nxt;
    }
    PyObject *g = SLOT(sg, st.sg_g);
    if (isel != Py_True || g == NULL || Py_TYPE(g) != st.G ||
        SLOT(g, st.g_selectdone) != Py_False) {
        return NULL;
    }
    *psel = 1;
    return nxt;
}

/* What dequeue does to a select's sudog it takes, and the waker after it: the select is
   done, and sg is its winner (gp.param). */
static inline void
select_won(Olds *o, PyObject *sg)
{
    PyObject *g = SLOT(sg, st.sg_g);
    set_slot(o, g, st.g_selectdone, Py_True);
    set_slot(o, g, st.g_param, sg);
}

/* proc.execute(s, mp, pp, nxt, inherit, prev=gp) for gp parked: the bookkeeping, then
   where the switch goes (to where nxt resumes, to its greenlet, or to g0 to start it):
   0 and *ptarget, *parg (new references; parg may be NULL) for switch_to; 1: no switch
   (nxt is gp; or gp is dead on this greenlet and nxt, which never ran, took it over);
   -1 an exception. A nxt that never ran is started on a greenlet made here where gp may
   (nest_ok); the thread state's recursion counters are then g0's until the caller,
   gp running again, puts *dsave back (depth_restore), *dsave's py -1 otherwise.
   Inlined into park_begin (and goexit), whose frame is gone at the switch: its locals
   stay off the parked stack. */
static HOT int
execute_begin(PyObject *mp, PyObject *pp, PyObject *nxt, int inherit, PyObject *gp,
              PyObject **ptarget, PyObject **parg, Depth *dsave)
{
    Olds olds, *po = &olds;
    int nested = 0;
    dsave->py = -1;
    PyObject *cur = gl_getcurrent();
    if (cur == NULL) {
        return -1;  /* cannot happen: getcurrent allocates nothing */
    }
    PyObject *schedwhen = NULL, *schedtick = NULL;
    if (!inherit) {
        /* schedwhen first: sysmon must never pair a new tick with the old slice's start */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        schedwhen = PyLong_FromLongLong((long long)now.tv_sec * 1000000000LL + now.tv_nsec);
        PyObject *tick = SLOT(pp, st.p_schedtick);
        schedtick = (schedwhen != NULL && tick != NULL) ?
                    PyNumber_Add(tick, st.one) : NULL;
        if (schedtick == NULL) {
            Py_DECREF(cur);
            Py_XDECREF(schedwhen);
            return -1;
        }
    }
    po->n = 0;
    set_slot(po, mp, st.m_curg, nxt);
    set_slot(po, nxt, st.g_status, st.RUNNING);
    set_slot(po, nxt, st.g_waitreason, st.NOREASON);
    set_slot(po, nxt, st.g_preempt, Py_False);
    if (!inherit) {
        po->old[po->n++] = SLOT(pp, st.p_schedwhen);
        SLOT(pp, st.p_schedwhen) = schedwhen;
        po->old[po->n++] = SLOT(pp, st.p_schedtick);
        SLOT(pp, st.p_schedtick) = schedtick;
    }
    if (nxt == gp) {  /* find_runnable chose gp itself (readied meanwhile) */
        release_olds(po);
        Py_DECREF(cur);
        return 1;
    }
    if (cur != SLOT(gp, st.g_gr)) {
        set_slot(po, gp, st.g_resume, cur);  /* stopped inside a child greenlet of its own */
    }
    PyObject *target, *arg = NULL;
    PyObject *resume = SLOT(nxt, st.g_resume);
    int never_ran = SLOT(nxt, st.g_gr) == NULL || SLOT(nxt, st.g_gr) == Py_None;
    if (resume != NULL && resume != Py_None) {
        /* inside a child greenlet of its own: through a trampoline (proc.hop_to), so
           this switcher's parked stack never holds the child */
        target = PyObject_CallFunctionObjArgs(st.greenlet_type, st.hop_run, resume, NULL);
        if (target == NULL) {
            release_olds(po);
            Py_DECREF(cur);
            return -1;
        }
        set_slot(po, nxt, st.g_resume, Py_None);
        set_slot(po, mp, st.m_hop, target);
    }
    else if (never_ran && SLOT(gp, st.g_status) == st.DEAD && SLOT(gp, st.g_gr) == cur) {
        /* gp just finished on this greenlet (goexit): nxt, which never ran, takes it
           over, with no switch (proc.execute) */
        set_slot(po, nxt, st.g_gr, cur);
        set_slot(po, gp, st.g_gr, Py_None);
        release_olds(po);
        Py_DECREF(cur);
        return 1;
    }
    else if (never_ran && SLOT(mp, st.m_g0) != NULL && nest_ok()) {
        /* gp starts it, on a greenlet of its own whose C stack begins below this park
           (the comment at nest_ok): what g0_main does, g0 its parent */
        target = PyObject_CallFunctionObjArgs(st.greenlet_type, st.gmain,
                                              SLOT(mp, st.m_g0), NULL);
        if (target == NULL) {
            release_olds(po);
            Py_DECREF(cur);
            return -1;
        }
        set_slot(po, nxt, st.g_gr, target);
        nested = 1;
    }
    else if (never_ran) {
        /* g0 starts it (mp.curg) on a greenlet; no argument (proc.g0_main) */
        target = Py_XNewRef(SLOT(mp, st.m_g0));
    }
    else {
        target = Py_NewRef(SLOT(nxt, st.g_gr));
    }
    Py_DECREF(cur);
    Py_XINCREF(arg);
    release_olds(po);
    if (target == NULL) {
        Py_XDECREF(arg);
        PyErr_SetString(PyExc_SystemError, "gort._core: the M has no g0");
        return -1;
    }
#ifdef NEST_SPAN
    if (nested) {  /* last: nothing runs between here and the switch */
        PyThreadState *ts = PyThreadState_Get();
        *dsave = depth_get(ts);
        depth_set(ts, g0_depth);
    }
#endif
    *ptarget = target;
    *parg = arg;
    return 0;
}

/* The switch execute makes (the running goroutine stops here until switched back to):
   what the switch returned, NULL if it raised. Consumes target and arg. */
static NOINLINE PyObject *
switch_to(PyObject *target, PyObject *arg)
{
    PyObject *r;
    if (arg == NULL) {
        r = gl_switch(target, NULL, NULL);
    }
    else {
        PyObject *t = PyTuple_Pack(1, arg);
        r = t == NULL ? NULL : gl_switch(target, t, NULL);
        Py_XDECREF(t);
    }
    Py_DECREF(target);
    Py_XDECREF(arg);
    return r;
}

/* gopark(gp, reason, WAITING, sg) and schedule (proc.gopark, proc.schedule) with no
   Python frame on gp's stack at the switch: schedule's fast path (runnext, nothing
   due) in C; otherwise proc.find_runnable picks the next G and the switch is made
   here. Not here (returns 0, nothing done: call proc.gopark): a tracer on, plain
   RLocks made before gort was imported to ask about, a preemption hook armed, m.locks
   held (a signal handler on gp's stack), a tracing callback running, or a recursion
   budget too short (park's caller checked).
   Returns 1 once gp runs again (gopark's tail done), -1 with an exception. */
static NOINLINE int ring_pick(PyObject *s, PyObject *pp, PyObject *injectq, PyObject *heap,
                               PyObject **pnxt);
static HOT int sched_pick(PyObject *s, PyObject *mp, PyObject *pp, PyObject *injectq,
                                PyObject *heap, PyObject *gcpoll, PyObject **pnxt,
                                int *pinherit, PyObject **ppp);

static HOT int
gopark_begin(PyObject *s, PyObject *mp, PyObject *gp, PyObject *reason, PyObject *sg,
             PyObject **pnxt, int *pinherit, PyObject **ppp)
{
    PyThreadState *ts = PyThreadState_Get();
    if (ts->tracing) {
        return 0;  /* inside a profile/trace callback: gopark refuses */
    }
    if (SLOT(mp, st.m_armed) != Py_None || SLOT(mp, st.m_locks) != st.zero) {
        return 0;
    }
    PyObject *pending = SLOT(gp, st.g_pending);
    if (pending != NULL && pending != Py_None) {
        return 0;  /* an exception waits for gp: proc.gopark raises it instead */
    }
    PyObject *pp = SLOT(mp, st.m_p);
    if (pp == NULL || Py_TYPE(pp) != st.P) {
        return 0;
    }
    PyObject *schedwhen = SLOT(pp, st.p_schedwhen);
    PyObject *timers = SLOT(pp, st.p_timers);
    PyObject *gcpoll = SLOT(pp, st.p_gcpoll);
    if (schedwhen == NULL || timers == NULL || Py_TYPE(timers) != st.Timers ||
        gcpoll == NULL || !PyLong_CheckExact(gcpoll)) {
        return 0;
    }
    PyObject *heap = SLOT(timers, st.t_heap);
    if (heap == NULL || !PyList_CheckExact(heap)) {
        return 0;
    }
    PyObject *injectq = st.run_injectq;  /* s's: fast_getg bound s before */
    if (run_quiet() != (QUIET_TRACER | QUIET_RLOCKS) || injectq == NULL) {
        return 0;  /* a tracer, or plain RLocks to ask about: proc.gopark */
    }
    /* gopark's writes. One Olds for every step: a parked G's saved C stack holds this
       frame, so it is kept small (measured: 1 KiB per parked goroutine before). */
    Olds o;
    o.n = 0;
    set_slot(&o, gp, st.g_status, st.WAITING);
    set_slot(&o, gp, st.g_waitreason, reason);
    set_slot(&o, gp, st.g_waiting, sg);
    set_slot(&o, gp, st.g_waitsince, schedwhen);
    release_olds(&o);
    return sched_pick(s, mp, pp, injectq, heap, gcpoll, pnxt, pinherit, ppp);
}

/* proc.find_runnable's answer where it is the local ring's head: no runnext, no signal
   handler waiting (s.sigq), no finished offload (injectq), no socket sysmon found ready
   (netpoll.pending), no timer at all, no trash for the finalizer goroutine (s.finq),
   and not the 61st tick with the global queue non-empty; whether a collection is due
   is asked every GCPOLL-th pick, as schedule's fast paths ask it (proc.gcpoll's
   countdown, shared with them: find_runnable asks at every call, measured ~1,000
   instructions a pick with the lookups below). 1 with *pnxt (runqget's, a new
   reference; it does not inherit the slice), 0 (nothing changed but a countdown at
   zero reset by proc.gcpoll: ask find_runnable), -1 an exception. Reads the run's dict
   (s bound), through rc while its version tag says nothing in it changed. */
static struct {
    uint64_t version;  /* the run's dict's, when the entries below were read from it */
    int valid;
    /* borrowed: the unchanged dict holds them */
    PyObject *sigq, *np, *fq, *grunq, *goidgen, *gcount, *stats, *allgs;
} rc;

/* Load rc (the run's dict's entries that ring_pick, go and goexit read), unless the
   dict is unchanged since it was loaded (or since the core's own writes of goidgen and
   gcount, which keep it up to date: run_write). 1, or 0 (no error set) if one is missing. */
static int
run_cache(void)
{
#ifdef HAVE_DICT_VERSION
    if (rc.valid && dict_version(st.run_dict) == rc.version) {
        return 1;
    }
#endif
    rc.valid = 0;
    PyObject *d = st.run_dict;
    if (!(rc.sigq = PyDict_GetItemWithError(d, gs.str_sigq)) ||
        !(rc.np = PyDict_GetItemWithError(d, gs.str_netpoll)) ||
        !(rc.fq = PyDict_GetItemWithError(d, gs.str_finq)) ||
        !(rc.grunq = PyDict_GetItemWithError(d, gs.str_runq)) ||
        !(rc.goidgen = PyDict_GetItemWithError(d, gs.str_goidgen)) ||
        !(rc.gcount = PyDict_GetItemWithError(d, gs.str_gcount)) ||
        !(rc.stats = PyDict_GetItemWithError(d, gs.str_stats)) ||
        !(rc.allgs = PyDict_GetItemWithError(d, gs.str_allgs))) {
        PyErr_Clear();
        return 0;
    }
#ifdef HAVE_DICT_VERSION
    rc.version = dict_version(d);
    rc.valid = 1;
#endif
    return 1;
}

static NOINLINE int
ring_pick(PyObject *s, PyObject *pp, PyObject *injectq, PyObject *heap, PyObject **pnxt)
{
    if (!gs.ready || SLOT(pp, st.p_runnext) != Py_None || Py_SIZE(injectq) != 0 ||
        PyList_GET_SIZE(heap) != 0) {
        return 0;
    }
    PyObject *h = SLOT(pp, st.p_runqhead), *t = SLOT(pp, st.p_runqtail);
    PyObject *runq = SLOT(pp, st.p_runq), *tick = SLOT(pp, st.p_schedtick);
    PyObject *gcpoll = SLOT(pp, st.p_gcpoll);
    if (h == NULL || t == NULL || !PyLong_CheckExact(h) || !PyLong_CheckExact(t) ||
        runq == NULL || !PyList_CheckExact(runq) || PyList_GET_SIZE(runq) != st.runq_size ||
        tick == NULL || !PyLong_CheckExact(tick) || gcpoll == NULL || !PyLong_CheckExact(gcpoll)) {
        return 0;
    }
    Py_ssize_t hv = PyLong_AsSsize_t(h), tv = PyLong_AsSsize_t(t);
    long tk = PyLong_AsLong(tick);
    Py_ssize_t polls = PyLong_AsSsize_t(gcpoll);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (hv == tv) {
        return 0;  /* the ring is empty: the global queue, stealing, the netpoller */
    }
    if (!run_cache()) {
        return 0;
    }
    PyObject *sigq = rc.sigq, *np = rc.np, *fq = rc.fq, *grunq = rc.grunq;
    if (Py_TYPE(sigq) != st.deque || Py_TYPE(np) != gs.Netpoll || Py_TYPE(grunq) != st.deque ||
        (fq != Py_None && Py_TYPE(fq) != gs.Finq)) {
        return 0;
    }
    if (Py_SIZE(sigq) != 0) {
        return 0;
    }
    PyObject *pending = SLOT(np, gs.np_pending);
    if (pending == NULL || Py_TYPE(pending) != st.deque || Py_SIZE(pending) != 0) {
        return 0;
    }
    if (Py_SIZE(grunq) != 0 && tk % 61 == 0) {
        return 0;  /* fairness: the global queue's turn */
    }
    if (fq != Py_None) {
        /* fq.trash: find_runnable wakes the finalizer goroutine */
        PyObject *fqd = PyObject_GenericGetDict(fq, NULL);
        PyObject *trash = fqd == NULL ? NULL : PyDict_GetItemWithError(fqd, gs.str_trash);
        Py_XDECREF(fqd);  /* fq holds it */
        if (trash == NULL || !PyList_CheckExact(trash) || PyList_GET_SIZE(trash) != 0) {
            PyErr_Clear();
            return 0;
        }
    }
    /* pp.gcpoll or gcpoll(s, pp) */
    if (polls == 0) {
        PyObject *args[2] = {s, pp};
        PyObject *r = PyObject_Vectorcall(st.gcpoll, args, 2, NULL);  /* proc.gcpoll */
        if (r == NULL) {
            return -1;
        }
        int ok = PyObject_IsTrue(r);
        Py_DECREF(r);
        if (ok <= 0) {
            return ok;  /* due: find_runnable wakes the finalizer goroutine */
        }
        gcpoll = SLOT(pp, st.p_gcpoll);  /* reset by proc.gcpoll */
        polls = gcpoll != NULL && PyLong_CheckExact(gcpoll) ? PyLong_AsSsize_t(gcpoll) : -1;
        if (polls == -1 && (gcpoll == NULL || PyErr_Occurred())) {
            PyErr_Clear();
            return 0;
        }
    }
    /* runqget(pp): the ring's head; the countdown, as schedule's fast path does */
    PyObject *newhead = PyLong_FromSsize_t(hv + 1);
    if (newhead == NULL) {
        return -1;
    }
    PyObject *newpoll = PyLong_FromSsize_t(polls - 1);
    if (newpoll == NULL) {
        Py_DECREF(newhead);
        return -1;
    }
    Py_ssize_t i = hv % st.runq_size;
    PyObject *gp = PyList_GET_ITEM(runq, i);  /* its reference moves to *pnxt */
    PyList_SET_ITEM(runq, i, Py_NewRef(Py_None));
    SLOT(pp, st.p_runqhead) = newhead;
    Py_DECREF(h);
    PyObject *oldpoll = SLOT(pp, st.p_gcpoll);
    SLOT(pp, st.p_gcpoll) = newpoll;
    Py_DECREF(oldpoll);  /* an int */
    *pnxt = gp;
    return 1;
}

/* fn(*args), a function of the scheduling round, with the thread's tracing counter
   raised, as proc.schedule's round runs: the program's trace function ran on
   find_runnable's frames, with no goroutine current in the idle wait. */
static PyObject *
call_muted(PyObject *fn, PyObject *const *args, size_t nargs)
{
    PyThreadState *ts = PyThreadState_Get();
    int tsave = ts->tracing;
    ts->tracing = tsave + 1;
    PyObject *r = PyObject_Vectorcall(fn, args, nargs, NULL);
    ts->tracing = tsave;
    return r;
}

/* schedule(s, mp, gp)'s choice of the next G, once gp is parked or dead: its fast path
   (runnext, nothing due, proc.gcpoll's countdown) in C, else proc.find_runnable. 1 with
   *pnxt (a new reference), *pinherit, *ppp; -1 an exception. */
static HOT int
sched_pick(PyObject *s, PyObject *mp, PyObject *pp, PyObject *injectq, PyObject *heap,
           PyObject *gcpoll, PyObject **pnxt, int *pinherit, PyObject **ppp)
{
    Olds o;
    /* schedule(s, mp, gp): the fast path's test, in its order. */
    PyObject *nxt = SLOT(pp, st.p_runnext);
    int fast = 0;
    if (nxt != NULL && nxt != Py_None && Py_SIZE(injectq) == 0 && PyList_GET_SIZE(heap) == 0) {
        Py_ssize_t polls = PyLong_AsSsize_t(gcpoll);
        if (polls == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (polls != 0) {
            fast = 1;
        }
        else {
            PyObject *args[2] = {s, pp};
            PyObject *r = call_muted(st.gcpoll, args, 2);  /* proc.gcpoll */
            if (r == NULL) {
                return -1;
            }
            fast = PyObject_IsTrue(r);
            Py_DECREF(r);
            if (fast < 0) {
                return -1;
            }
        }
    }
    int inherit;
    if (fast) {
        /* read again: proc.gcpoll may have just reset it */
        PyObject *gcpoll2 = SLOT(pp, st.p_gcpoll);
        Py_ssize_t polls = PyLong_CheckExact(gcpoll2) ? PyLong_AsSsize_t(gcpoll2) : 0;
        if (polls == -1 && PyErr_Occurred()) {
            PyErr_Clear();  /* a huge int: PyNumber_Subtract */
        }
        PyObject *newpoll = polls > 0 && polls <= 256 ?
                            PyLong_FromSsize_t(polls - 1) :  /* a cached small int */
                            PyNumber_Subtract(gcpoll2, st.one);
        if (newpoll == NULL) {
            return -1;
        }
        o.n = 0;
        o.old[o.n++] = SLOT(pp, st.p_gcpoll);
        SLOT(pp, st.p_gcpoll) = newpoll;
        Py_INCREF(nxt);
        set_slot(&o, pp, st.p_runnext, Py_None);
        release_olds(&o);
        inherit = 1;
    }
    else if ((fast = ring_pick(s, pp, injectq, heap, &nxt)) != 0) {
        if (fast < 0) {
            return -1;
        }
        inherit = 0;
    }
    else {
        PyObject *args[3] = {s, mp, pp};
        PyObject *r = call_muted(st.find_runnable, args, 3);
        if (r == NULL) {
            return -1;
        }
        if (!PyTuple_CheckExact(r) || PyTuple_GET_SIZE(r) != 2) {
            Py_DECREF(r);
            PyErr_SetString(PyExc_SystemError, "gort._core: find_runnable returned no pair");
            return -1;
        }
        nxt = Py_NewRef(PyTuple_GET_ITEM(r, 0));
        inherit = PyObject_IsTrue(PyTuple_GET_ITEM(r, 1));
        Py_DECREF(r);
        if (inherit < 0) {
            Py_DECREF(nxt);
            return -1;
        }
    }
    *pnxt = nxt;
    *pinherit = inherit;
    *ppp = pp;
    return 1;
}

/* gopark's tail, once gp runs again: 1, or -1 with the exception goraise left. */
static HOT int
gopark_end(PyObject *gp)
{
    Olds o;
    PyObject *w = SLOT(gp, st.g_waiting);
    if (w == NULL) {
        PyErr_SetString(PyExc_SystemError, "gort._core: G.waiting unset after a park");
        return -1;
    }
    Py_INCREF(w);
    o.n = 0;
    set_slot(&o, gp, st.g_waiting, Py_None);
    release_olds(&o);
    PyObject *pending = SLOT(gp, st.g_pending);
    if (pending != NULL && pending != Py_None) {
        if (w == st.CANCELLED) {
            Py_DECREF(w);
            PyObject *res = PyObject_CallOneArg(st.raise_pending, gp);
            Py_XDECREF(res);
            return -1;
        }
        /* The wait completed: raised at the first point after the call where CPython
           would have run a handler (proc.pending_after_wait). */
        PyObject *res = PyObject_CallOneArg(st.pending_after_wait, gp);
        if (res == NULL) {
            Py_DECREF(w);
            return -1;
        }
        Py_DECREF(res);
    }
    Py_DECREF(w);
    return 1;
}

/* Go's sudog cache (acquireSudog/releaseSudog): a parked operation's sudog, once
   nothing but the operation refers to it, goes back here instead of being freed, and
   the next park takes it (measured: ~900 instructions per ping-pong round trip for the
   allocation and subtype_dealloc). It stays tracked by the collector while here: what
   it still holds is None, bools and an int, and untracking it here and tracking it
   again at the next park cost ~65 instructions a round trip (7,616 -> ~7,550).
   What refers to the program's objects or to other sudogs is emptied: g, elem, c, q,
   and next and prev unless None; the flags and the index (bools, an int: nothing of the
   program's, no finalizer) stay for the next use to write again, or to find already
   right (sudog_put; measured: ping-pong 9,106 -> 8,926 instructions a round trip). The
   values emptied are released after it is on the list, when a finalizer they run finds
   the runtime consistent. */
#define SUDOG_CACHE 32
static PyObject *sudog_cache[SUDOG_CACHE];
static int sudog_ncache;

static HOT PyObject *
sudog_new(void)
{
    if (sudog_ncache > 0) {
        return sudog_cache[--sudog_ncache];
    }
    return st.Sudog->tp_alloc(st.Sudog, 0);
}

/* A flag, next, prev or index slot of a sudog from sudog_new set to v: empty (NULL),
   or holding what sudog_free left (None, a bool, an int: released here, no finalizer). */
static inline void
sudog_put(PyObject *sg, Py_ssize_t off, PyObject *v)
{
    PyObject *prev = SLOT(sg, off);
    if (prev != v) {
        SLOT(sg, off) = Py_NewRef(v);
        Py_XDECREF(prev);
    }
}

/* Sudog.__init__ (every slot but index) for gp waiting with elem on ch, then
   WaitQ.enqueue(sg) on q. g, elem, c and q are empty (NULL) until here, the others
   as sudog_put says; the old links released are None or sudogs still queued, so no
   finalizer runs. */
static inline void
sudog_enqueue(PyObject *sg, PyObject *gp, PyObject *elem, PyObject *ch,
              PyObject *is_select, PyObject *q)
{
    PyObject *last = SLOT(q, st.q_last);
    SLOT(sg, st.sg_g) = Py_NewRef(gp);
    SLOT(sg, st.sg_elem) = Py_NewRef(elem);
    SLOT(sg, st.sg_c) = Py_NewRef(ch);
    sudog_put(sg, st.sg_is_select, is_select);
    sudog_put(sg, st.sg_success, Py_False);
    sudog_put(sg, st.sg_next, Py_None);
    sudog_put(sg, st.sg_prev, last);
    SLOT(sg, st.sg_q) = Py_NewRef(q);
    sudog_put(sg, st.sg_queued, Py_True);
    PyObject *prev;
    if (last == Py_None) {
        prev = SLOT(q, st.q_first);
        SLOT(q, st.q_first) = Py_NewRef(sg);
    }
    else {
        prev = SLOT(last, st.sg_next);
        SLOT(last, st.sg_next) = Py_NewRef(sg);
    }
    PyObject *prevlast = SLOT(q, st.q_last);
    SLOT(q, st.q_last) = Py_NewRef(sg);
    Py_XDECREF(prev);
    Py_XDECREF(prevlast);
}

static HOT void
sudog_free(PyObject *sg)
{
    if (Py_REFCNT(sg) != 1 || Py_TYPE(sg) != st.Sudog || sudog_ncache == SUDOG_CACHE) {
        Py_DECREF(sg);
        return;
    }
    PyObject *g = SLOT(sg, st.sg_g), *elem = SLOT(sg, st.sg_elem);
    PyObject *c = SLOT(sg, st.sg_c), *q = SLOT(sg, st.sg_q);
    PyObject *nxt = SLOT(sg, st.sg_next), *prev = SLOT(sg, st.sg_prev);
    SLOT(sg, st.sg_g) = NULL;
    SLOT(sg, st.sg_elem) = NULL;
    SLOT(sg, st.sg_c) = NULL;
    SLOT(sg, st.sg_q) = NULL;
    if (nxt == Py_None) {
        nxt = NULL;  /* stays */
    }
    else {
        SLOT(sg, st.sg_next) = NULL;
    }
    if (prev == Py_None) {
        prev = NULL;
    }
    else {
        SLOT(sg, st.sg_prev) = NULL;
    }
    sudog_cache[sudog_ncache++] = sg;
    Py_XDECREF(g);
    Py_XDECREF(elem);
    Py_XDECREF(c);
    Py_XDECREF(q);
    Py_XDECREF(nxt);
    Py_XDECREF(prev);
}

/* A new sudog for gp on q (Sudog(gp, elem, ch, False, 0), then q.enqueue): the sudog
   (a new reference; q holds another), or NULL with an exception, nothing changed. */
static HOT PyObject *
enqueue_new(PyObject *gp, PyObject *ch, PyObject *q, PyObject *elem)
{
    PyObject *last = SLOT(q, st.q_last);
    if (last == NULL || (last != Py_None && Py_TYPE(last) != st.Sudog)) {
        PyErr_SetString(PyExc_SystemError, "gort._core: a wait queue's last is not a sudog");
        return NULL;
    }
    PyObject *sg = sudog_new();
    if (sg == NULL) {
        return NULL;
    }
    sudog_put(sg, st.sg_index, st.zero);
    sudog_enqueue(sg, gp, elem, ch, Py_False, q);
    return sg;
}

/* A park in progress, kept across the switch by the parking operation's outermost
   frame (core_send, core_recv, core_recv_ok, the iterator's next, core_select), which
   is the only frame of the core on a parked goroutine's stack but the switch's own:
   every step before and after the switch is out of line (measured: 1,816 -> 1,560
   bytes of saved C stack per parked receiver; the pure path's is 1,480). */
typedef struct {
    PyObject *s, *mp, *gp;   /* borrowed: the run (bound), its M, the parking G */
    PyObject *w;             /* what gp waits on: its sudog, or a select's SudogList */
    PyObject *target, *args; /* the switch: a greenlet, and a tuple or NULL */
    int tsave;               /* gp's tracing counter before the switch raised it; -1 */
    Depth dsave;             /* gp's recursion counters a nested start swapped (py -1) */
} Park;

enum { PK_ERR = -1, PK_SLOW = 0, PK_DONE = 1, PK_SWITCH = 2, PK_WOKEN = 3 };

/* After a switch back to gp's greenlet that did not come from the scheduler (the M
   runs another G: a greenlet gp made finished, or raised, in another goroutine):
   proc.foreign_switch passes on what came (r, or the exception raised when r is NULL)
   and returns once gp is scheduled. Consumes r; returns the switch's value or NULL. */
static NOINLINE PyObject *
foreign_switch(PyObject *s, PyObject *mp, PyObject *gp, PyObject *r)
{
    PyObject *got = r;
    if (got == NULL) {
        PyObject *t, *tb;
        PyErr_Fetch(&t, &got, &tb);
        PyErr_NormalizeException(&t, &got, &tb);
        if (got != NULL && tb != NULL) {
            PyException_SetTraceback(got, tb);
        }
        Py_XDECREF(t);
        Py_XDECREF(tb);
    }
    PyObject *args[4] = {s, mp, gp, got != NULL ? got : Py_None};
    PyObject *res = PyObject_Vectorcall(st.foreign_switch, args, 4, NULL);
    Py_XDECREF(got);
    return res;
}

/* Where a switch lands: cut the dead trampoline's link to the child it switched into
   (proc.land). -1 with an exception (the parent setter refused). */
static int
land(PyObject *mp)
{
    PyObject *hop = SLOT(mp, st.m_hop);
    if (hop == NULL || hop == Py_None) {
        return 0;
    }
    SLOT(mp, st.m_hop) = Py_NewRef(Py_None);
    PyObject *g0 = SLOT(mp, st.m_g0);
    int r = PyObject_SetAttr(hop, st.str_parent, g0 != NULL ? g0 : Py_None);
    Py_DECREF(hop);
    return r;
}

/* After the switch (r: what it returned, NULL if it raised): gopark's tail. PK_WOKEN,
   or PK_ERR with pk->w released. */
static NOINLINE int
park_end(Park *pk, PyObject *r)
{
    Py_CLEAR(pk->target);
    Py_CLEAR(pk->args);
    if (land(pk->mp) < 0) {
        Py_XDECREF(r);
        r = NULL;
    }
    if (SLOT(pk->mp, st.m_curg) != pk->gp) {
        r = foreign_switch(pk->s, pk->mp, pk->gp, r);
    }
    if (pk->tsave >= 0) {
        PyThreadState_Get()->tracing = pk->tsave;  /* gp's own (proc.execute) */
        pk->tsave = -1;
    }
    depth_restore(&pk->dsave);
    if (r == NULL) {
        Py_CLEAR(pk->w);
        return PK_ERR;
    }
    Py_DECREF(r);
    if (gopark_end(pk->gp) < 0) {
        Py_CLEAR(pk->w);
        return PK_ERR;
    }
    return PK_WOKEN;
}

/* gopark(gp, reason, WAITING, pk->w) and schedule up to the switch: PK_SWITCH with
   pk->target and pk->args for PARK_SWITCH; PK_WOKEN once gp runs again where no switch
   was needed here (find_runnable chose gp itself; or proc.gopark parked it: a tracer on,
   a preemption hook armed, m.locks held, a tracing callback running); PK_ERR with
   pk->w released (the pure gopark took it off its queues itself). */
static NOINLINE int
park_begin(Park *pk, PyObject *reason)
{
    PyObject *nxt, *pp, *target, *arg;
    int inherit;
    pk->target = pk->args = NULL;
    pk->tsave = -1;
    pk->dsave.py = -1;
    int r = gopark_begin(pk->s, pk->mp, pk->gp, reason, pk->w, &nxt, &inherit, &pp);
    if (r == 0) {
        PyObject *args[4] = {pk->gp, reason, st.WAITING, pk->w};
        PyObject *res = PyObject_Vectorcall(st.gopark, args, 4, NULL);
        if (res == NULL) {
            Py_CLEAR(pk->w);
            return PK_ERR;
        }
        Py_DECREF(res);
        return PK_WOKEN;
    }
    if (r < 0) {
        Py_CLEAR(pk->w);
        return PK_ERR;
    }
    r = execute_begin(pk->mp, pp, nxt, inherit, pk->gp, &target, &arg, &pk->dsave);
    Py_DECREF(nxt);
    if (r < 0) {
        Py_CLEAR(pk->w);
        return PK_ERR;
    }
    if (r == 1) {
        return park_end(pk, Py_NewRef(Py_None));
    }
    /* Muted from here until gp runs again (proc.execute): no Python code of gort's runs
       before the switch here, but the goroutine switched to restores its own counter
       where it resumes, or (never run) lowers it by one in gmain. */
    PyThreadState *ts = PyThreadState_Get();
    pk->target = target;
    if (arg != NULL) {
        pk->args = PyTuple_Pack(1, arg);
        Py_DECREF(arg);
        if (pk->args == NULL) {
            return park_end(pk, NULL);
        }
    }
    pk->tsave = ts->tracing;
    ts->tracing = pk->tsave + 1;
    return PK_SWITCH;
}

/* The switch, made in the parking operation's own frame; PK_WOKEN or PK_ERR. */
#define PARK_SWITCH(pk) park_end((pk), gl_switch((pk)->target, (pk)->args, NULL))

/* Hand v to sg, the plain receiver at the head of recvq, and ready it: 1 done, 0 take
   the pure path (nothing changed), -1 runqputslow raised. Inlined into send_begin and
   select_ready, out of line: its locals stay off the stack of a goroutine that parks
   (core_send's other end). */
static HOT int
send_to_receiver(PyObject *s, PyObject *mp, PyObject *recvq, PyObject *sg, PyObject *v)
{
    int sel;
    PyObject *nxt = wakeable_head(sg, &sel);
    if (nxt == NULL) {
        return 0;
    }
    PyObject *rg = SLOT(sg, st.sg_g);
    Ready r;
    if (ready_prepare(s, mp, rg, &r) < 0) {
        return 0;
    }
    /* Writes: no Python code runs from here to the end (but runqputslow, last). */
    Olds o;
    o.n = 0;
    unlink_head(&o, recvq, sg, nxt);
    set_slot(&o, sg, st.sg_elem, v);
    set_slot(&o, sg, st.sg_success, Py_True);
    if (sel) {
        select_won(&o, sg);
    }
    int err = ready_commit(&o, s, rg, &r);
    release_olds(&o);
    return err < 0 ? -1 : 1;
}

/* Chan.send up to the switch, out of line (Park): PK_DONE, PK_SLOW (nothing changed:
   the pure method), PK_ERR, PK_SWITCH or PK_WOKEN (parked in sendq). */
static NOINLINE int
send_begin(PyObject *const *args, size_t nargsf, PyObject *kwnames, Park *pk)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *s, *mp, *gp;
    if (nargs != 2 || kwnames != NULL || Py_TYPE(args[0]) != st.Chan) {
        goto slow;
    }
    PyObject *ch = args[0], *v = args[1];
    gp = fast_getg(&s, &mp);
    if (gp == NULL) {
        goto slow;
    }
    PyObject *recvq = SLOT(ch, st.ch_recvq);
    PyObject *closed = SLOT(ch, st.ch_closed);
    if (recvq == NULL || Py_TYPE(recvq) != st.WaitQ || closed != Py_False) {
        goto slow;  /* a closed channel: the pure path raises */
    }
    PyObject *sg = SLOT(recvq, st.q_first);
    if (sg == NULL) {
        goto slow;
    }
    if (sg != Py_None) {
        /* A receiver waits: hand over if it is a plain one (chan.Chan.send's fast path). */
        int r = send_to_receiver(s, mp, recvq, sg, v);
        return r < 0 ? PK_ERR : r == 0 ? PK_SLOW : PK_DONE;
    }
    /* No receiver: room in the buffer? */
    PyObject *buf = SLOT(ch, st.ch_buf);
    PyObject *size = SLOT(ch, st.ch_dataqsiz);
    if (buf == NULL || Py_TYPE(buf) != st.deque || size == NULL || !PyLong_CheckExact(size)) {
        goto slow;
    }
    Py_ssize_t cap = size == st.zero ? 0 : PyLong_AsSsize_t(size);  /* 0: the small int */
    if (cap == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        goto slow;
    }
    if (Py_SIZE(buf) < cap) {
        PyObject *a[2] = {buf, v};
        PyObject *r = PyObject_Vectorcall(st.deque_append, a, 2, NULL);
        if (r == NULL) {
            return PK_ERR;
        }
        Py_DECREF(r);
        return PK_DONE;
    }
    /* Full (or unbuffered) and nobody waiting: wait in sendq. */
    PyObject *sendq = SLOT(ch, st.ch_sendq);
    if (sendq == NULL || Py_TYPE(sendq) != st.WaitQ || budget_left() <= st.park_margin) {
        goto slow;
    }
    pk->s = s;
    pk->mp = mp;
    pk->gp = gp;
    pk->w = enqueue_new(gp, ch, sendq, v);
    if (pk->w == NULL) {
        return PK_ERR;
    }
    return park_begin(pk, st.CHAN_SEND);
slow:
    return PK_SLOW;
}

/* A woken sender: the value was taken, or the channel closed (raise). */
static NOINLINE PyObject *
send_end(Park *pk)
{
    int ok = SLOT(pk->w, st.sg_success) == Py_True;
    sudog_free(pk->w);
    if (!ok) {
        PyErr_SetString(st.ClosedChannelError, "send on closed channel");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
core_send(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Park pk;
    int r = send_begin(args, nargsf, kwnames, &pk);
    if (r == PK_SWITCH) {
        r = PARK_SWITCH(&pk);
    }
    switch (r) {
    case PK_WOKEN:
        return returning(send_end(&pk));
    case PK_DONE:
        return returning(Py_NewRef(Py_None));
    case PK_ERR:
        return NULL;
    default:
        return returning(fallback(callable, args, nargsf, kwnames));
    }
}

/* -- gopark (proc.gopark, for the parks made in Python: the netpoller's IO wait) ----- */

/* gopark(gp, reason, WAITING, waiting) up to the switch, out of line (Park): the running
   G only, with the park's recursion budget and no preemption request; else PK_SLOW
   (nothing changed: the pure gopark). */
static NOINLINE int
gopark_args(PyObject *const *args, size_t nargsf, PyObject *kwnames, Park *pk)
{
    PyObject *s, *mp, *gp;
    if (PyVectorcall_NARGS(nargsf) != 4 || kwnames != NULL || args[2] != st.WAITING ||
        args[3] == Py_None) {
        return PK_SLOW;
    }
    gp = fast_getg(&s, &mp);
    if (gp == NULL || gp != args[0] || budget_left() <= st.park_margin) {
        return PK_SLOW;
    }
    pk->s = s;
    pk->mp = mp;
    pk->gp = gp;
    pk->w = Py_NewRef(args[3]);
    return park_begin(pk, args[1]);
}

static PyObject *
core_gopark(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Park pk;
    int r = gopark_args(args, nargsf, kwnames, &pk);
    if (r == PK_SWITCH) {
        r = PARK_SWITCH(&pk);
    }
    switch (r) {
    case PK_WOKEN:
        Py_CLEAR(pk.w);
        Py_RETURN_NONE;
    case PK_ERR:
        return NULL;
    default:
        return fallback(callable, args, nargsf, kwnames);
    }
}

/* Chan.try_recv's sender case for sg, a plain sender at the head of sendq: take its
   value (or the buffer's head, its value to the tail) and ready it. 1 done, 0 take the
   pure path (nothing changed), -1 an exception. Inlined where send_to_receiver is. */
static HOT int
recv_from_sender(PyObject *s, PyObject *mp, PyObject *ch, PyObject *sendq, PyObject *buf,
                 PyObject *sg, PyObject **pv, int *pok)
{
    int sel;
    PyObject *nxt = wakeable_head(sg, &sel);
    if (nxt == NULL) {
        return 0;
    }
    PyObject *size = SLOT(ch, st.ch_dataqsiz);
    if (size == NULL || !PyLong_CheckExact(size)) {
        return 0;
    }
    Py_ssize_t cap = size == st.zero ? 0 : PyLong_AsSsize_t(size);  /* 0: the small int */
    if (cap == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    int unbuffered = cap == 0;
    if (!unbuffered && Py_SIZE(buf) == 0) {
        return 0;  /* cannot happen (a sender waits only on a full buffer) */
    }
    PyObject *rg = SLOT(sg, st.sg_g);
    Ready r;
    if (ready_prepare(s, mp, rg, &r) < 0) {
        return 0;
    }
    PyObject *v;
    if (unbuffered) {
        v = Py_NewRef(SLOT(sg, st.sg_elem));
    }
    else {
        /* The sender's value to the tail, then the head out (the same as head out, then
           tail in): only the append can fail (MemoryError for a new block), before any
           other change. Both are deque's C code: no Python code runs. */
        PyObject *a[2] = {buf, SLOT(sg, st.sg_elem)};
        PyObject *res = PyObject_Vectorcall(st.deque_append, a, 2, NULL);
        if (res == NULL) {
            Py_XDECREF(r.newtail);
            return -1;
        }
        Py_DECREF(res);
        v = PyObject_Vectorcall(st.deque_popleft, &buf, 1, NULL);
        if (v == NULL) {  /* cannot happen: the deque is not empty */
            Py_XDECREF(r.newtail);
            return -1;
        }
    }
    Olds o;
    o.n = 0;
    unlink_head(&o, sendq, sg, nxt);
    set_slot(&o, sg, st.sg_elem, Py_None);
    set_slot(&o, sg, st.sg_success, Py_True);
    if (sel) {
        select_won(&o, sg);
    }
    int err = ready_commit(&o, s, rg, &r);
    release_olds(&o);
    if (err < 0) {
        Py_DECREF(v);
        return -1;
    }
    *pv = v;
    *pok = 1;
    return 1;
}

/* recv and recv_ok up to the switch, out of line (Park): PK_DONE (*pv: new reference,
   *pok), PK_SLOW (nothing changed: the pure method), PK_ERR, PK_SWITCH or PK_WOKEN
   (parked in recvq). */
static NOINLINE int
recv_begin(PyObject *const *args, size_t nargsf, PyObject *kwnames, PyObject **pv, int *pok,
           Park *pk)
{
    PyObject *s, *mp, *gp;
    if (PyVectorcall_NARGS(nargsf) != 1 || kwnames != NULL || Py_TYPE(args[0]) != st.Chan) {
        return 0;
    }
    PyObject *ch = args[0];
    gp = fast_getg(&s, &mp);
    if (gp == NULL) {
        return 0;
    }
    PyObject *sendq = SLOT(ch, st.ch_sendq);
    PyObject *buf = SLOT(ch, st.ch_buf);
    if (sendq == NULL || Py_TYPE(sendq) != st.WaitQ || buf == NULL ||
        Py_TYPE(buf) != st.deque) {
        return 0;
    }
    PyObject *sg = SLOT(sendq, st.q_first);
    if (sg == NULL) {
        return 0;
    }
    if (sg != Py_None) {
        /* A sender waits (Chan.try_recv): only a plain one here; a select's: pure path. */
        return recv_from_sender(s, mp, ch, sendq, buf, sg, pv, pok);
    }
    if (Py_SIZE(buf) > 0) {
        PyObject *v = PyObject_Vectorcall(st.deque_popleft, &buf, 1, NULL);
        if (v == NULL) {
            return -1;
        }
        *pv = v;
        *pok = 1;
        return 1;
    }
    PyObject *closed = SLOT(ch, st.ch_closed);
    if (closed == Py_True) {
        *pv = Py_NewRef(Py_None);
        *pok = 0;
        return 1;
    }
    PyObject *recvq = SLOT(ch, st.ch_recvq);
    if (closed != Py_False || recvq == NULL || Py_TYPE(recvq) != st.WaitQ ||
        budget_left() <= st.park_margin) {
        return 0;  /* near the recursion limit: the pure path's gopark decides */
    }
    /* Wait in recvq until a sender hands a value over or the channel closes. */
    pk->s = s;
    pk->mp = mp;
    pk->gp = gp;
    pk->w = enqueue_new(gp, ch, recvq, Py_None);
    if (pk->w == NULL) {
        return PK_ERR;
    }
    return park_begin(pk, st.CHAN_RECEIVE);
}

/* A woken receiver: what the sender handed over, or (None, False) from close. */
static NOINLINE int
recv_end(Park *pk, PyObject **pv, int *pok)
{
    *pv = Py_NewRef(SLOT(pk->w, st.sg_elem));
    *pok = SLOT(pk->w, st.sg_success) == Py_True;
    sudog_free(pk->w);
    return PK_DONE;
}

/* recv and recv_ok: 1 when done (*pv: new reference, *pok), 0: take the pure path,
   -1: an exception (from gopark, or runqputslow). Inlined into each caller: its Park
   is the frame kept across the switch. */
static inline __attribute__((always_inline)) int
fast_recv(PyObject *const *args, size_t nargsf, PyObject *kwnames, PyObject **pv, int *pok)
{
    Park pk;
    int r = recv_begin(args, nargsf, kwnames, pv, pok, &pk);
    if (r == PK_SWITCH) {
        r = PARK_SWITCH(&pk);
    }
    return r == PK_WOKEN ? recv_end(&pk, pv, pok) : r;
}

static PyObject *
core_recv(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    PyObject *v;
    int ok;
    int r = fast_recv(args, nargsf, kwnames, &v, &ok);
    if (r < 0) {
        return NULL;
    }
    if (r == 0) {
        return returning(fallback(callable, args, nargsf, kwnames));
    }
    return returning(v);
}

static PyObject *
core_recv_ok(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    PyObject *v;
    int ok;
    int r = fast_recv(args, nargsf, kwnames, &v, &ok);
    if (r < 0) {
        return NULL;
    }
    if (r == 0) {
        return returning(fallback(callable, args, nargsf, kwnames));
    }
    PyObject *t = PyTuple_Pack(2, v, ok ? Py_True : Py_False);
    Py_DECREF(v);
    return returning(t);
}

/* iter(ch): Chan.__iter__'s generator (``while True: v, ok = self.recv_ok(); if not
   ok: return; yield v``) as a C iterator: no generator frame, no (v, ok) tuple per
   item (measured: ~40% of a buffered item's instructions). Like the finished generator,
   it stops for good once it has stopped or raised. */
typedef struct {
    PyObject_HEAD
    PyObject *ch;  /* NULL once finished */
    int running;   /* inside next(): another goroutine's next() or close() is refused,
                      as the generator's ("generator already executing") */
} ChanIter;

static void
chaniter_dealloc(ChanIter *it)
{
    PyObject_GC_UnTrack(it);
    Py_XDECREF(it->ch);
    PyObject_GC_Del(it);
}

/* Collectable, as the generator was: an iterator sent on its own channel is a cycle. */
static int
chaniter_traverse(ChanIter *it, visitproc visit, void *arg)
{
    Py_VISIT(it->ch);
    return 0;
}

static int
chaniter_clear(ChanIter *it)
{
    Py_CLEAR(it->ch);
    return 0;
}

static int
chaniter_busy(ChanIter *it)
{
    if (it->running) {
        PyErr_SetString(PyExc_ValueError, "generator already executing");
        return 1;
    }
    return 0;
}

static PyObject *
chaniter_next(ChanIter *it)
{
    PyObject *ch = it->ch;
    if (ch == NULL || chaniter_busy(it)) {
        return NULL;
    }
    PyObject *v;
    int ok;
    it->running = 1;
    int r = fast_recv(&it->ch, 1, NULL, &v, &ok);
    if (r == 0) {
        PyObject *pure = ((CoreMethod *)st.m_recv_ok)->pure;
        PyObject *got = PyObject_CallOneArg(pure, ch);
        if (got == NULL) {
            r = -1;
        }
        else if (!PyTuple_CheckExact(got) || PyTuple_GET_SIZE(got) != 2) {
            /* as the generator's unpacking would fail */
            PyErr_SetString(PyExc_TypeError, "gort: Chan.recv_ok returned no (value, ok) pair");
            Py_DECREF(got);
            r = -1;
        }
        else {
            v = Py_NewRef(PyTuple_GET_ITEM(got, 0));
            ok = PyObject_IsTrue(PyTuple_GET_ITEM(got, 1));
            Py_DECREF(got);
            if (ok < 0) {
                Py_DECREF(v);
                r = -1;
            }
        }
    }
    it->running = 0;
    if (r >= 0 && ok) {
        return returning(v);  /* next(it): a call (a for loop's FOR_ITER checks nothing) */
    }
    if (r >= 0) {
        Py_DECREF(v);
    }
    it->ch = NULL;
    Py_DECREF(ch);
    return NULL;  /* StopIteration, or the exception */
}

/* it.close(), as the generator's: no more items (a later next() raises StopIteration). */
static PyObject *
chaniter_close(ChanIter *it, PyObject *Py_UNUSED(ignored))
{
    if (chaniter_busy(it)) {
        return NULL;
    }
    Py_CLEAR(it->ch);
    Py_RETURN_NONE;
}

static PyMethodDef chaniter_methods[] = {
    {"close", (PyCFunction)chaniter_close, METH_NOARGS,
     "close() -> None: finish the iteration; next() raises StopIteration from now on."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ChanIter_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "gort._core.ChanIter",
    .tp_basicsize = sizeof(ChanIter),
    .tp_dealloc = (destructor)chaniter_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)chaniter_traverse,
    .tp_clear = (inquiry)chaniter_clear,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)chaniter_next,
    .tp_methods = chaniter_methods,
    .tp_doc = "iter(ch): receives until the channel is closed and drained (Chan.__iter__).",
};

static PyObject *
core_iter(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    if (PyVectorcall_NARGS(nargsf) != 1 || kwnames != NULL || Py_TYPE(args[0]) != st.Chan) {
        return fallback(callable, args, nargsf, kwnames);
    }
    ChanIter *it = PyObject_GC_New(ChanIter, &ChanIter_Type);
    if (it == NULL) {
        return NULL;
    }
    it->ch = Py_NewRef(args[0]);
    it->running = 0;
    PyObject_GC_Track(it);
    return (PyObject *)it;
}

static int
offset_of(PyTypeObject *cls, const char *name, Py_ssize_t *out)
{
    PyObject *d = PyObject_GetAttrString((PyObject *)cls, name);
    if (d == NULL) {
        return -1;
    }
    if (!Py_IS_TYPE(d, &PyMemberDescr_Type)) {
        PyErr_Format(PyExc_TypeError, "gort._core: %s.%s is not a __slots__ member",
                     cls->tp_name, name);
        Py_DECREF(d);
        return -1;
    }
    PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
    *out = m->offset;
    Py_DECREF(d);
    return 0;
}

static PyTypeObject *
get_type(PyObject *ns, const char *name)
{
    PyObject *t = PyDict_GetItemString(ns, name);
    if (t == NULL || !PyType_Check(t)) {
        PyErr_Format(PyExc_TypeError, "gort._core.setup: %s must be a class", name);
        return NULL;
    }
    return (PyTypeObject *)Py_NewRef(t);
}

static PyObject *
get_obj(PyObject *ns, const char *name)
{
    PyObject *o = PyDict_GetItemString(ns, name);
    if (o == NULL) {
        PyErr_Format(PyExc_KeyError, "gort._core.setup: %s missing", name);
        return NULL;
    }
    return Py_NewRef(o);
}

static PyObject *
make_method(vectorcallfunc fn, PyObject *pure)
{
    CoreMethod *m = PyObject_New(CoreMethod, &CoreMethod_Type);
    if (m == NULL) {
        return NULL;
    }
    m->vectorcall = fn;
    m->dict = NULL;
    m->pure = Py_NewRef(pure);
    return (PyObject *)m;
}

/* The checks each later setup_* (setup_select, setup_park, setup_waitgroup) makes
   before it binds anything: setup has run, ns is a dict, this one has not run yet
   (bound: what it sets last, still NULL), and ns holds the pure callable it replaces
   under key. That callable (borrowed from ns), or NULL with the error set. */
static PyObject *
setup_once(const char *fn, PyObject *ns, const void *bound, const char *key)
{
    if (!st.ready || !PyDict_Check(ns) || bound != NULL) {
        PyErr_Format(PyExc_RuntimeError, "gort._core.%s: expects a dict, once, after setup", fn);
        return NULL;
    }
    PyObject *pure = PyDict_GetItemString(ns, key);
    if (pure == NULL) {
        PyErr_Format(PyExc_KeyError, "gort._core.%s: %s", fn, key);
    }
    return pure;
}

/* -- select (select.selectgo) ------------------------------------------------------ */

#define MAXCASES 16
enum { K_DEFAULT = -1, K_RECV = 0, K_RECV_OK = 1, K_SEND = 2 };

typedef struct {
    PyObject *ch, *v;  /* borrowed from the cases tuple */
    int kind;
} Case;

/* select.py's _parse for cases the fast path knows: ch.recv, ch.recv_ok (bound C
   methods of an exact Chan), (ch.send, v), gort.default. The default's index, -1 for
   none, or -2: take the pure path (which parses again and raises for bad input). */
static int
parse_cases(PyObject *cases, Py_ssize_t n, Case *cs)
{
    int dflt = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *c = PyTuple_GET_ITEM(cases, i), *fn = c, *v = Py_None;
        if (c == st.default_case) {
            if (dflt >= 0) {
                return -2;
            }
            dflt = (int)i;
            cs[i].kind = K_DEFAULT;
            cs[i].ch = cs[i].v = NULL;
            continue;
        }
        int tuple = PyTuple_CheckExact(c);
        if (tuple) {
            if (PyTuple_GET_SIZE(c) != 2) {
                return -2;
            }
            fn = PyTuple_GET_ITEM(c, 0);
            v = PyTuple_GET_ITEM(c, 1);
        }
        if (Py_TYPE(fn) != &PyMethod_Type) {
            return -2;
        }
        PyObject *func = PyMethod_GET_FUNCTION(fn), *ch = PyMethod_GET_SELF(fn);
        if (Py_TYPE(ch) != st.Chan) {
            return -2;
        }
        if (tuple && func == st.m_send) {
            cs[i].kind = K_SEND;
        }
        else if (!tuple && func == st.m_recv) {
            cs[i].kind = K_RECV;
        }
        else if (!tuple && func == st.m_recv_ok) {
            cs[i].kind = K_RECV_OK;
        }
        else {
            return -2;
        }
        cs[i].ch = ch;
        cs[i].v = v;
    }
    return dflt;
}

/* q is a WaitQ whose first and last are set (None or sudogs). */
static inline int
is_waitq(PyObject *q)
{
    if (q == NULL || Py_TYPE(q) != st.WaitQ) {
        return 0;
    }
    PyObject *f = SLOT(q, st.q_first), *l = SLOT(q, st.q_last);
    return f != NULL && l != NULL && (f == Py_None || Py_TYPE(f) == st.Sudog) &&
           (l == Py_None || Py_TYPE(l) == st.Sudog);
}

/* WaitQ.has_waiter: 1, 0, or -1 (an unexpected type: pure path). Reads only. */
static int
has_waiter(PyObject *q)
{
    if (q == NULL || Py_TYPE(q) != st.WaitQ) {
        return -1;
    }
    PyObject *sg = SLOT(q, st.q_first);
    while (sg != Py_None) {
        if (sg == NULL || Py_TYPE(sg) != st.Sudog) {
            return -1;
        }
        PyObject *isel = SLOT(sg, st.sg_is_select);
        if (isel == Py_False) {
            return 1;
        }
        PyObject *g = SLOT(sg, st.sg_g);
        if (isel != Py_True || g == NULL || Py_TYPE(g) != st.G) {
            return -1;
        }
        PyObject *done = SLOT(g, st.g_selectdone);
        if (done == Py_False) {
            return 1;
        }
        if (done != Py_True) {
            return -1;
        }
        sg = SLOT(sg, st.sg_next);
    }
    return 0;
}

/* Chan.can_send / can_recv for a case: 1, 0, or -1 (pure path). Reads only. */
static int
case_ready(Case *c)
{
    PyObject *ch = c->ch;
    PyObject *closed = SLOT(ch, st.ch_closed), *buf = SLOT(ch, st.ch_buf);
    if ((closed != Py_True && closed != Py_False) || buf == NULL || Py_TYPE(buf) != st.deque) {
        return -1;
    }
    if (c->kind == K_SEND) {
        if (closed == Py_True) {
            return 1;
        }
        PyObject *size = SLOT(ch, st.ch_dataqsiz);
        if (size == NULL || !PyLong_CheckExact(size)) {
            return -1;
        }
        Py_ssize_t cap = size == st.zero ? 0 : PyLong_AsSsize_t(size);  /* 0: the small int */
        if (cap == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            return -1;
        }
        if (Py_SIZE(buf) < cap) {
            return 1;
        }
        return has_waiter(SLOT(ch, st.ch_recvq));
    }
    if (Py_SIZE(buf) > 0 || closed == Py_True) {
        return 1;
    }
    return has_waiter(SLOT(ch, st.ch_sendq));
}

/* s.rand if it is an exact random.Random (borrowed), else NULL (no error: pure path). */
static PyObject *
sched_rand(PyObject *s)
{
    PyObject *r = PyObject_GetAttr(s, st.str_rand);
    if (r == NULL) {
        PyErr_Clear();
        return NULL;
    }
    Py_DECREF(r);  /* s holds it */
    return Py_TYPE(r) == st.Random ? r : NULL;
}

/* random.Random._randbelow_with_getrandbits(n), n > 0, as the pure path draws it (the
   same calls of getrandbits, so a seeded run picks the same cases on both paths). */
static int
randbelow(PyObject *rand, Py_ssize_t n, Py_ssize_t *out)
{
    int k = 0;
    for (size_t m = (size_t)n; m; m >>= 1) {
        k++;
    }
    PyObject *kk = PyLong_FromLong(k);
    if (kk == NULL) {
        return -1;
    }
    for (;;) {
        PyObject *args[2] = {rand, kk};
        PyObject *r = PyObject_Vectorcall(st.getrandbits, args, 2, NULL);
        if (r == NULL) {
            Py_DECREF(kk);
            return -1;
        }
        Py_ssize_t v = PyLong_AsSsize_t(r);
        Py_DECREF(r);
        if (v == -1 && PyErr_Occurred()) {
            Py_DECREF(kk);
            return -1;
        }
        if (v < n) {
            *out = v;
            Py_DECREF(kk);
            return 0;
        }
    }
}

/* Pass 1's hand-off for c, a ready case (Chan.try_send/try_recv): its value (new
   reference; None for a send), *pok for recv_ok. Where the C hand-off cannot be made
   (a finished select's sudog at a queue's head, a tracer on, a closed channel on
   send...), the pure try_send/try_recv does it, as select.py calls them. */
static NOINLINE PyObject *
select_ready(PyObject *s, PyObject *mp, Case *c, int *pok)
{
    PyObject *ch = c->ch;
    PyObject *buf = SLOT(ch, st.ch_buf);
    *pok = 1;
    if (c->kind == K_SEND) {
        if (SLOT(ch, st.ch_closed) == Py_False) {
            PyObject *recvq = SLOT(ch, st.ch_recvq);
            PyObject *sg = is_waitq(recvq) ? SLOT(recvq, st.q_first) : NULL;
            if (sg != NULL && sg != Py_None) {
                int r = send_to_receiver(s, mp, recvq, sg, c->v);
                if (r < 0) {
                    return NULL;
                }
                if (r > 0) {
                    Py_RETURN_NONE;
                }
            }
        }
        PyObject *args[2] = {ch, c->v};
        PyObject *r = PyObject_Vectorcall(st.try_send, args, 2, NULL);
        if (r == NULL) {
            return NULL;
        }
        int ok = PyObject_IsTrue(r);
        Py_DECREF(r);
        if (ok < 0) {
            return NULL;
        }
        if (!ok) {
            PyErr_SetString(PyExc_AssertionError, "selectgo: a ready send case would block");
            return NULL;
        }
        Py_RETURN_NONE;
    }
    PyObject *sendq = SLOT(ch, st.ch_sendq);
    PyObject *sg = is_waitq(sendq) ? SLOT(sendq, st.q_first) : NULL;
    if (sg != NULL && sg != Py_None) {
        PyObject *v;
        int r = recv_from_sender(s, mp, ch, sendq, buf, sg, &v, pok);
        if (r < 0) {
            return NULL;
        }
        if (r > 0) {
            return v;
        }
    }
    else if (sg == Py_None && Py_SIZE(buf) > 0) {
        return PyObject_Vectorcall(st.deque_popleft, &buf, 1, NULL);
    }
    else if (sg == Py_None && SLOT(ch, st.ch_closed) == Py_True) {
        *pok = 0;
        Py_RETURN_NONE;
    }
    PyObject *got = PyObject_CallOneArg(st.try_recv, ch);
    if (got == NULL) {
        return NULL;
    }
    if (!PyTuple_CheckExact(got) || PyTuple_GET_SIZE(got) != 2) {
        Py_DECREF(got);
        PyErr_SetString(PyExc_AssertionError, "selectgo: a ready receive case would block");
        return NULL;
    }
    PyObject *v = Py_NewRef(PyTuple_GET_ITEM(got, 0));
    *pok = PyTuple_GET_ITEM(got, 1) == Py_True;
    Py_DECREF(got);
    return v;
}

/* (i, value) for case i of kind: value is v, or (v, ok) for recv_ok; steals v. */
static PyObject *
select_result(Py_ssize_t i, int kind, PyObject *v, int ok)
{
    if (v == NULL) {
        return NULL;
    }
    PyObject *idx = PyLong_FromSsize_t(i);
    if (idx == NULL) {
        Py_DECREF(v);
        return NULL;
    }
    PyObject *res;
    if (kind == K_RECV_OK) {
        PyObject *pair = PyTuple_Pack(2, v, ok ? Py_True : Py_False);
        res = pair == NULL ? NULL : PyTuple_Pack(2, idx, pair);
        Py_XDECREF(pair);
    }
    else {
        res = PyTuple_Pack(2, idx, v);
    }
    Py_DECREF(idx);
    Py_DECREF(v);
    return res;
}

/* WaitQ.remove(sg) for a queued sg (select's pass 3). */
static int
unlink_any(PyObject *sg)
{
    PyObject *q = SLOT(sg, st.sg_q);
    PyObject *prev = SLOT(sg, st.sg_prev), *nxt = SLOT(sg, st.sg_next);
    if (q == NULL || Py_TYPE(q) != st.WaitQ || prev == NULL || nxt == NULL ||
        (prev != Py_None && Py_TYPE(prev) != st.Sudog) ||
        (nxt != Py_None && Py_TYPE(nxt) != st.Sudog)) {
        PyErr_SetString(PyExc_SystemError, "gort._core: a queued sudog's links are not sudogs");
        return -1;
    }
    Olds o;
    o.n = 0;
    if (prev == Py_None) {
        set_slot(&o, q, st.q_first, nxt);
    }
    else {
        set_slot(&o, prev, st.sg_next, nxt);
    }
    if (nxt == Py_None) {
        set_slot(&o, q, st.q_last, prev);
    }
    else {
        set_slot(&o, nxt, st.sg_prev, prev);
    }
    set_slot(&o, sg, st.sg_next, Py_None);
    set_slot(&o, sg, st.sg_prev, Py_None);
    set_slot(&o, sg, st.sg_queued, Py_False);
    release_olds(&o);
    return 0;
}

/* Pass 2: a sudog per case, enqueued in pollorder (order: the cases' indexes, already
   shuffled), then park_begin: select.py's selectgo from "gp.selectdone = False" to its
   gopark. PK_SWITCH, PK_WOKEN or PK_ERR (Park). */
static int
select_enqueue(Park *pk, Case *cs, Py_ssize_t *order, Py_ssize_t n)
{
    PyObject *gp = pk->gp;
    /* Allocations first (Sudogs, the list): nothing changed if one fails. */
    PyObject *sgs = PyObject_CallNoArgs((PyObject *)st.SudogList);
    if (sgs == NULL) {
        return PK_ERR;
    }
    if (!PyList_Check(sgs)) {
        Py_DECREF(sgs);
        PyErr_SetString(PyExc_SystemError, "gort._core: SudogList is not a list");
        return PK_ERR;
    }
    for (Py_ssize_t j = 0; j < n; j++) {
        PyObject *sg = sudog_new();
        PyObject *idx = sg == NULL ? NULL : PyLong_FromSsize_t(order[j]);
        if (idx == NULL || PyList_Append(sgs, sg) < 0) {
            Py_XDECREF(sg);
            Py_XDECREF(idx);
            Py_DECREF(sgs);
            return PK_ERR;
        }
        Py_DECREF(sg);
        sudog_put(sg, st.sg_index, idx);
        Py_DECREF(idx);
    }
    Olds o;
    o.n = 0;
    set_slot(&o, gp, st.g_selectdone, Py_False);
    set_slot(&o, gp, st.g_param, Py_None);
    release_olds(&o);
    for (Py_ssize_t j = 0; j < n; j++) {
        Case *c = &cs[order[j]];
        PyObject *sg = PyList_GET_ITEM(sgs, j);
        PyObject *q = SLOT(c->ch, c->kind == K_SEND ? st.ch_sendq : st.ch_recvq);
        /* Sudog(gp, v or None, c, True, i), then q.enqueue(sg); q was checked (pass 1
           reads both queues' types: has_waiter or the buffer test). */
        sudog_enqueue(sg, gp, c->kind == K_SEND ? c->v : Py_None, c->ch, Py_True, q);
    }
    pk->w = sgs;
    return park_begin(pk, st.SELECT);
}

/* Pass 3, once the select runs again: the winner is in gp.param; the others are taken
   off their queues. The result, or NULL (send on a closed channel). cases tells the
   winner's kind. */
static NOINLINE PyObject *
select_end(Park *pk, PyObject *cases)
{
    PyObject *gp = pk->gp, *sgs = pk->w;
    Olds o;
    /* Pass 3: the winner is in gp.param; take the others off their queues. */
    PyObject *won = SLOT(gp, st.g_param);
    if (won == NULL || Py_TYPE(won) != st.Sudog) {
        PyErr_SetString(PyExc_SystemError, "gort._core: a select woke with no winner");
        return NULL;
    }
    Py_INCREF(won);
    o.n = 0;
    set_slot(&o, gp, st.g_param, Py_None);
    release_olds(&o);
    for (Py_ssize_t j = 0; j < PyList_GET_SIZE(sgs); j++) {
        PyObject *sg = PyList_GET_ITEM(sgs, j);
        if (sg != won && SLOT(sg, st.sg_queued) == Py_True && unlink_any(sg) < 0) {
            Py_DECREF(won);
            return NULL;
        }
    }
    PyObject *index = SLOT(won, st.sg_index);
    Py_ssize_t i = PyLong_AsSsize_t(index);
    int ok = SLOT(won, st.sg_success) == Py_True;
    PyObject *res;
    if (i < 0 || i >= PyTuple_GET_SIZE(cases)) {
        PyErr_SetString(PyExc_SystemError, "gort._core: a select's winner has a bad index");
        res = NULL;
    }
    else if (PyTuple_CheckExact(PyTuple_GET_ITEM(cases, i))) {  /* (ch.send, v) */
        if (!ok) {
            PyErr_SetString(st.ClosedChannelError, "send on closed channel");
            res = NULL;
        }
        else {
            res = select_result(i, K_SEND, Py_NewRef(Py_None), 1);
        }
    }
    else {
        PyObject *fn = PyTuple_GET_ITEM(cases, i);  /* ch.recv or ch.recv_ok (parsed) */
        int kind = PyMethod_GET_FUNCTION(fn) == st.m_recv_ok ? K_RECV_OK : K_RECV;
        res = select_result(i, kind, Py_NewRef(SLOT(won, st.sg_elem)), ok);
    }
    Py_DECREF(won);
    return res;
}

/* select up to the switch, out of line (Park): PK_DONE (*pres: the result), PK_SLOW
   (nothing changed: the pure selectgo), PK_ERR, PK_SWITCH or PK_WOKEN (parked). */
static NOINLINE int
select_begin(PyObject *const *args, size_t nargsf, PyObject *kwnames, Park *pk,
             PyObject **pres)
{
    if (PyVectorcall_NARGS(nargsf) != 1 || kwnames != NULL || !PyTuple_CheckExact(args[0])) {
        goto slow;
    }
    PyObject *cases = args[0];
    Py_ssize_t n = PyTuple_GET_SIZE(cases);
    if (n == 0 || n > MAXCASES) {
        goto slow;
    }
    PyObject *s, *mp;
    PyObject *gp = fast_getg(&s, &mp);
    if (gp == NULL || budget_left() <= st.park_margin) {
        goto slow;
    }
    Case cs[MAXCASES];
    int dflt = parse_cases(cases, n, cs);
    if (dflt == -2) {
        goto slow;
    }
    /* Pass 1: the ready cases; one picked uniformly. Reads only, until the pick. */
    Py_ssize_t ready[MAXCASES], nready = 0, ncases = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (cs[i].kind == K_DEFAULT) {
            continue;
        }
        int r = case_ready(&cs[i]);
        if (r < 0) {
            goto slow;
        }
        if (r) {
            ready[nready++] = i;
        }
        ncases++;
    }
    if (nready > 0) {
        Py_ssize_t i = ready[0];
        if (nready > 1) {
            PyObject *rand = sched_rand(s);
            if (rand == NULL) {
                goto slow;
            }
            Py_ssize_t j;
            if (randbelow(rand, nready, &j) < 0) {
                return PK_ERR;
            }
            i = ready[j];
        }
        int ok;
        PyObject *v = select_ready(s, mp, &cs[i], &ok);
        *pres = select_result(i, cs[i].kind, v, ok);
        return *pres == NULL ? PK_ERR : PK_DONE;
    }
    if (dflt >= 0) {
        *pres = select_result(dflt, K_DEFAULT, Py_NewRef(Py_None), 1);
        return *pres == NULL ? PK_ERR : PK_DONE;
    }
    /* Pass 2: pollorder (random.shuffle of the indexes, as select.py draws it). */
    Py_ssize_t order[MAXCASES];
    for (Py_ssize_t i = 0; i < n; i++) {
        order[i] = i;
        if (!is_waitq(SLOT(cs[i].ch, cs[i].kind == K_SEND ? st.ch_sendq : st.ch_recvq))) {
            goto slow;
        }
    }
    if (n > 1) {
        PyObject *rand = sched_rand(s);
        if (rand == NULL) {
            goto slow;
        }
        for (Py_ssize_t i = n - 1; i > 0; i--) {
            Py_ssize_t j;
            if (randbelow(rand, i + 1, &j) < 0) {
                return PK_ERR;
            }
            Py_ssize_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    }
    pk->s = s;
    pk->mp = mp;
    pk->gp = gp;
    return select_enqueue(pk, cs, order, ncases);
slow:
    return PK_SLOW;
}

static PyObject *
core_select(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Park pk;
    PyObject *res = NULL;
    int r = select_begin(args, nargsf, kwnames, &pk, &res);
    if (r == PK_SWITCH) {
        r = PARK_SWITCH(&pk);
    }
    switch (r) {
    case PK_WOKEN:
        res = select_end(&pk, args[0]);
        Py_DECREF(pk.w);  /* the sudogs and the values they hold go, after the result */
        return returning(res);
    case PK_DONE:
        return returning(res);
    case PK_ERR:
        return NULL;
    default:
        return returning(fallback(callable, args, nargsf, kwnames));
    }
}



/* traceback.creator_of(creator) from C: where gort.go was called from (the first frame
   outside gort's own files): (code, f_lasti, module name, creator's goid) or None; a new
   reference, NULL with an exception, or *slow set (the pure path decides: globals not
   a dict). */
static struct {
    PyObject *tuple;  /* the last creator tuple made: shared by the Gs made at one place */
    int lasti;
} gopc_last;

static PyObject *
creator_at(PyObject *creator, int *slow)
{
    PyFrameObject *f = PyEval_GetFrame();
    Py_XINCREF(f);
    while (f != NULL) {
        PyCodeObject *code = PyFrame_GetCode(f);
        int ours = PyUnicode_Tailmatch(code->co_filename, gs.gortdir, 0, PY_SSIZE_T_MAX, -1);
        if (ours < 0) {
            Py_DECREF(code);
            Py_DECREF(f);
            return NULL;
        }
        if (!ours) {
            PyObject *globals = PyFrame_GetGlobals(f);
            PyObject *res = NULL;
            if (!PyDict_CheckExact(globals)) {
                *slow = 1;  /* .get could run Python code: the pure path */
            }
            else {
                PyObject *mod = PyDict_GetItemWithError(globals, gs.str_name);
                PyObject *modv = mod != NULL ? mod : gs.qmark, *goid = SLOT(creator, gs.g_goid);
                int li = PyFrame_GetLasti(f);
                PyObject *last = gopc_last.tuple;
                if (mod == NULL && PyErr_Occurred()) {
                    /* res stays NULL */
                }
                else if (last != NULL && gopc_last.lasti == li &&
                         PyTuple_GET_ITEM(last, 0) == (PyObject *)code &&
                         PyTuple_GET_ITEM(last, 2) == modv && PyTuple_GET_ITEM(last, 3) == goid) {
                    res = Py_NewRef(last);  /* the same place, the same creator: a loop */
                }
                else {
                    PyObject *lasti = PyLong_FromLong(li);
                    if (lasti != NULL) {
                        res = PyTuple_Pack(4, code, lasti, modv, goid);
                        Py_DECREF(lasti);
                    }
                    if (res != NULL) {
                        Py_XSETREF(gopc_last.tuple, Py_NewRef(res));
                        gopc_last.lasti = li;
                    }
                }
            }
            Py_DECREF(globals);
            Py_DECREF(code);
            Py_DECREF(f);
            return res;
        }
        PyFrameObject *back = PyFrame_GetBack(f);
        Py_DECREF(code);
        Py_DECREF(f);
        f = back;
    }
    return Py_NewRef(Py_None);
}

/* Write the run's counter `name` (goidgen or gcount, an existing key of its dict: no
   allocation, no Python code) as v (*slot: rc's pointer to it). run_quiet's answer and
   rc stay valid across it (it changes neither tracer, park_rlocks nor any other entry
   rc holds) if they were valid just before; without this every spawn and exit made
   the next operation look them up again (measured: ~300 instructions a spawn for
   run_quiet's, ~900 for the lookups rc keeps). */
static void
run_write(PyObject *name, PyObject *v, PyObject **slot)
{
#ifdef HAVE_DICT_VERSION
    uint64_t before = dict_version(st.run_dict);
    int quiet = st.quiet_valid && before == st.quiet_version;
    int cached = rc.valid && before == rc.version;
    PyDict_SetItem(st.run_dict, name, v);
    uint64_t after = dict_version(st.run_dict);
    if (quiet) {
        st.quiet_version = after;
    }
    if (cached) {
        rc.version = after;
        *slot = v;  /* the dict holds it */
    }
#else
    PyDict_SetItem(st.run_dict, name, v);
#endif
}

/* A new G: a copy of the template's slots (see gs), or G(). */
static PyObject *
new_g(void)
{
    if (gs.template == NULL) {
        return PyObject_CallNoArgs((PyObject *)st.G);
    }
    PyObject *gp = st.G->tp_alloc(st.G, 0);
    if (gp == NULL) {
        return NULL;
    }
    for (PyMemberDef *m = st.G->tp_members; m != NULL && m->name != NULL; m++) {
        SLOT(gp, m->offset) = Py_XNewRef(SLOT(gs.template, m->offset));
    }
    return gp;
}

static HOT PyObject *
go_body(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (!gs.ready || nargs < 1) {
        return fallback(callable, args, nargsf, kwnames);
    }
    PyObject *fn = args[0];
    PyObject *func = PyMethod_Check(fn) ? PyMethod_GET_FUNCTION(fn) : fn;
    /* a function (not async), or one of the core's own methods (wg.done) */
    if (!Py_IS_TYPE(func, &CoreMethod_Type) &&
        (!PyFunction_Check(func) ||
         (((PyCodeObject *)PyFunction_GET_CODE(func))->co_flags & (CO_COROUTINE | CO_ASYNC_GENERATOR)))) {
        return fallback(callable, args, nargsf, kwnames);  /* the pure checks and errors */
    }
    PyObject *s, *mp;
    PyObject *creator = fast_getg(&s, &mp);
    if (creator == NULL || !(run_quiet() & QUIET_TRACER)) {
        return fallback(callable, args, nargsf, kwnames);
    }
    PyObject *pp = SLOT(mp, st.m_p);
    if (pp == NULL || Py_TYPE(pp) != st.P) {
        return fallback(callable, args, nargsf, kwnames);
    }
    PyObject *gfree = SLOT(pp, gs.p_gfree);
    if (!run_cache()) {
        return fallback(callable, args, nargsf, kwnames);
    }
    PyObject *goidgen = rc.goidgen, *gcount = rc.gcount, *stats = rc.stats, *allgs = rc.allgs;
    if (gfree == NULL || !PyList_CheckExact(gfree) || !PyLong_CheckExact(goidgen) ||
        !PyLong_CheckExact(gcount) || Py_TYPE(stats) != gs.Stats || !PyDict_CheckExact(allgs) ||
        SLOT(stats, gs.stats_created) == NULL ||
        !PyLong_CheckExact(SLOT(stats, gs.stats_created))) {
        return fallback(callable, args, nargsf, kwnames);
    }
    /* Every allocation, before the first write. */
    int slow = 0;
    PyObject *gopc = creator_at(creator, &slow);
    if (gopc == NULL) {
        return slow ? fallback(callable, args, nargsf, kwnames) : NULL;
    }
    /* The creator's context, copied; an empty one (or none yet) is not: the G starts with
       none (gr_context None), and CPython makes it an empty one at its first ContextVar
       use, what a copy would have been (measured: an allocation and ~400 instructions a
       spawn, the collections it brings due included). */
    PyObject *cur = PyThreadState_Get()->context;
    PyObject *ctx = cur == NULL || (PyContext_CheckExact(cur) && PyObject_Length(cur) == 0) ?
                    Py_NewRef(Py_None) : PyContext_CopyCurrent();
    PyObject *targs = PyTuple_New(nargs - 1);
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    PyObject *kw = nkw == 0 ? Py_NewRef(gs.nokw) : PyDict_New();  /* nokw: shared, read only */
    PyObject *newgoid = PyNumber_Add(goidgen, st.one);
    PyObject *newgcount = PyNumber_Add(gcount, st.one);
    PyObject *newcreated = PyNumber_Add(SLOT(stats, gs.stats_created), st.one);
    Py_ssize_t nfree = PyList_GET_SIZE(gfree);
    PyObject *gp = nfree > 0 ? Py_NewRef(PyList_GET_ITEM(gfree, nfree - 1)) : new_g();
    Ready r = {.newtail = NULL};
    int err = ctx == NULL || targs == NULL || kw == NULL || newgoid == NULL ||
              newgcount == NULL || newcreated == NULL || gp == NULL;
    if (!err && targs != NULL) {
        for (Py_ssize_t i = 1; i < nargs; i++) {
            PyTuple_SET_ITEM(targs, i - 1, Py_NewRef(args[i]));
        }
        for (Py_ssize_t i = 0; i < nkw && !err; i++) {
            err = PyDict_SetItem(kw, PyTuple_GET_ITEM(kwnames, i), args[nargs + i]) < 0;
        }
    }
    if (!err && Py_TYPE(gp) != st.G) {
        PyErr_SetString(PyExc_SystemError, "gort._core: the free list holds a non-G");
        err = 1;
    }
    if (!err && runnext_prepare(mp, &r) < 0) {
        slow = 1;
    }
    /* The last step that can fail: a new G joins allgs (a dict keyed by identity). */
    if (!err && !slow && nfree == 0 && PyDict_SetItem(allgs, gp, Py_None) < 0) {
        err = 1;
    }
    if (err || slow) {
        Py_DECREF(gopc);
        Py_XDECREF(ctx);
        Py_XDECREF(targs);
        Py_XDECREF(kw);
        Py_XDECREF(newgoid);
        Py_XDECREF(newgcount);
        Py_XDECREF(newcreated);
        Py_XDECREF(gp);
        Py_XDECREF(r.newtail);
        return err ? NULL : fallback(callable, args, nargsf, kwnames);
    }
    /* The writes: no Python code runs from here to the end (but runqputslow, last). */
    if (nfree > 0) {
        Py_SET_SIZE(gfree, nfree - 1);  /* gfree.pop(): its reference moves to gp below */
        Py_DECREF(gp);
    }
    Olds o;
    o.n = 0;
    set_slot(&o, gp, gs.g_goid, newgoid);
    set_slot(&o, gp, gs.g_system, Py_False);
    set_slot(&o, gp, gs.g_fn, fn);
    set_slot(&o, gp, gs.g_args, targs);
    set_slot(&o, gp, gs.g_kwargs, kw);
    set_slot(&o, gp, gs.g_ctx, ctx);
    set_slot(&o, gp, gs.g_m, mp);
    set_slot(&o, gp, gs.g_gopc, gopc);
    run_write(gs.str_goidgen, newgoid, &rc.goidgen);
    run_write(gs.str_gcount, newgcount, &rc.gcount);
    set_slot(&o, stats, gs.stats_created, newcreated);
    Py_DECREF(newgoid);
    Py_DECREF(targs);
    Py_DECREF(kw);
    Py_DECREF(ctx);
    Py_DECREF(gopc);
    Py_DECREF(newgcount);
    Py_DECREF(newcreated);
    if (nfree > 0) {
        o.old[o.n++] = gp;  /* the free list's reference, released with the others */
    }
    else {
        Py_DECREF(gp);  /* allgs holds it; runnext takes another below */
    }
    err = ready_commit(&o, s, gp, &r);  /* status RUNNABLE, runnext, the ring */
    release_olds(&o);
    if (err < 0) {
        return NULL;
    }
    /* A request made while runqputslow ran stays pending for the next safe point: one
       here could raise an exception (goraise) for a go that was made (gort.go). */
    Py_RETURN_NONE;
}

static PyObject *
core_go(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    return returning(go_body(callable, args, nargsf, kwnames));
}

/* proc.gmain's goexit (proc.goexit_core): drop gp's references (fn, args, kwargs,
   param) while it still runs, then, if nothing calls for the pure code (a tracer, exit
   hooks, a preemption hook armed, m.locks held, a preemption request, another run: all
   checked after the finalizers the drop may run), goexit0 (status DEAD, gcount, the
   free list, or with the list full out of allgs) and schedule: the next G from
   schedule's fast path or proc.find_runnable, and execute; a G that never ran takes
   this greenlet over with no switch. Returns the G that runs on this greenlet next
   (mp.curg, once something switches back here; its gr is me), or, the list full, a G
   with a greenlet of its own (gmain returns it: this greenlet ends and g0 switches to
   it), or None having only dropped the references (gmain does the rest in Python). */
/* gmain's ``me.gr_context = gp.ctx; gp.ctx = None`` for gp, about to run on the current
   greenlet: what greenlet's gr_context setter does for the running greenlet (the
   context of a running greenlet lives in the thread state; None is stored as NULL),
   without the attribute call (measured: ~300 instructions a spawn). The context it
   replaces, the last goroutine's on this greenlet, is released last (its values'
   finalizers run in gp, as in the pure gmain). 0, or -1 with TypeError (what the
   setter raises) for a ctx that is neither. */
static int
take_context(PyObject *gp)
{
    PyObject *ctx = SLOT(gp, gs.g_ctx);
    if (ctx == NULL || (ctx != Py_None && !PyContext_CheckExact(ctx))) {
        PyErr_SetString(PyExc_TypeError, "greenlet context must be a contextvars.Context or None");
        return -1;
    }
    SLOT(gp, gs.g_ctx) = Py_NewRef(Py_None);  /* its reference moves to the thread state */
    PyThreadState *ts = PyThreadState_Get();
    PyObject *old = ts->context;
    if (ctx == Py_None) {
        Py_DECREF(ctx);
        ctx = NULL;
    }
    ts->context = ctx;
    ts->context_ver++;
    Py_XDECREF(old);
    return 0;
}

static PyObject *
core_goexit(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "gort._core.goexit(s, mp, gp, me)");
        return NULL;
    }
    PyObject *s = args[0], *mp = args[1], *gp = args[2], *me = args[3];
    if (!gs.ready || Py_TYPE(gp) != st.G) {
        Py_RETURN_NONE;
    }
    Olds o;
    o.n = 0;
    set_slot(&o, gp, gs.g_fn, Py_None);
    set_slot(&o, gp, gs.g_args, gs.empty);
    set_slot(&o, gp, gs.g_kwargs, gs.nokw);
    set_slot(&o, gp, st.g_param, Py_None);
    release_olds(&o);  /* finalizers run here, in gp, as in the pure code */
    if (PyErr_Occurred()) {
        return NULL;
    }
    /* The checks, now that no more Python code runs before the switch (but
       proc.gcpoll and proc.find_runnable, as in the pure path). */
    PyObject *s2, *mp2;
    if (fast_getg(&s2, &mp2) != gp || s2 != s || mp2 != mp || !(run_quiet() & QUIET_TRACER) ||
        SLOT(mp, st.m_armed) != Py_None || SLOT(mp, st.m_locks) != st.zero ||
        SLOT(gp, gs.g_onexit) != Py_None || SLOT(gp, st.g_gr) != me) {
        Py_RETURN_NONE;
    }
    PyObject *pp = SLOT(mp, st.m_p);
    if (pp == NULL || Py_TYPE(pp) != st.P) {
        Py_RETURN_NONE;
    }
    PyObject *gfree = SLOT(pp, gs.p_gfree);
    PyObject *timers = SLOT(pp, st.p_timers);
    PyObject *gcpoll = SLOT(pp, st.p_gcpoll);
    PyObject *system = SLOT(gp, gs.g_system);
    if (!run_cache()) {
        Py_RETURN_NONE;
    }
    PyObject *gcount = rc.gcount, *allgs = rc.allgs;
    if (!PyDict_CheckExact(allgs) || gfree == NULL || !PyList_CheckExact(gfree) ||
        timers == NULL || Py_TYPE(timers) != st.Timers || gcpoll == NULL ||
        !PyLong_CheckExact(gcpoll) || !PyLong_CheckExact(gcount) ||
        (system != Py_False && system != Py_True)) {
        Py_RETURN_NONE;
    }
    PyObject *heap = SLOT(timers, st.t_heap);
    if (heap == NULL || !PyList_CheckExact(heap) || st.run_injectq == NULL) {
        Py_RETURN_NONE;
    }
    PyObject *newgcount = system == Py_False ? PyNumber_Subtract(gcount, st.one) : NULL;
    if (system == Py_False && newgcount == NULL) {
        return NULL;
    }
    /* goexit0 */
    o.n = 0;
    set_slot(&o, gp, st.g_status, st.DEAD);
    if (newgcount != NULL) {
        run_write(gs.str_gcount, newgcount, &rc.gcount);
        Py_DECREF(newgcount);
    }
    int drop = PyList_GET_SIZE(gfree) >= gs.gfree_max;
    int err;
    if (drop) {
        /* The free list is full: the G is dropped. Its greenlet goes to the next G if
           that one never ran, else it ends (gmain returns the next G to g0). */
        err = PyDict_DelItem(allgs, gp);  /* a G hashes by identity: no Python code */
        if (err == 0) {
            set_slot(&o, gp, st.g_gr, Py_None);
        }
    }
    else {
        err = PyList_Append(gfree, gp);
    }
    release_olds(&o);
    if (err < 0) {
        return NULL;
    }
    PyObject *nxt, *target, *arg;
    int inherit;
    if (sched_pick(s, mp, pp, st.run_injectq, heap, gcpoll, &nxt, &inherit, &pp) < 0) {
        return NULL;
    }
    if (drop) {
        /* execute's bookkeeping only (prev=nxt: no switch), then nxt takes this greenlet
           if it never ran; gmain returns any other for g0 to switch to */
        Depth none;  /* no switch (prev=nxt): nothing swapped */
        int r = execute_begin(mp, pp, nxt, inherit, nxt, &target, &arg, &none);
        if (r >= 0 && (SLOT(nxt, st.g_gr) == Py_None || SLOT(nxt, st.g_gr) == NULL) &&
            (SLOT(nxt, st.g_resume) == Py_None || SLOT(nxt, st.g_resume) == NULL)) {
            o.n = 0;
            set_slot(&o, nxt, st.g_gr, me);
            release_olds(&o);
            r = take_context(nxt);
        }
        if (r < 0) {
            Py_DECREF(nxt);
            return NULL;
        }
        return nxt;
    }
    Depth dsave;
    int r = execute_begin(mp, pp, nxt, inherit, gp, &target, &arg, &dsave);
    Py_DECREF(nxt);
    if (r < 0) {
        return NULL;
    }
    if (r == 0) {
        /* muted until this greenlet runs again, as in park_begin */
        PyThreadState *ts = PyThreadState_Get();
        int tsave = ts->tracing;
        ts->tracing = tsave + 1;
        PyObject *res = switch_to(target, arg);
        depth_restore(&dsave);
        if (land(mp) < 0) {
            Py_XDECREF(res);
            res = NULL;
        }
        PyObject *back = SLOT(mp, st.m_curg);
        if (back != gp && (back == NULL || SLOT(back, st.g_gr) != me)) {
            res = foreign_switch(s, mp, gp, res);
        }
        ts->tracing = tsave;
        if (res == NULL) {
            return NULL;  /* the reaper's GreenletExit (abandon.reap) */
        }
        Py_DECREF(res);
    }
    /* gp again (newproc reused it and this greenlet), or a G that took it over */
    PyObject *curg = SLOT(mp, st.m_curg);
    if (curg == NULL || Py_TYPE(curg) != st.G) {
        PyErr_SetString(PyExc_SystemError, "gort._core: goexit resumed with no current G");
        return NULL;
    }
    Py_INCREF(curg);
    if (take_context(curg) < 0) {
        Py_DECREF(curg);
        return NULL;
    }
    return curg;
}

/* gort.sync.WaitGroup.add and done (waitgroup.py) -----------------------------------
   From a goroutine (getg's fast case) on an exact WaitGroup whose counter is an exact
   int, with an exact int delta (a bool is not one): the new count, written when it stays
   above zero (no waiter to release: nothing else of add happens then). A count reaching
   zero (the waiters to release), a negative one (the error), anything else: the pure
   method, with nothing changed. Measured (spawn + finish, whose goroutines are
   gort.go(wg.done)): see bench/RESULTS-core.md. */
static struct {
    PyTypeObject *WaitGroup;
    Py_ssize_t wg_n;
    PyObject *minus_one;
} ws;

/* 1 done, 0 the pure method decides, -1 error. */
static int
wg_add(PyObject *wg, PyObject *delta)
{
    PyObject *s, *mp;
    if (Py_TYPE(wg) != ws.WaitGroup || !PyLong_CheckExact(delta) || fast_getg(&s, &mp) == NULL) {
        return 0;
    }
    PyObject *n = SLOT(wg, ws.wg_n);
    if (n == NULL || !PyLong_CheckExact(n)) {
        return 0;
    }
    PyObject *nn = PyNumber_Add(n, delta);
    if (nn == NULL) {
        return -1;
    }
    int overflow;
    long v = PyLong_AsLongAndOverflow(nn, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        Py_DECREF(nn);
        return -1;
    }
    if (overflow < 0 || (overflow == 0 && v <= 0)) {
        Py_DECREF(nn);
        return 0;
    }
    SLOT(wg, ws.wg_n) = nn;
    Py_DECREF(n);  /* an int */
    return 1;
}

static PyObject *
core_wg_add(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    int r = PyVectorcall_NARGS(nargsf) == 2 && kwnames == NULL ? wg_add(args[0], args[1]) : 0;
    if (r == 0) {
        return returning(fallback(callable, args, nargsf, kwnames));
    }
    return r < 0 ? NULL : returning(Py_NewRef(Py_None));
}

static PyObject *
core_wg_done(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    int r = PyVectorcall_NARGS(nargsf) == 1 && kwnames == NULL ? wg_add(args[0], ws.minus_one) : 0;
    if (r == 0) {
        return returning(fallback(callable, args, nargsf, kwnames));
    }
    return r < 0 ? NULL : returning(Py_NewRef(Py_None));
}

PyDoc_STRVAR(setup_waitgroup_doc,
"setup_waitgroup(ns) -> (add, done)\n\n"
"WaitGroup.add and done's C paths (after setup): ns holds WaitGroup, add and done (the\n"
"pure methods). Returns the C callables, which fall back to the pure ones.");

static PyObject *
core_setup_waitgroup(PyObject *mod, PyObject *ns)
{
    PyObject *add = setup_once("setup_waitgroup", ns, ws.WaitGroup, "add");
    PyObject *done = add != NULL ? PyDict_GetItemString(ns, "done") : NULL;
    if (done == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_KeyError, "gort._core.setup_waitgroup: done");
        }
        return NULL;
    }
    PyTypeObject *wgt = get_type(ns, "WaitGroup");
    if (wgt == NULL) {
        return NULL;
    }
    if (offset_of(wgt, "_n", &ws.wg_n) < 0 || !(ws.minus_one = PyLong_FromLong(-1))) {
        Py_DECREF(wgt);
        return NULL;
    }
    PyObject *a = make_method(core_wg_add, add), *d = make_method(core_wg_done, done);
    PyObject *res = a != NULL && d != NULL ? PyTuple_Pack(2, a, d) : NULL;
    Py_XDECREF(a);
    Py_XDECREF(d);
    if (res == NULL) {
        Py_DECREF(wgt);
        return NULL;
    }
    ws.WaitGroup = wgt;
    return res;
}

PyDoc_STRVAR(setup_go_doc,
"setup_go(ns) -> go\n\n"
"Bind gort.go's C path and goexit (after setup): ns holds go (the pure function),\n"
"Stats, gopreempt_m, GORT_DIR (traceback's), GFREE_MAX and DEAD. Returns the C\n"
"callable, which falls back to the pure go.");

static PyObject *
core_setup_go(PyObject *mod, PyObject *ns)
{
    if (!st.ready || !PyDict_Check(ns)) {
        PyErr_SetString(PyExc_RuntimeError, "gort._core.setup_go: after setup, with a dict");
        return NULL;
    }
    if (gs.ready) {
        PyErr_SetString(PyExc_RuntimeError, "gort._core.setup_go: called twice");
        return NULL;
    }
    PyObject *pure = PyDict_GetItemString(ns, "go");
    if (pure == NULL || !(gs.Stats = get_type(ns, "Stats")) ||
        !(gs.gopreempt_m = get_obj(ns, "gopreempt_m")) || !(gs.gortdir = get_obj(ns, "GORT_DIR"))) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_KeyError, "gort._core.setup_go: go");
        }
        return NULL;
    }
    if (offset_of(st.G, "goid", &gs.g_goid) || offset_of(st.G, "system", &gs.g_system) ||
        offset_of(st.G, "fn", &gs.g_fn) || offset_of(st.G, "args", &gs.g_args) ||
        offset_of(st.G, "kwargs", &gs.g_kwargs) || offset_of(st.G, "ctx", &gs.g_ctx) ||
        offset_of(st.G, "m", &gs.g_m) || offset_of(st.G, "gopc", &gs.g_gopc) ||
        offset_of(st.P, "gfree", &gs.p_gfree) || offset_of(st.G, "onexit", &gs.g_onexit) ||
        offset_of(gs.Stats, "goroutines_created", &gs.stats_created)) {
        return NULL;
    }
    PyObject *gm = PyDict_GetItemString(ns, "GFREE_MAX");
    if (gm == NULL || (gs.gfree_max = PyLong_AsSsize_t(gm)) < 0 ||
        !(st.DEAD = get_obj(ns, "DEAD")) || !(gs.empty = PyTuple_New(0)) ||
        !(gs.nokw = PyDict_New())) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_KeyError, "gort._core.setup_go: GFREE_MAX, DEAD");
        }
        return NULL;
    }
    if (!(gs.Netpoll = get_type(ns, "Netpoll")) || !(gs.Finq = get_type(ns, "Finq")) ||
        !(gs.gc_get_count = get_obj(ns, "gc_get_count")) ||
        offset_of(gs.Netpoll, "pending", &gs.np_pending)) {
        return NULL;
    }
    gs.str_sigq = PyUnicode_InternFromString("sigq");
    gs.str_netpoll = PyUnicode_InternFromString("netpoll");
    gs.str_finq = PyUnicode_InternFromString("finq");
    gs.str_runq = PyUnicode_InternFromString("runq");
    gs.str_trash = PyUnicode_InternFromString("trash");
    gs.str_gctrigger = PyUnicode_InternFromString("gctrigger");
    if (!gs.str_sigq || !gs.str_netpoll || !gs.str_finq || !gs.str_runq || !gs.str_trash ||
        !gs.str_gctrigger) {
        return NULL;
    }
    gs.str_goidgen = PyUnicode_InternFromString("goidgen");
    gs.str_gcount = PyUnicode_InternFromString("gcount");
    gs.str_stats = PyUnicode_InternFromString("stats");
    gs.str_allgs = PyUnicode_InternFromString("allgs");
    gs.str_name = PyUnicode_InternFromString("__name__");
    gs.qmark = PyUnicode_InternFromString("?");
    if (!gs.str_goidgen || !gs.str_gcount || !gs.str_stats || !gs.str_allgs || !gs.str_name ||
        !gs.qmark) {
        return NULL;
    }
    /* The template: used only if every slot of a G() holds an immutable value (None,
       a bool, an int, a status or wait-reason member, ()) or is kwargs (replaced). */
    PyObject *t = PyObject_CallNoArgs((PyObject *)st.G);
    if (t == NULL) {
        return NULL;
    }
    int ok = st.G->tp_members != NULL;
    for (PyMemberDef *m = st.G->tp_members; ok && m->name != NULL; m++) {
        PyObject *v = SLOT(t, m->offset);
        ok = m->type == T_OBJECT_EX && v != NULL &&
             (m->offset == gs.g_kwargs || v == Py_None || PyBool_Check(v) ||
              PyLong_CheckExact(v) || Py_TYPE(v) == Py_TYPE(st.RUNNING) ||
              Py_TYPE(v) == Py_TYPE(st.NOREASON) ||
              (PyTuple_CheckExact(v) && PyTuple_GET_SIZE(v) == 0));
    }
    if (ok) {
        gs.template = t;
    }
    else {
        Py_DECREF(t);
    }
    PyObject *m = make_method(core_go, pure);
    if (m != NULL) {
        gs.ready = 1;
    }
    return m;
}

PyDoc_STRVAR(setup_select_doc,
"setup_select(ns) -> selectgo\n\n"
"Bind select's fast path (a dict: selectgo, the pure function; SudogList; SELECT, the\n"
"wait reason; default, the default case; try_send and try_recv, the pure Chan\n"
"methods). Returns the C selectgo, falling back to the pure one. Called once\n"
"(select.py), after setup.");

static PyObject *
core_setup_select(PyObject *mod, PyObject *ns)
{
    PyObject *pure = setup_once("setup_select", ns, st.SudogList, "selectgo");
    if (pure == NULL) {
        return NULL;
    }
    if (!(st.SELECT = get_obj(ns, "SELECT")) || !(st.default_case = get_obj(ns, "default")) ||
        !(st.try_send = get_obj(ns, "try_send")) || !(st.try_recv = get_obj(ns, "try_recv"))) {
        return NULL;
    }
    PyObject *random = PyImport_ImportModule("random");
    if (random == NULL) {
        return NULL;
    }
    st.Random = (PyTypeObject *)PyObject_GetAttrString(random, "Random");
    Py_DECREF(random);
    if (st.Random == NULL) {
        return NULL;
    }
    st.getrandbits = PyObject_GetAttrString((PyObject *)st.Random, "getrandbits");
    st.str_rand = PyUnicode_InternFromString("rand");
    if (st.getrandbits == NULL || st.str_rand == NULL ||
        !(st.SudogList = get_type(ns, "SudogList"))) {
        return NULL;
    }
    return make_method(core_select, pure);
}

PyDoc_STRVAR(setup_doc,
"setup(ns) -> (send, recv, recv_ok, __iter__)\n\n"
"Bind the fast paths to the runtime's classes and objects (a dict: Chan, Sudog,\n"
"WaitQ, G, M, P, sched (the module), WAITING, SYSCALL, RUNNABLE, runqputslow,\n"
"RUNQ_SIZE, RUNTIME_DEPTH, send, recv, recv_ok, __iter__: the pure methods). Returns\n"
"the four C methods, each falling back to its pure method. Called once (chan.py).");

static PyObject *
core_setup(PyObject *mod, PyObject *ns)
{
    if (!PyDict_Check(ns)) {
        PyErr_SetString(PyExc_TypeError, "gort._core.setup: expects a dict");
        return NULL;
    }
    if (st.ready) {
        PyErr_SetString(PyExc_RuntimeError, "gort._core.setup: called twice");
        return NULL;
    }
    PyObject *sched = NULL;
    if (!(st.Chan = get_type(ns, "Chan")) || !(st.Sudog = get_type(ns, "Sudog")) ||
        !(st.WaitQ = get_type(ns, "WaitQ")) || !(st.G = get_type(ns, "G")) ||
        !(st.M = get_type(ns, "M")) || !(st.P = get_type(ns, "P")) ||
        !(st.WAITING = get_obj(ns, "WAITING")) || !(st.SYSCALL = get_obj(ns, "SYSCALL")) ||
        !(st.RUNNABLE = get_obj(ns, "RUNNABLE")) ||
        !(st.runqputslow = get_obj(ns, "runqputslow")) || !(sched = get_obj(ns, "sched")) ||
        !(st.gopark = get_obj(ns, "gopark")) || !(st.CHAN_SEND = get_obj(ns, "CHAN_SEND")) ||
        !(st.CHAN_RECEIVE = get_obj(ns, "CHAN_RECEIVE")) ||
        !(st.ClosedChannelError = get_obj(ns, "ClosedChannelError")) ||
        !(st.RUNNING = get_obj(ns, "RUNNING")) || !(st.NOREASON = get_obj(ns, "NOREASON")) ||
        !(st.CANCELLED = get_obj(ns, "CANCELLED")) ||
        !(st.raise_pending = get_obj(ns, "raise_pending")) ||
        !(st.pending_after_wait = get_obj(ns, "pending_after_wait")) ||
        !(st.Timers = get_type(ns, "Timers")) || !(st.greenlet_type = get_obj(ns, "greenlet")) ||
        !(st.getcurrent = get_obj(ns, "getcurrent")) || !(st.gcpoll = get_obj(ns, "gcpoll")) ||
        !(st.find_runnable = get_obj(ns, "find_runnable")) ||
        !(st.foreign_switch = get_obj(ns, "foreign_switch")) ||
        !(st.hop_run = get_obj(ns, "hop_run")) || !(st.gmain = get_obj(ns, "gmain"))) {
        return NULL;
    }
    st.sched_dict = PyModule_GetDict(sched);
    Py_XINCREF(st.sched_dict);
    Py_DECREF(sched);
    if (st.sched_dict == NULL) {
        return NULL;
    }
    PyObject *rs = PyDict_GetItemString(ns, "RUNQ_SIZE");
    PyObject *rd = PyDict_GetItemString(ns, "RUNTIME_DEPTH");
    PyObject *pd = PyDict_GetItemString(ns, "PARK_DEPTH");
    if (rs == NULL || rd == NULL || pd == NULL) {
        PyErr_SetString(PyExc_KeyError, "gort._core.setup: RUNQ_SIZE, RUNTIME_DEPTH, PARK_DEPTH");
        return NULL;
    }
    st.park_margin = (int)PyLong_AsLong(pd) + 4;
    st.runq_size = PyLong_AsSsize_t(rs);
    st.depth_margin = (int)PyLong_AsLong(rd) + 4;
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (st.runq_size <= 0) {
        PyErr_SetString(PyExc_ValueError, "gort._core.setup: RUNQ_SIZE must be positive");
        return NULL;
    }
    PyObject *collections = PyImport_ImportModule("collections");
    if (collections == NULL) {
        return NULL;
    }
    st.deque = (PyTypeObject *)PyObject_GetAttrString(collections, "deque");
    Py_DECREF(collections);
    if (st.deque == NULL) {
        return NULL;
    }
    st.deque_append = PyObject_GetAttrString((PyObject *)st.deque, "append");
    st.deque_popleft = PyObject_GetAttrString((PyObject *)st.deque, "popleft");
    st.zero = PyLong_FromLong(0);
    st.one = PyLong_FromLong(1);
    st.str_current = PyUnicode_InternFromString("current");
    st.str_m0 = PyUnicode_InternFromString("m0");
    st.str_tracer = PyUnicode_InternFromString("tracer");
    st.str_park_rlocks = PyUnicode_InternFromString("park_rlocks");
    st.str_injectq = PyUnicode_InternFromString("injectq");
    st.str_parent = PyUnicode_InternFromString("parent");
    void **api = (void **)PyCapsule_Import("greenlet._C_API", 0);
    if (api == NULL) {
        return NULL;
    }
    gl_getcurrent = (PyObject *(*)(void))api[GL_GETCURRENT_NUM];
    gl_switch = (PyObject *(*)(PyObject *, PyObject *, PyObject *))api[GL_SWITCH_NUM];
    if (!st.deque_append || !st.deque_popleft || !st.zero || !st.one || !st.str_current || !st.str_m0 ||
        !st.str_injectq || !st.str_parent ||
        !st.str_tracer || !st.str_park_rlocks) {
        return NULL;
    }
    if (offset_of(st.Chan, "buf", &st.ch_buf) || offset_of(st.Chan, "closed", &st.ch_closed) ||
        offset_of(st.Chan, "dataqsiz", &st.ch_dataqsiz) ||
        offset_of(st.Chan, "recvq", &st.ch_recvq) || offset_of(st.Chan, "sendq", &st.ch_sendq) ||
        offset_of(st.WaitQ, "first", &st.q_first) || offset_of(st.WaitQ, "last", &st.q_last) ||
        offset_of(st.Sudog, "elem", &st.sg_elem) || offset_of(st.Sudog, "g", &st.sg_g) ||
        offset_of(st.Sudog, "is_select", &st.sg_is_select) ||
        offset_of(st.Sudog, "next", &st.sg_next) || offset_of(st.Sudog, "prev", &st.sg_prev) ||
        offset_of(st.Sudog, "queued", &st.sg_queued) ||
        offset_of(st.Sudog, "success", &st.sg_success) ||
        offset_of(st.Sudog, "c", &st.sg_c) || offset_of(st.Sudog, "index", &st.sg_index) ||
        offset_of(st.Sudog, "q", &st.sg_q) ||
        offset_of(st.G, "preempt", &st.g_preempt) || offset_of(st.G, "status", &st.g_status) ||
        offset_of(st.M, "tid", &st.m_tid) || offset_of(st.M, "curg", &st.m_curg) ||
        offset_of(st.M, "p", &st.m_p) || offset_of(st.P, "runnext", &st.p_runnext) ||
        offset_of(st.P, "runq", &st.p_runq) || offset_of(st.P, "runqhead", &st.p_runqhead) ||
        offset_of(st.P, "runqtail", &st.p_runqtail) ||
        offset_of(st.G, "waitreason", &st.g_waitreason) ||
        offset_of(st.G, "selectdone", &st.g_selectdone) ||
        offset_of(st.G, "param", &st.g_param) ||
        offset_of(st.G, "waiting", &st.g_waiting) ||
        offset_of(st.G, "waitsince", &st.g_waitsince) ||
        offset_of(st.G, "resume", &st.g_resume) || offset_of(st.G, "gr", &st.g_gr) ||
        offset_of(st.G, "pending", &st.g_pending) || offset_of(st.M, "armed", &st.m_armed) ||
        offset_of(st.M, "locks", &st.m_locks) || offset_of(st.M, "g0", &st.m_g0) ||
        offset_of(st.M, "hop", &st.m_hop) ||
        offset_of(st.P, "schedtick", &st.p_schedtick) || offset_of(st.P, "gcpoll", &st.p_gcpoll) ||
        offset_of(st.P, "schedwhen", &st.p_schedwhen) ||
        offset_of(st.P, "timers", &st.p_timers) || offset_of(st.Timers, "heap", &st.t_heap)) {
        return NULL;
    }
    PyObject *pure_send = PyDict_GetItemString(ns, "send");
    PyObject *pure_recv = PyDict_GetItemString(ns, "recv");
    PyObject *pure_recv_ok = PyDict_GetItemString(ns, "recv_ok");
    PyObject *pure_iter = PyDict_GetItemString(ns, "__iter__");
    if (!pure_send || !pure_recv || !pure_recv_ok || !pure_iter) {
        PyErr_SetString(PyExc_KeyError, "gort._core.setup: send, recv, recv_ok, __iter__");
        return NULL;
    }
    PyObject *ms = make_method(core_send, pure_send);
    PyObject *mr = make_method(core_recv, pure_recv);
    PyObject *mo = make_method(core_recv_ok, pure_recv_ok);
    PyObject *mi = make_method(core_iter, pure_iter);
    if (!ms || !mr || !mo || !mi) {
        Py_XDECREF(ms);
        Py_XDECREF(mr);
        Py_XDECREF(mo);
        Py_XDECREF(mi);
        return NULL;
    }
    st.ready = 1;
    st.m_send = Py_NewRef(ms);
    st.m_recv = Py_NewRef(mr);
    st.m_recv_ok = Py_NewRef(mo);
    PyObject *r = PyTuple_Pack(4, ms, mr, mo, mi);
    Py_DECREF(ms);
    Py_DECREF(mr);
    Py_DECREF(mo);
    Py_DECREF(mi);
    return r;
}

PyDoc_STRVAR(setup_park_doc,
"setup_park(ns) -> gopark\n\n"
"Bind gopark's fast path (a dict: gopark, the pure proc.gopark; Netpoll, the\n"
"poller's class). Returns the C gopark, which falls back to the pure one for\n"
"everything but a WAITING park of the running goroutine with something to wait on.\n"
"Called once, after setup (poll_runtime.py).");

static PyObject *
core_setup_park(PyObject *mod, PyObject *ns)
{
    PyObject *pure = setup_once("setup_park", ns, st.Netpoll, "gopark");
    if (pure == NULL) {
        return NULL;
    }
    PyTypeObject *np = get_type(ns, "Netpoll");
    if (np == NULL) {
        return NULL;
    }
    st.Netpoll = np;  /* last: setup_park's "once" test */
    return make_method(core_gopark, pure);
}

/* proc.g0_main's switch into the goroutine it starts (or resumes): where g0 stands on
   this thread's C stack, and its recursion counters, for nested starts (nest_ok). */
static PyObject *
core_g0_switch(PyObject *Py_UNUSED(mod), PyObject *gr)
{
#ifdef NEST_SPAN
    g0_mark = STACK_HERE();
    g0_depth = depth_get(PyThreadState_Get());
#endif
    return gl_switch(gr, NULL, NULL);
}

static PyMethodDef core_methods[] = {
    {"setup", (PyCFunction)core_setup, METH_O, setup_doc},
    {"setup_select", (PyCFunction)core_setup_select, METH_O, setup_select_doc},
    {"setup_park", (PyCFunction)core_setup_park, METH_O, setup_park_doc},
    {"setup_go", (PyCFunction)core_setup_go, METH_O, setup_go_doc},
    {"setup_waitgroup", (PyCFunction)core_setup_waitgroup, METH_O, setup_waitgroup_doc},
    {"goexit", (PyCFunction)(void (*)(void))core_goexit, METH_FASTCALL,
     "goexit(s, mp, gp, me): proc.gmain's goexit in C (proc.goexit_core)."},
    {"returned_at", (PyCFunction)(void (*)(void))core_returned_at, METH_FASTCALL,
     returned_at_doc},
    {"g0_switch", (PyCFunction)core_g0_switch, METH_O,
     "g0_switch(gr): gr.switch() for proc.g0_main, noting where g0 stands (proc.g0_switch)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "gort._core",
    .m_doc = "C fast paths for gort's channel operations and parks (see the comment in _core.c).",
    .m_size = -1,
    .m_methods = core_methods,
};

PyMODINIT_FUNC
PyInit__core(void)
{
    if (PyType_Ready(&CoreMethod_Type) < 0 || PyType_Ready(&ChanIter_Type) < 0) {
        return NULL;
    }
    if (pthread_atfork(NULL, NULL, forget_thread_state) != 0) {
        PyErr_SetString(PyExc_OSError, "gort._core: pthread_atfork failed");
        return NULL;
    }
    PyObject *m = PyModule_Create(&core_module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "CoreMethod", (PyObject *)&CoreMethod_Type) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

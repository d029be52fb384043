"""Ctrl-C that always stops a run, even when Python first lands it in a cleanup callback."""

from __future__ import annotations


class ReraiseSwallowedInterrupts:
    """An ``unraisablehook`` that raises a Ctrl-C again when Python could not raise it where it landed.

    A SIGINT is handled at the next Python bytecode; when that is a gc callback (JAX registers one), a weakref
    callback (h5py releases objects through them while it writes) or a ``__del__``, the KeyboardInterrupt becomes an
    "Exception ignored in ..." traceback and the run goes on to the end. The hook hides it and interrupts the main
    thread again 50 ms later from a timer thread (raised inside the hook, it would be ignored again), until it lands
    in ordinary code and the run stops with the usual one-line message. Errors that cleanup callbacks raise after an
    interrupt are its consequences and are not reported either.
    """

    def __init__(self, previous):
        self.previous, self.interrupted, self.stopped = previous, False, False

    def __call__(self, unraisable) -> None:
        if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
            import threading

            self.interrupted = True
            timer = threading.Timer(0.05, self._interrupt_main)
            timer.daemon = True
            timer.start()
        elif not self.interrupted:
            self.previous(unraisable)

    def _interrupt_main(self) -> None:
        import _thread

        if not self.stopped:
            _thread.interrupt_main()

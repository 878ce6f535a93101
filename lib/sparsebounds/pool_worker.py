"""What a process-pool worker does on SIGINT: it ends at once, quietly (``os._exit``, no traceback).

Jupyter interrupts the kernel's whole process group, on "interrupt" and before every clean shutdown, so the
pool's workers get SIGINT too. With Python's default handler an idle worker printed a KeyboardInterrupt
traceback at the end of every notebook; one interrupted while it was still starting (in its imports, or in a
pool initializer) printed one as well, and a busy one sent its ``SystemExit`` back to the kernel as the task's
result. Ending the process instead leaves the kernel a broken pool, which ``tasks`` replaces at the next map.

The fork server imports this module once (``set_forkserver_preload``), before it sets SIGINT aside for itself;
every worker it forks gets this handler back from its first instruction. Import it nowhere else: it sets the
importing process's handler.
"""
import os
import signal


def end_now(signum, frame) -> None:
    """The SIGINT handler of a pool worker."""
    os._exit(1)


signal.signal(signal.SIGINT, end_now)

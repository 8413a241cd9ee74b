"""Imported first by a batch's fork server (:mod:`limecli.batch.pool`), and only there: the
server dies with the batch's process, and its workers with it.

The server ends by itself only once every worker it forked has ended (each holds
the pipe whose end it waits for), and a worker checks that the batch's process
is still there only twice a second (:mod:`limecli.batch.workers`), so on Linux
the kernel kills the server when the batch's process ends (``PR_SET_PDEATHSIG``),
and each worker when the server ends.
"""

from __future__ import annotations

import os

from limecli.batch.workers import _exit, _kernel_kills_orphan

_kernel_kills_orphan()
if os.getppid() == 1:  # the batch's process ended before the line above
    _exit(1)

"""A fault for tests only: a worker that dies between a chunk's commit and its message's acknowledgement.

Dramatiq acknowledges a message only after ``after_process_message`` has
returned: the worker thread then hands it to its consumer's
``post_process_message``, which tells Redis. A middleware that kills its
process from ``after_process_message`` therefore dies with the actor's work
done (the chunk committed, the run's progress counted) and the message still
unacknowledged, which is the window no product code can close by itself:
the broker will deliver that message again. Installed only by
``tests.fault_settings``; the product never loads it.
"""

from __future__ import annotations

import os
import signal

from dramatiq.middleware import Middleware

#: The file that says the kill happened; created exclusively, so only one thread of one process ever kills.
MARKER_ENV = "DEMOSEED_FAULT_KILL_MARKER"
#: Starts the line the middleware writes to the worker log just before the kill.
LOG_PREFIX = "FAULT: killing after the commit"


class KillAfterChunkCommit(Middleware):
    """SIGKILL the whole worker process group after the first events chunk this process committed.

    Only a message whose chunk row this very process wrote counts: a copy that
    found the chunk already written, or stood down, returns normally too.
    """

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:
        from seeding.messaging import queue

        marker = os.environ.get(MARKER_ENV)
        if not marker or exception is not None or message.actor_name != queue.WRITE_CHUNK:
            return
        run_id, kind, index = message.args
        if kind != "events":
            return
        from django.utils import timezone

        from seeding.models import SeedChunk
        from seeding.services.chunk_transaction import writer_name

        committed_at = (
            SeedChunk.objects.filter(run_id=run_id, kind=kind, index=index, written_by=writer_name())
            .values_list("committed_at", flat=True)
            .first()
        )
        if committed_at is None:
            return  # not written by this delivery
        try:
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            return  # killed once already
        killed_at = timezone.now()
        line = (
            f"{LOG_PREFIX}: run {run_id} {kind} chunk {index} committed at {committed_at.isoformat()} "
            f"by {writer_name()}, message {message.message_id} not acknowledged; SIGKILL at {killed_at.isoformat()}\n"
        )
        os.write(fd, line.encode())
        os.fsync(fd)
        os.close(fd)
        # Straight to file descriptor 2, the log file the worker inherited: Dramatiq's
        # logging pipe is read by the main process, which dies in the same kill.
        os.write(2, line.encode())
        os.killpg(os.getpgid(0), signal.SIGKILL)

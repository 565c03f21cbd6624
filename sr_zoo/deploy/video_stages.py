"""The threads of :func:`sr_zoo.deploy.video.upscale_video`: stages joined by bounded queues that all stop
as soon as one of them fails (or Ctrl-C arrives)."""

import queue
import threading

_POLL_S = 0.1  # how often a stage waiting on a queue checks whether another one failed


class _Stopped(Exception):
    """Raised in a stage waiting on a queue once another stage has failed."""


_END = object()  # the last item through each queue


class _Pipeline:
    """The stages' shared state: bounded queues whose waits end as soon as any stage fails."""

    def __init__(self, batches):
        self.stop = threading.Event()
        self.error = None  # the first failure, raised in the calling thread
        self._lock = threading.Lock()
        self.decoded = queue.Queue(maxsize=batches)  # decoder -> model
        self.upscaled = queue.Queue(maxsize=batches)  # model -> encoder

    def fail(self, error):
        with self._lock:
            if self.error is None:
                self.error = error
        self.stop.set()

    def put(self, q, item):
        while not self.stop.is_set():
            try:
                return q.put(item, timeout=_POLL_S)
            except queue.Full:
                pass
        raise _Stopped

    def get(self, q):
        while not self.stop.is_set():
            try:
                return q.get(timeout=_POLL_S)
            except queue.Empty:
                pass
        raise _Stopped

    def start(self, name, stage, *args):
        def run():
            try:
                stage(self, *args)
            except _Stopped:
                pass
            except BaseException as e:  # noqa: BLE001 (handed to the calling thread, which raises it)
                self.fail(e)

        thread = threading.Thread(target=run, name=f"sr_zoo-video-{name}", daemon=True)
        thread.start()
        return thread

    @staticmethod
    def join(threads):
        """Waits for the stages to end (within one packet or frame once stopped); a Ctrl-C meanwhile is kept
        for after, so that no stage is left using a container that is being closed."""
        interrupted = None
        for thread in threads:
            while thread.is_alive():
                try:
                    thread.join(timeout=_POLL_S)
                except KeyboardInterrupt as e:
                    interrupted = e
        return interrupted

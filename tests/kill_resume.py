"""Shared by the tests that kill a training subprocess mid-run and resume it."""

import json
import signal
import subprocess
import time

import pytest


def latest_checkpoint(out):
    path = out / "checkpoints" / "latest.json"
    return json.loads(path.read_text()) if path.exists() else None


def kill_after_checkpoint(cmd, *, cwd, env, out, min_step, timeout, poll=0.05):
    """Starts ``cmd``, SIGKILLs it once a checkpoint at ``min_step`` or later exists; returns that checkpoint."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = latest_checkpoint(out)
        if state and state["global_step"] >= min_step:
            break
        if proc.poll() is not None:
            pytest.fail("train.py ended before the kill: " + proc.communicate()[0][-3000:])
        time.sleep(poll)
    else:
        proc.kill()
        pytest.fail("no checkpoint appeared: " + proc.communicate()[0][-3000:])
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return latest_checkpoint(out)

"""Reading the server's call log (`<state dir>/calls.log`, one JSON object per call: time, method, status, error).

A lab check proves the simulator stayed honest by asserting `unanswered(log)` is empty after a client's run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CALL_LOG_NAME = "calls.log"  # in the directory of the server's state file
# Answers that mean "the lab could not answer", not "XenServer said no".
NOT_ANSWERED = ("MESSAGE_METHOD_UNKNOWN", "INTERNAL_ERROR", "MESSAGE_PARAMETER_COUNT_MISMATCH")


@dataclass(frozen=True)
class Call:
    time: float
    method: str
    status: str
    error: str | None


def parse_calls(text: str, since: float = 0.0) -> list[Call]:
    """The calls of a call log's text made at or after `since`."""
    calls = [Call(**json.loads(line)) for line in text.splitlines() if line.strip()]
    return [call for call in calls if call.time >= since]


def unanswered_among(calls: list[Call]) -> list[Call]:
    return [call for call in calls if call.error in NOT_ANSWERED]


def read_calls(path: Path, since: float = 0.0) -> list[Call]:
    if not path.exists():
        return []
    return parse_calls(path.read_text(), since)


def unanswered(path: Path, since: float = 0.0) -> list[Call]:
    return unanswered_among(read_calls(path, since))

"""Rate limits on the expensive operations, per API key (or per signed-in user).

Imports, batch reports and scheduling each cost seconds to minutes of CPU: one key must not be
able to keep the service busy. The ``limits`` library counts hits in a moving window; the count
lives in this process (several API processes each allow the limit, which bounds the total all
the same). A refused request gets 429 with ``Retry-After``.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any

from fastapi import Depends, Request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from api.auth import ActorDep
from domain.accounts import Actor
from domain.errors import TooManyRequestsError


class Operation(StrEnum):
    IMPORT = "imports"
    BATCH_REPORT = "batch reports"
    SCHEDULE = "scheduling"


class RateLimits:
    def __init__(self, spec: str) -> None:
        self.item: RateLimitItem = parse(spec)
        self.spec = spec
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, actor: Actor, operation: Operation) -> None:
        """Count one ``operation`` for the actor's key (or name); ``TooManyRequestsError`` past the limit."""
        who = actor.key_id or actor.name
        if self._limiter.hit(self.item, operation.value, who):
            return
        reset = self._limiter.get_window_stats(self.item, operation.value, who).reset_time
        wait = max(1, int(reset - time.time()) + 1)
        raise TooManyRequestsError(
            f"{operation.value}: at most {self.spec} per key; try again in {wait} s", wait
        )


def limited(operation: Operation) -> Any:
    """The dependency that counts the request against ``operation``'s limit (after the permission)."""

    def rate_limit(request: Request, actor: ActorDep) -> None:
        limits: RateLimits = request.app.state.rate_limits
        limits.hit(actor, operation)

    return Depends(rate_limit)

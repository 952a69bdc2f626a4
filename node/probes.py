"""The state machine of one probe (liveness, readiness or startup) of one container.

Pure: results arrive with the time they were taken; the prober threads
(``node/prober.py``) run the checks and ask ``next_due`` when to run again.

Kubernetes semantics: nothing runs before ``initialDelaySeconds`` after the
container started; then every ``periodSeconds``. The result flips to success
after ``successThreshold`` consecutive successes and to failure after
``failureThreshold`` consecutive failures. Before the first flip a readiness
probe counts as failed (not ready), a liveness probe as succeeded (alive), a
startup probe as not yet started. A startup probe stops once it succeeds, and
liveness and readiness do not run until it has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LIVENESS, READINESS, STARTUP = "liveness", "readiness", "startup"
SPEC_KEYS = {LIVENESS: "livenessProbe", READINESS: "readinessProbe", STARTUP: "startupProbe"}


@dataclass
class ProbeState:
    kind: str
    started_at: float  # when the container started (seconds, same clock as ``now``)
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3
    result: bool = field(init=False)
    successes: int = field(default=0, init=False)
    failures: int = field(default=0, init=False)
    last_probe: float | None = field(default=None, init=False)
    message: str = field(default="", init=False)

    def __post_init__(self) -> None:
        self.result = self.kind == LIVENESS

    @classmethod
    def from_spec(cls, kind: str, spec: dict[str, Any], started_at: float) -> ProbeState:
        # Liveness and startup must succeed only once (Kubernetes forces 1).
        success = int(spec.get("successThreshold", 1)) if kind == READINESS else 1
        return cls(kind, started_at,
                   initial_delay=float(spec.get("initialDelaySeconds", 0)),
                   period=float(max(1, spec.get("periodSeconds", 10))),
                   timeout=float(max(1, spec.get("timeoutSeconds", 1))),
                   success_threshold=max(1, success),
                   failure_threshold=max(1, int(spec.get("failureThreshold", 3))))

    def next_due(self) -> float:
        if self.last_probe is None:
            return self.started_at + self.initial_delay
        return self.last_probe + self.period

    @property
    def done(self) -> bool:
        """A startup probe that succeeded is never run again."""
        return self.kind == STARTUP and self.result

    @property
    def failed(self) -> bool:
        """Liveness or startup gave up on the container: it must be killed."""
        return self.kind in (LIVENESS, STARTUP) and self.failures >= self.failure_threshold

    def record(self, ok: bool, now: float, message: str = "") -> bool:
        """Record one check; returns True if the result flipped."""
        self.last_probe = now
        before = self.result
        if ok:
            self.successes += 1
            self.failures = 0
            if self.successes >= self.success_threshold:
                self.result = True
        else:
            self.failures += 1
            self.successes = 0
            self.message = message
            if self.failures >= self.failure_threshold:
                self.result = False
        return self.result != before

"""Kubernetes resource quantities: ``100m`` CPU, ``64Mi`` memory.

CPU is handled in millicores and memory in bytes, both as ints, so the
scheduler's arithmetic is exact.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation

_SUFFIX = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
_RE = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$")


# Kubernetes keeps a quantity's value in an int64 (of base units, and of
# thousandths for CPU's millicores); past it a value is refused here.
MAX_VALUE = 2**63 - 1
_MAX = Decimal(MAX_VALUE)


class QuantityError(ValueError):
    pass


def _too_large(value: object, unit: str = "") -> QuantityError:
    return QuantityError(f"quantity {value!r} is too large: the largest is {MAX_VALUE}{unit}")


def parse(value: str | int | float) -> Decimal:
    """Parse a quantity into a Decimal of base units."""
    if isinstance(value, bool):
        raise QuantityError(f"quantities must match the regular expression {_RE.pattern!r}")
    if isinstance(value, int | float):
        return Decimal(str(value))
    m = _RE.match(str(value).strip())
    if not m:
        raise QuantityError(
            f"quantity {value!r} must be a number with an optional suffix (e.g. 100m, 64Mi, 1.5)"
        )
    try:
        number = Decimal(m.group(1))
    except InvalidOperation:
        raise QuantityError(f"quantity {value!r} is not a number") from None
    if number < 0:
        raise QuantityError(f"quantity {value!r} must not be negative")
    if number and number.adjusted() > 40:  # decided on the exponent: 1e999999999 is not built
        raise _too_large(value)
    result = number * _SUFFIX[m.group(2)]
    if result > _MAX:
        raise _too_large(value)
    return result


def parse_cpu(value: str | int | float) -> int:
    """CPU in millicores, rounded up like Kubernetes (``0.1`` -> 100)."""
    milli = (parse(value) * 1000).to_integral_value(rounding=ROUND_CEILING)
    if milli > _MAX:
        raise _too_large(value, "m")
    return int(milli)


def parse_memory(value: str | int | float) -> int:
    """Memory in bytes, rounded up."""
    return int(parse(value).to_integral_value(rounding=ROUND_CEILING))  # <= MAX_VALUE


def format_cpu(millicores: int) -> str:
    if millicores % 1000 == 0:
        return str(millicores // 1000)
    return f"{millicores}m"


def format_memory(n: int) -> str:
    for suffix, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    if n >= 2**20:
        return f"{round(n / 2**20)}Mi"
    if n >= 2**10:
        return f"{round(n / 2**10)}Ki"
    return str(n)

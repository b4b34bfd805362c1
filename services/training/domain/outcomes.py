"""What the course's operations return besides the new course: the enrollments they touched."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from services.training.domain.participants import Certificate, Enrollment, Placement

if TYPE_CHECKING:
    from services.training.domain.model import Course


@dataclass(frozen=True)
class Seat:
    """A newcomer's place: the course with its counts, and the enrollment."""

    course: Course
    enrollment: Enrollment


@dataclass(frozen=True)
class Cancellation:
    course: Course
    left: Enrollment
    promoted: Enrollment | None


@dataclass(frozen=True)
class Completion:
    course: Course
    passed: list[Enrollment]
    failed: list[Enrollment]
    certificates: list[Certificate]
    released: list[Enrollment] = field(default_factory=list)
    """The waitlist, let go when the course closed."""


@dataclass(frozen=True)
class Placed:
    enrollment: Enrollment
    placement: Placement

"""How ``make test`` spreads the suite over xdist workers (``PYTEST_WORKERS=N``).

Modules go to whichever worker is free, except the ones that run whole stacks of service
processes (tests/e2e, tests/chaos): those are one unit of work, so they run one after another
on one worker, as in a single process, and never two stacks at once (on two cores two stacks
starved each other; the articles' load passed its timeout). The other workers take the
remaining modules meanwhile; a module's tests stay together (its fixtures start once).
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling

STACK_PACKAGES = ("tests/chaos/", "tests/e2e/")
STACKS = "stacks"


class StacksApartScheduling(LoadScopeScheduling):
    def _split_scope(self, nodeid: str) -> str:
        if nodeid.startswith(STACK_PACKAGES):
            return STACKS
        return nodeid.split("::", 1)[0]

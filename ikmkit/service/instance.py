"""Which process answered: every response names the service instance that produced it.

A launcher (``ikm dev up``, the e2e stack) generates an instance id per child and passes it
in ``IKM_INSTANCE_ID``; its readiness wait accepts only answers carrying that id, so another
process listening on the same port can never pass for the child. Without the variable the
process makes up its own id (still unique per process). The header is stamped by
``ikmkit.service.edge.ServiceEdge``.
"""

from __future__ import annotations

import os
import uuid

INSTANCE_ENV = "IKM_INSTANCE_ID"
INSTANCE_HEADER = "ikm-instance"


def instance_id() -> str:
    return os.environ.get(INSTANCE_ENV) or uuid.uuid4().hex

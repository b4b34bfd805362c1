"""Event signing keys of the local stack (``ikm dev up``, the e2e stacks).

Each service signs its events with its own Ed25519 key and every consumer gets
all services' public keys, so the local stack runs as production should:
consumers dead-letter events that are unsigned or signed by the wrong key.

The keys are generated on the first ``up`` into ``<data dir>/event-keys.json``
(mode 0600) and reused afterwards: the outbox keeps each event's signature, so
events republished after a restart must still verify with the same keys. Keys
already in the environment (``<SERVICE>_EVENT_SIGNING_KEY``,
``IKM_EVENT_PUBLIC_KEYS``) win over the file. Development only: production keys
come from the deployment's secrets.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from ikmkit.messaging.signing import generate_keypair, public_key_of

KEYS_FILE = "event-keys.json"
PUBLIC_KEYS_ENV = "IKM_EVENT_PUBLIC_KEYS"


def signing_key_env(service: str) -> str:
    return f"{service.upper()}_EVENT_SIGNING_KEY"


def stored_private_keys(services: Iterable[str], data_dir: Path) -> dict[str, str]:
    """The services' private keys from the data dir, generating the missing ones."""
    path = data_dir / KEYS_FILE
    keys: dict[str, str] = {}
    with contextlib.suppress(FileNotFoundError):
        keys = dict(json.loads(path.read_text()))
    missing = [s for s in services if s not in keys]
    if missing:
        for service in missing:
            keys[service] = generate_keypair()[0]
        data_dir.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(".tmp")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(keys, out, indent=2)
        scratch.replace(path)
    return keys


def signing_env(
    services: Iterable[str], data_dir: Path, environ: Mapping[str, str]
) -> dict[str, str]:
    """The variables that make every service sign its events and verify the others'."""
    services = list(services)
    stored = stored_private_keys(services, data_dir)
    env: dict[str, str] = {}
    public: dict[str, str] = {}
    for service in services:
        private = environ.get(signing_key_env(service)) or stored[service]
        env[signing_key_env(service)] = private
        public[service] = public_key_of(private)
    env[PUBLIC_KEYS_ENV] = environ.get(PUBLIC_KEYS_ENV) or json.dumps(public, sort_keys=True)
    return env


def stored_private_key(service: str, data_dir: Path) -> str | None:
    """A service's development key if ``ikm dev up`` made one for this data dir."""
    with contextlib.suppress(FileNotFoundError, ValueError):
        key = json.loads((data_dir / KEYS_FILE).read_text()).get(service)
        return str(key) if key else None
    return None

"""How every Kafka client of a service authenticates: one place builds the options.

aiokafka's producers, consumers and admin clients take the same keyword arguments
(``security_protocol``, ``sasl_*``, ``ssl_context``); FastStream's broker takes a
``BaseSecurity`` object carrying the same facts. Both come from the shared
``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_SASL_*`` and ``KAFKA_SSL_CAFILE`` settings, so a
service cannot end up with one client authenticated and another anonymous.
"""

from __future__ import annotations

from ssl import SSLContext
from typing import Any

from aiokafka.helpers import create_ssl_context
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from ikmkit.service.settings import ServiceSettings

_FASTSTREAM_SASL = {
    "PLAIN": SASLPlaintext,
    "SCRAM-SHA-256": SASLScram256,
    "SCRAM-SHA-512": SASLScram512,
}


class KafkaSecurityError(ValueError):
    """The Kafka security settings contradict each other."""


def kafka_client_options(settings: ServiceSettings | None = None) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client (settings default: the environment)."""
    settings = settings or ServiceSettings()
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol.endswith("SSL"):
        options["ssl_context"] = _ssl_context(settings)
    if protocol.startswith("SASL"):
        username, password = _credentials(settings)
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": username,
            "sasl_plain_password": password,
        }
    return options


def faststream_security(settings: ServiceSettings) -> BaseSecurity | None:
    """The same options as a FastStream ``security`` object (None: plaintext)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = _ssl_context(settings) if protocol.endswith("SSL") else None
    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    username, password = _credentials(settings)
    sasl = _FASTSTREAM_SASL[settings.kafka_sasl_mechanism]
    return sasl(username, password, ssl_context=context, use_ssl=context is not None)


def _credentials(settings: ServiceSettings) -> tuple[str, str]:
    if not settings.kafka_sasl_username or settings.kafka_sasl_password is None:
        raise KafkaSecurityError(
            f"KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol} needs "
            "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
        )
    return settings.kafka_sasl_username, settings.kafka_sasl_password.get_secret_value()


def _ssl_context(settings: ServiceSettings) -> SSLContext:
    cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
    context: SSLContext = create_ssl_context(cafile=cafile)
    return context

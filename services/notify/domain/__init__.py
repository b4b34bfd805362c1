"""Notify's domain: notifications and their delivery outcomes (model), who is told about what
(rules), who may read and operate what (access), webhook subscriptions and signatures
(webhooks). Pure: no I/O."""

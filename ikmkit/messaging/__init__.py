"""Events in and out: Kafka clients, outbox and relay, consumers, dead letters, CloudEvents."""

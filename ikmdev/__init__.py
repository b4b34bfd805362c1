"""Development-only launchers: the embedded broker, testcontainers. Not part of a deployment."""

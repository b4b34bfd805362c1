"""A service process: definition, lifespan, settings, HTTP, health, errors, input limits."""

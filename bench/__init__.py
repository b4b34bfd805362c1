"""Benchmarks run by ``make bench``: every ``bench/<area>.py`` with a ``run`` coroutine."""

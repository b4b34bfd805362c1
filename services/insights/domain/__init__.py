"""The insights domain: the indicator catalog, how events count, targets and progress."""

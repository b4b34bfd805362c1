"""Training's writes, one module per aggregate: each use case loads through the unit of
work's repositories, checks access, asks the domain, saves, and collects the domain's events."""

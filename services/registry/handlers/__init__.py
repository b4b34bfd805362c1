"""The registry's writes, one module per aggregate: each handler loads through the unit of
work's repositories, checks access, calls the domain and collects what it returns."""

"""The registry's domain: enterprises (IKM), partners and MoUs, their rules and who may do
what with them. Pure: no I/O, no framework; the handlers load, call and save."""

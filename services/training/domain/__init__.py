"""The training domain: courses with seats and a waitlist, attendance, completion and
certificates, placements, and mentors under MoU. Pure: no I/O, no clock (callers pass
``at``)."""

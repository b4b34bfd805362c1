"""The subsidy domain: programs and their budgets (``programs``), applications (``model``),
the rules they obey (``rules``), who may do what (``access``) and the reports (``reports``).
Pure: no I/O, no clock (times are passed in)."""

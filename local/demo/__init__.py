"""The demo: one maintenance-window night on the offline stand-in (`python -m local.demo`).

scenario.py reads and checks a scenario file, night.py plays it, run.py delivers the night's
events to the real handlers, subscribers.py reads what each subscriber got, printing.py saves and
prints it; organization.py plays a night across an AWS Organization (members' nights, told by a
central stack), plays.py takes either kind of file; __main__.py is the command line.
"""

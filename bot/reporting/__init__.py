"""Reports: facts recorded as they happen (listener.py), summed per day and per agent (reports.py)."""

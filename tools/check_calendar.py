#!/usr/bin/env python3
"""Cross-checks suiji's working days against an independent source, PyPI `chinese-calendar`.

Usage: check_calendar.py SUIJI_BINARY YEAR [YEAR ...]

For every day of each year, compares `suiji calendar check YEAR --json` (the answers suiji's
deadline arithmetic uses) with chinese_calendar.is_workday. Prints the first disagreements and
exits 1 if there is any; prints the number of days checked and exits 0 otherwise.
"""
import datetime
import json
import subprocess
import sys

import chinese_calendar


def main(binary, years):
    checked, wrong = 0, []
    for year in years:
        out = subprocess.run([binary, "calendar", "check", str(year), "--json"],
                             capture_output=True, text=True, check=True)
        ours = json.loads(out.stdout)["working"]
        for day, working in sorted(ours.items()):
            theirs = chinese_calendar.is_workday(datetime.date.fromisoformat(day))
            checked += 1
            if theirs != working:
                wrong.append("%s: suiji says %s, chinese-calendar says %s"
                             % (day, "working" if working else "off", "working" if theirs else "off"))
    for line in wrong[:20]:
        print(line)
    print("%d days checked, %d disagreements" % (checked, len(wrong)))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], [int(y) for y in sys.argv[2:]]))

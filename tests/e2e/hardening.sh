#!/usr/bin/env bash
# Hostile and unlucky input end to end: outages that are not refusals, partial SIP sends,
# stalls, unsafe files and folders, unreadable entries (the built tools on real spools).
exec python3 "$(dirname "$0")/hardening_test.py" "$@"

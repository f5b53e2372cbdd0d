#!/usr/bin/env bash
# The last hop of faxes, voice calls and SIP messages, end to end (SPEC 2.11).
exec python3 "$(dirname "$0")/lasthop_calls_test.py" "$@"

#!/usr/bin/env bash
# sms-process end to end: every service, notice, fixture, concatenation case, bad input, outage.
exec python3 "$(dirname "$0")/sms_process_test.py" "$@"

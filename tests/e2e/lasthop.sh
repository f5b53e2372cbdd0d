#!/usr/bin/env bash
# The last hop to SMS phones end to end: sms-process and sms-send against a simulated app_sms.
exec python3 "$(dirname "$0")/lasthop_test.py" "$@"

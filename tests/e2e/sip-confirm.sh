#!/usr/bin/env bash
# SIP messages to users switched off while registered, end to end (SPEC 2.11, T).
exec python3 "$(dirname "$0")/sip_confirm_test.py" "$@"

#!/usr/bin/env bash
# examples/extensions.conf: syntax, labels, and applications the recorded Asterisk has.
exec python3 "$(dirname "$0")/dialplan_test.py" "$@"

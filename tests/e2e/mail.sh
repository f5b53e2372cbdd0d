#!/usr/bin/env bash
# Service E end to end through the real exim4 (scripts/exim-test-setup.sh configures it).
exec python3 "$(dirname "$0")/mail_test.py" "$@"

#!/usr/bin/env bash
# sms-process under load and failure: 8 runs at once, runs killed at random, MariaDB stopped,
# a full disk. Every message delivered exactly once.
exec python3 "$(dirname "$0")/sms_process_stress_test.py" "$@"

// outbox: to be written.

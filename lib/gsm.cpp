// gsm: to be written.

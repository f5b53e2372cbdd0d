// ami: to be written.

// process: to be written.

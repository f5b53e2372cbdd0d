// send: to be written.

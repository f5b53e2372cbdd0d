// callfile: to be written.

// voice: to be written.

// sipim: to be written.

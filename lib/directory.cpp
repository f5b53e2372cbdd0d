// directory: to be written.

// commands: to be written.
